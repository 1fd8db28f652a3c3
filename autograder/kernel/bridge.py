"""The judge's line into a student kernel: call a function there, get plain values back.

Values cross as JSON only (arrays as nested lists with dtype and shape), in both directions, over
the Jupyter messaging protocol. Nothing the kernel produces is ever unpickled or evaluated here:
the worst a hostile kernel can do is send back wrong numbers, which the judge then marks wrong.
"""

from __future__ import annotations

import json
import logging
import queue
import secrets
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable

import numpy as np

from . import strays
from .managers import unreadable_message

log = logging.getLogger(__name__)

MIME = "application/x-autograder-value"

# Defined once in the kernel after the notebook ran. Student code has already run by then, so
# it cannot pre-empt these names; it can only tamper with what a later call returns, which gives
# it nothing it could not get by returning those values itself.
KERNEL_HELPER = r'''
def __NAME__(nonce, name, args_json, spy_names, read=False):
    import json as _json, sys as _sys, traceback as _tb
    import numpy as _np
    from IPython.display import publish_display_data as _publish
    _ns = get_ipython().user_ns
    MAX_SPY = 100000

    def enc(v, depth=0):
        if depth > 20:
            return {"__object__": type(v).__name__, "repr": "(nested too deeply)"}
        if v is None or isinstance(v, (bool, str)):
            return v
        if isinstance(v, int):
            return v
        if isinstance(v, float):
            return float(v)
        if isinstance(v, complex):
            return {"__complex__": [v.real, v.imag]}
        if isinstance(v, _np.ndarray):
            base = _np.ndarray.view(v, _np.ndarray)
            out = {"__ndarray__": None, "dtype": base.dtype.str, "shape": list(base.shape)}
            if type(v) is not _np.ndarray:
                out["subclass"] = type(v).__name__
            if base.dtype.kind in "biuf":
                out["__ndarray__"] = _np.ndarray.tolist(base)
            else:
                out["dtype"] = "object"
                out["__ndarray__"] = [enc(e, depth + 1) for e in _np.ndarray.tolist(base.reshape(-1))]
            return out
        if isinstance(v, _np.generic):
            item = v.item()
            if isinstance(item, (bool, int, float)):
                return {"__scalar__": v.dtype.str, "value": item}
            return enc(item, depth + 1)
        if isinstance(v, tuple):
            return {"__tuple__": [enc(e, depth + 1) for e in v]}
        if isinstance(v, list):
            return [enc(e, depth + 1) for e in v]
        if isinstance(v, dict):
            return {"__dict__": [[enc(k, depth + 1), enc(e, depth + 1)] for k, e in v.items()]}
        try:
            text = repr(v)[:200]
        except BaseException:
            text = "(unprintable)"
        return {"__object__": type(v).__name__, "repr": text}

    def dec(v):
        if isinstance(v, dict):
            if "__ndarray__" in v:
                return _np.array(v["__ndarray__"], dtype=v["dtype"]).reshape(v["shape"])
            if "__tuple__" in v:
                return tuple(dec(e) for e in v["__tuple__"])
        if isinstance(v, list):
            return [dec(e) for e in v]
        return v

    def small(a):
        if isinstance(a, (bool, int, float)) or (isinstance(a, _np.generic) and a.dtype.kind in "biuf"):
            return enc(a)
        if isinstance(a, _np.ndarray):
            return {"__shape__": list(a.shape)}
        return {"__type__": type(a).__name__}

    def send(payload):
        _publish({MIME: _json.dumps(payload, allow_nan=True)}, metadata={"nonce": nonce})

    spied, originals = {}, {}
    if read == "modules":
        send({"nonce": nonce, "status": "ok", "value": sorted({m.split(".")[0] for m in list(_sys.modules)}),
              "spied": {}})
        return
    if read:
        if name not in _ns:
            send({"nonce": nonce, "status": "missing", "type": None})
        else:
            send({"nonce": nonce, "status": "ok", "value": enc(_ns[name]), "spied": {}})
        return
    fn = _ns.get(name)
    if not callable(fn):
        send({"nonce": nonce, "status": "missing", "type": type(fn).__name__ if name in _ns else None})
        return
    for sname in spy_names:
        orig = _ns.get(sname)
        if not callable(orig):
            continue
        spied[sname] = []
        originals[sname] = orig

        def make(orig, records):
            def spy(*a, **k):
                result = orig(*a, **k)
                if len(records) < MAX_SPY:
                    records.append({"args": [small(x) for x in a], "result": enc(result)})
                return result
            return spy
        _ns[sname] = make(orig, spied[sname])
    try:
        args = dec(_json.loads(args_json))
        try:
            result = fn(*args)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            frames = _tb.extract_tb(exc.__traceback__)
            where = [f for f in frames if f.filename.startswith("<") or "ipykernel" in f.filename]
            line = where[-1].lineno if where else None
            send({"nonce": nonce, "status": "raised", "ename": type(exc).__name__,
                  "evalue": str(exc)[:500], "line": line})
            return
        send({"nonce": nonce, "status": "ok", "value": enc(result), "spied": spied})
    finally:
        for sname, orig in originals.items():
            _ns[sname] = orig
'''.replace("MIME", repr(MIME))


