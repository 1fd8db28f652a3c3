"""Named mistakes and equivalent variants: what a lab knows of how students really get its
functions wrong, and right in other ways.

A lab may ship, beside its hidden suite (``autograder/labs/<lab>/``):

- ``mistakes.py`` with ``MISTAKES = [Mistake(...), ...]``: small wrong implementations of its
  functions, each with a diagnosis in a student's terms. When a hidden test fails, the judge runs
  the failed function's mistakes here, in the grader's process, on the very inputs the test gave
  the student's function; one that returns what the student's returned explains the failure, and
  its diagnosis is added to the test's message. A diagnosis is fixed text: it never shows an input.
- ``variants.py`` with ``VARIANTS = [Variant(...), ...]``: correct implementations written
  differently (a loop, lists, other names, other valid dtype handling), which must score full
  marks (``autograder audit`` checks).

Both are source text, a function definition as a student would type it into the answer cell, so
the audit can grade them through the real path and the judge can run them here. They run with
``np``, the lab's reference functions and the lab's module-level data (``M``, ``L``, ...) in scope,
like a notebook whose other cells are correct. Lab content is the instructor's code: it is
trusted, unlike anything that comes back from a student's kernel.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

if TYPE_CHECKING:
    from .course import Lab

MISTAKES_FILE = "mistakes.py"
VARIANTS_FILE = "variants.py"
RTOL = 1e-6
ATOL = 1e-9


@dataclass(frozen=True)
class Mistake:
    """A named wrong implementation of one graded function.

    Attributes:
        function: the graded function it is a wrong version of.
        name: a short identifier (``one_over_m``), unique within the function.
        diagnosis: what the student most likely did, in their terms, as one or two sentences.
        summary: the same in a few words, for the class summary ("used 1/m instead of 1/(2m)").
        source: the wrong function's definition, as a student would write it.
    """

    function: str
    name: str
    diagnosis: str
    summary: str
    source: str


@dataclass(frozen=True)
class Variant:
    """A correct implementation of one graded function, written differently."""

    function: str
    name: str
    source: str


@dataclass(frozen=True)
class Raised:
    """A call that raised instead of returning: compared by the exception's type name."""

    ename: str


def _content(lab: "Lab", filename: str, attribute: str) -> list:
    from .course import load_content_module
    from .errors import CourseError

    if not (lab.content_dir / filename).is_file():
        return []
    module = load_content_module(lab, filename, what=attribute.lower())
    found = list(getattr(module, attribute, []))
    known = {f.name for f in lab.coded}
    for item in found:
        if item.function not in known:
            raise CourseError(f"lab {lab.name}: {filename} names {item.function!r}, which is not a graded function "
                              f"({', '.join(sorted(known))})", lab=lab.name)
    return found


def load_mistakes(lab: "Lab") -> list[Mistake]:
    """The lab's named mistakes (none when it ships no ``mistakes.py``)."""
    return _content(lab, MISTAKES_FILE, "MISTAKES")


def load_variants(lab: "Lab") -> list[Variant]:
    """The lab's equivalent variants (none when it ships no ``variants.py``)."""
    return _content(lab, VARIANTS_FILE, "VARIANTS")


def namespace(ref: ModuleType) -> dict[str, Any]:
    """What a candidate function sees: numpy as ``np``, ``math``, and every public name of the
    reference module (its functions and the lab's data), as a notebook's other cells define them."""
    scope = {"np": np, "numpy": np, "math": math}
    scope.update({k: v for k, v in vars(ref).items() if not k.startswith("_")})
    return scope


def compile_function(source: str, function: str, ref: ModuleType) -> Callable:
    """Define ``function`` from ``source`` in a fresh copy of the reference's namespace, so it
    calls the reference's versions of the other functions."""
    scope = namespace(ref)
    exec(compile(source, f"<{function}>", "exec"), scope)  # noqa: S102 - the lab's own content
    return scope[function]


def outcome(fn: Callable, args: tuple) -> Any:
    """What ``fn(*args)`` gives: its value, or ``Raised`` with the exception's type name."""
    import copy

    try:
        with np.errstate(all="ignore"):
            return fn(*copy.deepcopy(args))
    except Exception as exc:  # noqa: BLE001 - a wrong implementation may raise anything
        return Raised(type(exc).__name__)


def same(a: Any, b: Any, *, rtol: float = RTOL, atol: float = ATOL) -> bool:
    """Whether two outcomes agree: numbers within tolerance (NaN equal to NaN), arrays of one
    shape, sequences item by item, the same raised exception type, ``None`` with ``None``."""
    if isinstance(a, Raised) or isinstance(b, Raised):
        # Compared by hand: `Raised == ndarray` would fall back to numpy's element-wise comparison.
        return isinstance(a, Raised) and isinstance(b, Raised) and a.ename == b.ename
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, (bool, np.bool_)) or isinstance(b, (bool, np.bool_)):
        return isinstance(a, (bool, np.bool_)) and isinstance(b, (bool, np.bool_)) and bool(a) == bool(b)
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
            # a one-element array against a number, or an array against a list of numbers
            if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
                return False
            a, b = np.asarray(a), np.asarray(b)
            if a.shape != b.shape:
                return False
        if a.shape != b.shape or a.dtype.kind not in "biuf" or b.dtype.kind not in "biuf":
            return a.shape == b.shape and a.dtype == b.dtype and bool(np.all(a == b))
        if (a.dtype.kind in "biu") != (b.dtype.kind in "biu"):
            return False  # an integer result is not a float one, even where the values agree
        x, y = a.astype(float), b.astype(float)
        return bool(np.all(np.isclose(x, y, rtol=rtol, atol=atol) | (np.isnan(x) & np.isnan(y))))
    if isinstance(a, numbers.Real) and isinstance(b, numbers.Real):
        x, y = float(a), float(b)
        if math.isnan(x) or math.isnan(y):
            return math.isnan(x) and math.isnan(y)
        if math.isinf(x) or math.isinf(y):
            return x == y
        return abs(x - y) <= atol + rtol * abs(y)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(p, q, rtol=rtol, atol=atol) for p, q in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k], rtol=rtol, atol=atol) for k in a)
    try:
        return type(a) is type(b) and bool(a == b)
    except Exception:  # noqa: BLE001 - values whose == is not a truth value do not match
        return False


@dataclass(frozen=True)
class Call:
    """One call the hidden suite made of a student's function, and what came back."""

    function: str
    args: tuple
    outcome: Any  # the decoded value, or Raised


def diagnose(calls: list[Call], function: str, mistakes: list[Mistake], ref: ModuleType) -> Mistake | None:
    """The named mistake that explains a failed test, or ``None``.

    Looked at: the test's calls of ``function`` whose outcome differs from the reference's on the
    same arguments (the last of them first). A mistake explains the test when it gives exactly
    the student's outcome on each of those calls, and does not on some call agree with the
    reference where the student did not (it must reproduce the difference, not merely differ).
    """
    candidates = [m for m in mistakes if m.function == function]
    if not candidates or not hasattr(ref, function):
        return None
    reference = getattr(ref, function)
    differing = [c for c in calls if c.function == function and not same(c.outcome, outcome(reference, c.args))]
    if not differing:
        return None
    for mistake in candidates:
        try:
            wrong = compile_function(mistake.source, function, ref)
        except Exception:  # noqa: BLE001 - a broken mistake is the lab's fault; it explains nothing
            continue
        if all(same(call.outcome, outcome(wrong, call.args)) for call in reversed(differing)):
            return mistake
    return None
