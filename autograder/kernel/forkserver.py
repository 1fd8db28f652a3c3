"""Fork-started kernels: a zygote process imports ipykernel, numpy and matplotlib once, then
forks one fresh kernel per submission.

A normal kernel start pays for the Python start-up and those imports (about two seconds of CPU
here) every time. A forked kernel inherits them and only initialises its kernel app. Isolation
is unchanged: the zygote never runs student code, every kernel is a new child of it with its
own session, working folder, environment and connection file, and no kernel is ever reused.

Protocol: the zygote (``python -m autograder.kernel.forkserver``) first writes
``{"ready": pid, "isolation": ...}`` (what :func:`~autograder.kernel.sandbox.probe_isolation`
found it can enforce); then the grader writes one JSON request per line to its stdin
(``{"connection_file", "cwd", "env", "arguments", "sandbox", "error_file"}``, ``sandbox`` being a
:class:`~autograder.kernel.sandbox.SandboxSpec` as a dict) and reads one JSON line back
(``{"pid"}`` or ``{"error"}``). The zygote exits at end of input; its kernels watch it and exit
with it. The confinement itself is enforced in the forked child by
:func:`~autograder.kernel.sandbox.enforce`.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

from ..errors import GraderFault
from .managers import KernelManager
from .sandbox import SandboxSpec, enforce, probe_isolation

PRELOAD = ("numpy", "matplotlib", "matplotlib.pyplot", "matplotlib_inline.backend_inline",
           "ipykernel.kernelapp", "ipykernel.ipkernel", "IPython", "zmq")


def _child(request: dict) -> None:  # pragma: no cover (runs in the forked kernel)
    os.setsid()  # its own session and process group: killed as a group, interrupted alone
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    sandbox = request.get("sandbox")
    enforce(SandboxSpec.from_dict(sandbox) if sandbox else None)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    zygote = os.getppid()
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()
    # parent_handle: the kernel exits when the zygote does (its trait default was read at import).
    app.initialize(["-f", request["connection_file"], f"--IPKernelApp.parent_handle={zygote}",
                    *request.get("arguments", [])])
    app.start()


def zygote_main() -> None:  # pragma: no cover (runs as the zygote process)
    import importlib

    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception:
            pass
    isolation = probe_isolation()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # kernels are reaped automatically
    out = sys.stdout
    sys.stdout.write(json.dumps({"ready": os.getpid(), "isolation": isolation}) + "\n")
    sys.stdout.flush()
    for line in sys.stdin:
        try:
            request = json.loads(line)
        except ValueError:
            out.write(json.dumps({"error": "bad request"}) + "\n")
            out.flush()
            continue
        pid = os.fork()
        if pid == 0:
            code = 0
            # Opened before the child drops root: why a kernel failed to start reaches the grader.
            report = os.open(request["error_file"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600) \
                if request.get("error_file") else None
            try:
                _child(request)
            except BaseException as exc:
                code = 70  # never becomes ready: the grader reports the kernel did not start
                if report is not None:
                    os.write(report, f"{type(exc).__name__}: {exc}".encode()[:2000])
            finally:
                os._exit(code)
        out.write(json.dumps({"pid": pid}) + "\n")
        out.flush()


class ForkServer:
    """The grader's handle on one zygote (one per worker process)."""

    def __init__(self, env: dict[str, str], *, startup_timeout: float = 60.0):
        zygote_env = {**env, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        self.process = subprocess.Popen([sys.executable, "-m", "autograder.kernel.forkserver"], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=zygote_env,
                                        cwd=env.get("HOME", "/"), text=True, bufsize=1)
        reply = self._read(startup_timeout)
        if "ready" not in reply:
            self.close()
            raise GraderFault(f"the kernel fork server did not start: {reply}")
        self.env = zygote_env
        self.isolation = reply.get("isolation", {})

    def _read(self, timeout: float) -> dict:
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        if not ready:
            return {"error": f"no answer within {timeout:g} s"}
        line = self.process.stdout.readline()
        if not line:
            return {"error": f"the fork server exited (status {self.process.poll()})"}
        try:
            return json.loads(line)
        except ValueError:
            return {"error": f"unreadable answer {line[:80]!r}"}

    def alive(self) -> bool:
        return self.process.poll() is None

    def spawn(self, *, connection_file: str, cwd: str, env: dict[str, str], arguments: list[str],
              sandbox: SandboxSpec | None = None) -> int:
        """Fork a kernel, confined by ``sandbox``; return its pid."""
        if not self.alive():
            raise GraderFault("the kernel fork server is not running")
        request = {"connection_file": connection_file, "cwd": cwd, "env": {**self.env, **env},
                   "arguments": arguments, "sandbox": sandbox.as_dict() if sandbox is not None else {},
                   "error_file": os.path.join(os.path.dirname(connection_file), "kernel-start-error.txt")}
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        reply = self._read(30.0)
        if "pid" not in reply:
            raise GraderFault(f"the kernel fork server could not start a kernel: {reply.get('error')}")
        return int(reply["pid"])

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                self.process.stdin.close()
                self.process.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is dead for our purposes
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


class ForkedKernelManager(KernelManager):
    """A kernel forked from the zygote (the session's KernelManager for it)."""

    def __init__(self, server: ForkServer, *, kernel_name: str, cwd: str, env: dict[str, str],
                 arguments: list[str], runtime_dir: str, sandbox: SandboxSpec | None = None):
        from jupyter_client.connect import write_connection_file

        self.kernel_name = kernel_name
        self.connection_file = os.path.join(runtime_dir, "kernel.json")
        # Unix sockets, not TCP: they work from inside a kernel's own (empty) network namespace.
        self.connection_file, self.info = write_connection_file(
            self.connection_file, transport="ipc", ip=os.path.join(runtime_dir, "kernel-ipc"))
        if sandbox is not None and sandbox.uid is not None:
            os.chown(self.connection_file, sandbox.uid, sandbox.uid)
        self.own_uid = sandbox.uid if sandbox is not None else None
        self._pid = server.spawn(connection_file=self.connection_file, cwd=cwd, env=env, arguments=arguments,
                                sandbox=sandbox)

    @property
    def pid(self) -> int:
        return self._pid

    def connection_info(self) -> dict:
        info = dict(self.info)
        if isinstance(info.get("key"), str):
            info["key"] = info["key"].encode()
        return info

    def client(self):
        from jupyter_client.asynchronous import AsyncKernelClient

        kc = AsyncKernelClient()
        kc.load_connection_info(self.connection_info())
        return kc

    def alive(self) -> bool:
        return pid_alive(self.pid)

    def start_error(self) -> str:
        """Why the forked kernel failed to start, if it said."""
        try:
            with open(os.path.join(os.path.dirname(self.connection_file), "kernel-start-error.txt")) as f:
                return f.read().strip()
        except OSError:
            return ""

    def interrupt(self) -> None:
        try:
            os.kill(self.pid, signal.SIGINT)
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        if pid_alive(self.pid):
            self.stop_strays()  # what it started dies with it (while its pid is still its own)
        for target in (lambda: os.killpg(self.pid, signal.SIGKILL), lambda: os.kill(self.pid, signal.SIGKILL)):
            try:
                target()
            except (ProcessLookupError, PermissionError):
                pass
        deadline = time.monotonic() + 2
        while pid_alive(self.pid) and time.monotonic() < deadline:
            time.sleep(0.01)
        if self.own_uid is not None:
            # Whatever of its uid is still running (started in the moment before it died): the
            # uid is never given to another kernel while one of them runs.
            from . import strays

            strays.stop(-1, self.own_uid)
        try:
            os.unlink(self.connection_file)
        except OSError:
            pass


if __name__ == "__main__":  # pragma: no cover
    zygote_main()