class CallProblem(Exception):
    """A call of a student function did not produce a value. ``status`` says why."""

    status = "error"

    def __init__(self, message: str, *, function: str):
        super().__init__(message)
        self.function = function


class StudentRaised(CallProblem):
    """The student's function raised; ``ename`` is the exception's type name ("" if unknown)."""

    status = "error"

    def __init__(self, message: str, *, function: str, ename: str = ""):
        super().__init__(message, function=function)
        self.ename = ename


class MissingFunction(CallProblem):
    status = "missing"


class CallTimeout(CallProblem):
    status = "timeout"


class KernelGone(CallProblem):
    status = "kernel_died"


@dataclass
class Opaque:
    """A value of a type the judge does not compare (a student returned some object)."""

    type_name: str
    text: str

    def __repr__(self) -> str:
        return f"<{self.type_name} object>"


@dataclass
class CallResult:
    value: Any
    spied: dict[str, list[dict]]


def encode(value: Any) -> Any:
    """Encode an argument for the kernel (grader side: only numbers, arrays, tuples, lists)."""
    if isinstance(value, np.ndarray):
        return {"__ndarray__": value.tolist(), "dtype": value.dtype.str, "shape": list(value.shape)}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v) for v in value]}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot send {type(value).__name__} to a student kernel")


