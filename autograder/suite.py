"""What a lab's hidden pytest suite writes with: the ``graded`` marker and the ``expect_*``
checks, whose failures speak in a student's terms (shape, value, which element).

A hidden test looks like::

    @graded("predict", points=1)
    def test_predict_random(student, rng, ref):
        x = rng.uniform(0.1, 3.0, size=7)
        expect_array("predict(x, w, b)", student.predict(x, 2.0, 1.0), ref.predict(x, 2.0, 1.0))

Fixtures (provided by ``autograder.judge``): ``student`` calls the student's functions in their
kernel and returns plain values; ``rng`` is a numpy Generator seeded from the grading run's seed
and the test's name; ``ref`` is the lab's reference module, run here in the grader's process.
Each check records what it compared, so two grading runs can be compared value by value.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
import pytest

RTOL = 1e-6
ATOL = 1e-9
FULL_VALUES_UP_TO = 64

# The current test's record of compared values; set by the judge around each test.
_compared: list[dict] | None = None


class Mismatch(AssertionError):
    """A student's value is wrong; the message is what the student reads."""


def graded(function: str, points: float):
    """Mark a hidden test: which graded function it checks and how many points it carries."""
    return pytest.mark.graded(function=function, points=float(points))


def _summary(value: Any) -> Any:
    """A JSON-able summary of a compared value: the value itself when small, statistics otherwise."""
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        if value.size <= FULL_VALUES_UP_TO:
            return {"shape": list(value.shape), "values": [_jsonable(v) for v in value.reshape(-1).tolist()]}
        finite = value[np.isfinite(value)] if value.dtype.kind == "f" else value
        stats = {"shape": list(value.shape), "size": int(value.size),
                 "nonfinite": int(value.size - finite.size)}
        if finite.size:
            with np.errstate(over="ignore", invalid="ignore"):  # a diverging run: 1e300 squared is inf
                stats.update(min=float(finite.min()), max=float(finite.max()), mean=float(finite.mean()),
                             l2=float(np.sqrt(np.sum(np.square(finite.astype(float))))))
            stats = {k: _jsonable(v) if isinstance(v, float) else v for k, v in stats.items()}
        return stats
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Real):
        return _jsonable(float(value))
    return {"type": type(value).__name__}