def decode(obj: Any) -> Any:
    """Decode a value that came back from the kernel into plain Python and numpy values."""
    if isinstance(obj, list):
        return [decode(v) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if "__ndarray__" in obj:
        dtype = np.dtype(object) if obj.get("dtype") == "object" else np.dtype(obj["dtype"])
        if dtype.kind not in "biufO":
            raise ValueError(f"unsupported dtype {dtype}")
        shape = tuple(int(s) for s in obj["shape"])
        if dtype.kind == "O":
            flat = [decode(v) for v in obj["__ndarray__"]]
            arr = np.empty(len(flat), dtype=object)
            arr[:] = flat
            return arr.reshape(shape)
        return np.array(obj["__ndarray__"], dtype=dtype).reshape(shape)
    if "__scalar__" in obj:
        dtype = np.dtype(obj["__scalar__"])
        if dtype.kind not in "biuf":
            raise ValueError(f"unsupported scalar dtype {dtype}")
        return dtype.type(obj["value"])
    if "__tuple__" in obj:
        return tuple(decode(v) for v in obj["__tuple__"])
    if "__complex__" in obj:
        return complex(*obj["__complex__"])
    if "__dict__" in obj:
        return {_hashable(decode(k)): decode(v) for k, v in obj["__dict__"]}
    if "__object__" in obj:
        return Opaque(str(obj["__object__"]), str(obj.get("repr", "")))
    if "__shape__" in obj:
        return Opaque("ndarray", f"shape {tuple(obj['__shape__'])}")
    if "__type__" in obj:
        return Opaque(str(obj["__type__"]), "")
    raise ValueError("unknown encoding")


def _hashable(key: Any) -> Any:
    try:
        hash(key)
        return key
    except TypeError:
        return repr(key)


class KernelBridge:
    """Calls functions in a live student kernel and returns decoded plain values."""

    def __init__(self, connection_info: dict, *, interrupt: Callable[[], None],
                 is_alive: Callable[[], bool], call_timeout: float, max_payload_mb: float = 64.0,
                 judge_timeout: float = float("inf"), after_call: Callable[[], list[int]] | None = None):
        from jupyter_client.blocking import BlockingKernelClient

        self.kc = BlockingKernelClient()
        self.kc.load_connection_info(connection_info)
        self.kc.start_channels()
        self._interrupt = interrupt
        self._is_alive = is_alive
        # Stops what a call left running; returns the kernel's dead children for it to reap.
        self._after_call = after_call
        self.call_timeout = call_timeout
        self.judge_timeout = judge_timeout  # seconds of student code the whole suite may wait for
        self.max_payload = int(max_payload_mb * 1024 * 1024)
        self.helper = f"_autograder_call_{secrets.token_hex(8)}"
        self.hung: str | None = None  # set once the kernel stops answering
        self.timed_out: set[str] = set()
        self.calls = 0
        self.seconds = 0.0
        self._ready = False

    def close(self) -> None:
        try:
            self.kc.stop_channels()
        except Exception:  # already closed
            pass

    # -- plumbing -------------------------------------------------------------------------

    def _run(self, code: str, timeout: float) -> tuple[str, list[dict], dict | None]:
        """Execute code; return ("ok"|"timeout"|"dead", display payloads, error content)."""
        msg_id = self.kc.execute(code, silent=False, store_history=False, allow_stdin=False,
                                 stop_on_error=False)
        deadline = time.monotonic() + timeout
        payloads: list[dict] = []
        error = None
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return "timeout", payloads, error
            try:
                msg = self.kc.get_iopub_msg(timeout=min(remaining, 0.5))
            except queue.Empty:
                if not self._is_alive():
                    return "dead", payloads, error
                continue
            except Exception as exc:
                if not unreadable_message(exc):
                    raise
                log.warning("unreadable message from the kernel: %s: %s", type(exc).__name__, exc)
                return "unreadable", payloads, error
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg.get("msg_type"), msg.get("content", {})
            if kind == "display_data" and MIME in content.get("data", {}):
                payloads.append(content["data"][MIME])
            elif kind == "error":
                error = content
            elif kind == "status" and content.get("execution_state") == "idle":
                return "ok", payloads, error

    def _clear_strays(self) -> None:
        """What the call left running is stopped; its dead children reaped by the kernel."""
        if self._after_call is None or self.hung is not None:
            return
        children = self._after_call()
        if children:
            self._run(strays.reap_code(children), timeout=10)

    def _recover(self, function: str) -> None:
        """After a timeout: interrupt the kernel and wait for it to be idle again."""
        self._interrupt()
        status, _, _ = self._run("pass", timeout=10)
        if status != "ok":
            self.hung = function

    def ensure_ready(self) -> None:
        if self._ready:
            return
        if not self._is_alive():
            self.hung = "(notebook)"
            return
        status, _, _ = self._run("pass", timeout=5)
        if status == "timeout":  # the notebook left the kernel busy; stop it
            self._recover("(notebook)")
        if self.hung is None:
            status, _, error = self._run(KERNEL_HELPER.replace("__NAME__", self.helper), timeout=30)
            if status != "ok" or error is not None:
                self.hung = "(setup)"
        self._ready = True

    # -- the call -------------------------------------------------------------------------

    def value(self, name: str, *, timeout: float | None = None) -> Any:
        """The value of the variable ``name`` the notebook left in the kernel, decoded (nothing is
        called: an experiment's named results are read as they are).

        Raises:
            MissingFunction: no such variable. KernelGone, CallTimeout: the kernel did not answer.
        """
        return self.call(name, timeout=timeout, _read=True).value

    def modules(self, *, timeout: float | None = None) -> list[str]:
        """The top-level names of the modules loaded in the kernel (its ``sys.modules``)."""
        value = self.call("(modules)", timeout=timeout, _read="modules").value
        return [str(m) for m in value] if isinstance(value, list) else []

    def call(self, function: str, *args: Any, spy: Iterable[str] = (), timeout: float | None = None,
             _read: bool | str = False) -> CallResult:
        """Call ``function(*args)`` in the kernel and return its value, decoded.

        Raises:
            MissingFunction, StudentRaised, CallTimeout, KernelGone: the call produced no value.
        """
        self.ensure_ready()
        if self.hung is not None:
            if not self._is_alive():
                raise KernelGone(f"the kernel died before {function} could be called", function=function)
            raise KernelGone(f"the kernel stopped responding (after {self.hung} was interrupted)", function=function)
        if function in self.timed_out:
            raise CallTimeout(f"{function} did not return within {self._limit(timeout):g} s in an earlier test; "
                              "not called again", function=function)
        left = self.judge_timeout - self.seconds
        if left <= 0:
            raise CallTimeout(f"not called: the {self.judge_timeout:g} s this notebook's functions may run while "
                              "they are judged are used up (they are too slow on every call)", function=function)
        nonce = secrets.token_hex(8)
        args_json = json.dumps([encode(a) for a in args], allow_nan=True)
        code = f"{self.helper}({nonce!r}, {function!r}, {args_json!r}, {list(spy)!r}, read={_read!r})"
        limit = min(self._limit(timeout), left)
        started = time.monotonic()
        status, payloads, error = self._run(code, limit)
        self.calls += 1
        self.seconds += time.monotonic() - started
        if status == "timeout":
            self._recover(function)
            self._clear_strays()
            if limit < self._limit(timeout):
                raise CallTimeout(f"{function} was stopped when the {self.judge_timeout:g} s this notebook's "
                                  "functions may run while they are judged ran out", function=function)
            self.timed_out.add(function)
            raise CallTimeout(f"{function} did not return within {self._limit(timeout):g} s "
                              "(an infinite loop, or far too much work?)", function=function)
        if status == "dead":
            self.hung = function
            raise KernelGone(f"the kernel died while {function} was running", function=function)
        if status == "unreadable":
            self.hung = function
            raise KernelGone(f"the kernel sent a message the grader cannot read while {function} was running "
                             "(out of processes or memory?); it is not called again", function=function)
        self._clear_strays()
        payload = self._pick(payloads, nonce)
        if payload is None:
            detail = f": {error.get('ename')}: {error.get('evalue')}" if error else ""
            raise StudentRaised(f"calling {function} produced no value{detail}", function=function)
        kind = payload.get("status")
        if kind == "missing":
            what = payload.get("type")
            if _read:
                raise MissingFunction(f"{function} is not defined: the notebook asks you to leave this result in "
                                      f"a variable named `{function}`; run the cell that sets it", function=function)
            if what is None:
                raise MissingFunction(f"{function} is not defined: keep its name and run the cell that defines it",
                                      function=function)
            raise MissingFunction(f"{function} is a {what}, not a function", function=function)
        if kind == "raised":
            where = f" (line {payload['line']} of its cell)" if payload.get("line") else ""
            evalue = f": {payload['evalue']}" if payload.get("evalue") else ""
            raise StudentRaised(f"{function} raised {payload.get('ename')}{evalue}{where}",
                                function=function, ename=str(payload.get("ename", "")))
        try:
            value = decode(payload.get("value"))
            spied = {name: [{"args": decode(r.get("args", [])), "result": decode(r.get("result"))}
                            for r in records]
                     for name, records in (payload.get("spied") or {}).items()}
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise StudentRaised(f"{function} returned a value the grader cannot read ({exc})",
                                function=function) from None
        return CallResult(value=value, spied=spied)

    def _limit(self, timeout: float | None) -> float:
        return self.call_timeout if timeout is None else timeout

    def _pick(self, payloads: list, nonce: str) -> dict | None:
        for raw in reversed(payloads):
            if not isinstance(raw, str) or len(raw) > self.max_payload:
                continue
            try:
                payload = json.loads(raw)
            except ValueError:
                continue
            if isinstance(payload, dict) and payload.get("nonce") == nonce:
                return payload
        return None