def _jsonable(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return repr(v)  # "nan", "inf", "-inf": JSON has no literal for them
    return v


def record(label: str, got: Any, expected: Any = None, ok: bool | None = None) -> None:
    """Record a compared value for the result's ``values`` (done by every ``expect_*``)."""
    if _compared is not None:
        entry = {"label": label, "got": _summary(got)}
        if expected is not None:
            entry["expected"] = _summary(expected)
        if ok is not None:
            entry["ok"] = ok
        _compared.append(entry)


def _fmt(x: float) -> str:
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    x = float(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:.6g}"


def _describe(value: Any) -> str:
    if value is None:
        return "None"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    if isinstance(value, tuple):
        return f"a tuple of {len(value)} items"
    if isinstance(value, list):
        return f"a list of {len(value)} items"
    if isinstance(value, (bool, np.bool_)):
        return f"the boolean {value}"
    if isinstance(value, numbers.Complex) and not isinstance(value, numbers.Real):
        return f"the complex number {complex(value)}"  # a square root of a negative, say: no float to format
    if isinstance(value, numbers.Number):
        return f"the number {_fmt(value)}"
    return f"a {type(value).__name__}" if not hasattr(value, "type_name") else f"a {value.type_name}"


def _ratio_hint(got: float, want: float) -> str:
    if want == 0 or got == 0 or not (math.isfinite(got) and math.isfinite(want)):
        return ""
    r = got / want
    for k in (2.0, 0.5, -1.0, 4.0, 0.25):
        if abs(r - k) < 1e-6 * abs(k):
            return f" (exactly {k:g} times the expected value)"
    return ""


def as_number(label: str, value: Any) -> float:
    """The value as one float; a clear mismatch if it is not a single number."""
    if isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind in "biuf":
        return float(value)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        if isinstance(value, np.ndarray) and value.size == 1:
            raise Mismatch(f"{label} returned {_describe(value)}; expected a single number (a float)")
        raise Mismatch(f"{label} returned {_describe(value)}; expected a single number (a float)")
    return float(value)


def _close(got: float, want: float, rtol: float, atol: float) -> bool:
    if math.isnan(want):
        return math.isnan(got)
    if math.isinf(want):
        return got == want
    return math.isfinite(got) and abs(got - want) <= atol + rtol * abs(want)


def expect_number(label: str, got: Any, expected: float, *, rtol: float = RTOL, atol: float = ATOL,
                  also: float | None = None) -> float:
    """Check that ``got`` is a single number equal to ``expected`` within tolerance.

    ``also`` is another value that counts as right: what the formula gives from the student's own
    helper function where the checked function called it (a cost computed from the student's own
    ``predict``), so a mistake in the helper is charged to the helper alone. A failure is always
    reported against ``expected``.
    """
    value = as_number(label, got)
    if also is not None and not _close(value, float(expected), rtol, atol) and _close(value, float(also), rtol, atol):
        expected = also
    ok = _close(value, float(expected), rtol, atol)
    record(label, value, float(expected), ok)
    if not ok:
        if math.isnan(value) and not math.isnan(expected):
            raise Mismatch(f"{label} returned NaN; expected {_fmt(expected)}")
        raise Mismatch(f"{label} returned {_fmt(value)}; expected {_fmt(expected)}{_ratio_hint(value, expected)}")
    return value


def expect_array(label: str, got: Any, expected: Any, *, rtol: float = RTOL, atol: float = ATOL,
                 also: Any = None) -> np.ndarray:
    """Check that ``got`` is a numeric array of ``expected``'s shape with matching values
    (``also``: another value that counts as right, as for :func:`expect_number`)."""
    want = np.asarray(expected, dtype=float)
    if also is not None and isinstance(got, np.ndarray) and got.dtype.kind in "biuf":
        other = np.asarray(also, dtype=float)
        if got.shape == want.shape == other.shape and not _all_close(got, want, rtol, atol) \
                and _all_close(got, other, rtol, atol):
            want = other
    if isinstance(got, (list, tuple)) and not isinstance(got, np.ndarray):
        raise Mismatch(f"{label} returned {_describe(got)}; expected a numpy array of shape {want.shape}")
    if not isinstance(got, np.ndarray) or got.dtype.kind not in "biuf":
        raise Mismatch(f"{label} returned {_describe(got)}; expected a numpy array of shape {want.shape}")
    if got.shape != want.shape:
        raise Mismatch(f"{label} returned an array of shape {got.shape}; expected shape {want.shape}")
    arr = got.astype(float)
    both_nan = np.isnan(arr) & np.isnan(want)
    close = np.isclose(arr, want, rtol=rtol, atol=atol) | both_nan
    ok = bool(close.all())
    record(label, arr, want, ok)
    if not ok:
        bad = np.argwhere(~close)
        first = tuple(int(i) for i in bad[0])
        where = f"[{first[0]}]" if len(first) == 1 else "[" + ", ".join(map(str, first)) + "]"
        others = len(bad) - 1
        more = f" ({others} other element{'s' if others != 1 else ''} also differ{'s' if others == 1 else ''})" if others else ""
        hint = ""
        ratios = arr[~close] / np.where(want[~close] == 0, np.nan, want[~close])
        if ratios.size and np.all(np.isfinite(ratios)) and np.allclose(ratios, ratios.flat[0]):
            hint = _ratio_hint(float(ratios.flat[0]), 1.0)
        raise Mismatch(f"{label}: element {where} is {_fmt(arr[first])}; expected {_fmt(want[first])}{more}{hint}")
    return arr


def _all_close(got: np.ndarray, want: np.ndarray, rtol: float, atol: float) -> bool:
    arr = got.astype(float)
    return bool((np.isclose(arr, want, rtol=rtol, atol=atol) | (np.isnan(arr) & np.isnan(want))).all())


def own_result(spied: dict, function: str, shape: tuple) -> np.ndarray | None:
    """What the student's ``function`` returned when the checked function called it exactly once,
    as a float array broadcast to ``shape`` (a wrong helper may return a number or another shape
    that numpy broadcasts as the checked function's own arithmetic would); ``None`` when it was
    not called once or returned something that is not numbers of a broadcastable shape. The input
    of an ``also`` value."""
    calls = spied.get(function, [])
    if len(calls) != 1:
        return None
    value = calls[0].get("result")
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        value = np.asarray(float(value))
    if not (isinstance(value, np.ndarray) and value.dtype.kind in "biuf"):
        return None
    try:
        return np.broadcast_to(value.astype(float), tuple(shape))
    except ValueError:
        return None


def expect_pair(label: str, got: Any, names: tuple[str, str] | None = None) -> tuple:
    """Check that ``got`` is a pair (a tuple or list of two items) and return it. ``names`` are
    the lab's words for the two items, for the message (a gradient's two partial derivatives, say)."""
    if isinstance(got, (tuple, list)) and len(got) == 2:
        return tuple(got)
    if isinstance(got, np.ndarray) and got.shape == (2,):
        return tuple(got)
    wanted = f"a pair ({', '.join(names)})" if names else "a pair of two values"
    raise Mismatch(f"{label} returned {_describe(got)}; expected {wanted}")


def expect_sequence(label: str, got: Any, length: int) -> np.ndarray:
    """Check that ``got`` is a 1-D sequence of ``length`` numbers; return it as a float array."""
    if isinstance(got, np.ndarray) and got.ndim == 1 and got.dtype.kind in "biuf":
        arr = got.astype(float)
    elif isinstance(got, (list, tuple)) and all(isinstance(v, numbers.Real) or
                                                (isinstance(v, np.ndarray) and v.shape == ())
                                                for v in got):
        arr = np.array([float(v) for v in got])
    else:
        raise Mismatch(f"{label} is {_describe(got)}; expected a list of {length} numbers")
    if arr.shape[0] != length:
        raise Mismatch(f"{label} has {arr.shape[0]} entries; expected {length} (one per iteration)")
    return arr


def expect(condition: bool, message: str) -> None:
    """Fail with ``message`` (in the student's terms) unless ``condition`` holds."""
    if not condition:
        raise Mismatch(message)
