"""The result of grading, in one module: a typed record per submission, per hidden test and per
graded function, its JSON form (``result.json``) and the results folder's layout.

Every reader and writer of results goes through here: ``record`` and ``grade`` write them,
``report``, ``exports``, ``feedback``, ``summary``, ``gradebook``, ``parity``, the Processing
entrypoint's merge and the CLI read them. Nothing else spells a status string, a key of
``result.json`` or the path ``<out>/<student>/<lab>/result.json``.

Schema versions: ``autograder.result/1`` (the first) and ``autograder.result/2``, which adds
``config``: the grading limits the submission was graded with. Both load; a record keeps the
version it was read with, and writing it back gives the same bytes it was read from.
"""

from __future__ import annotations

import contextlib
import enum
import errno
import json
import logging
import os
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator

from .errors import OutputError

if TYPE_CHECKING:  # course imports nothing from here; the import is lazy where it is needed
    from .course import Lab

log = logging.getLogger(__name__)

SCHEMA_V1 = "autograder.result/1"
SCHEMA = "autograder.result/2"
READABLE_SCHEMAS = (SCHEMA_V1, SCHEMA)
RESULT_FILE = "result.json"


class Status(enum.StrEnum):
    """What happened to a whole submission."""

    GRADED = "graded"                  # the hidden suite ran (whatever the student scored)
    MISSING = "missing"                # no notebook where one was expected
    INVALID = "invalid"                # not a readable notebook
    WRONG_NOTEBOOK = "wrong_notebook"  # a notebook, but not this lab's
    GRADER_ERROR = "grader_error"      # the grader failed (a kernel would not start, ...)


class TestStatus(enum.StrEnum):
    """What happened to one hidden test."""

    __test__ = False  # not a pytest test class

    PASSED = "passed"
    FAILED = "failed"              # a wrong value (a Mismatch or an assertion)
    ERROR = "error"                # the student's function raised
    MISSING = "missing"            # the function is not defined in the kernel
    TIMEOUT = "timeout"            # a call ran out of time (or the judging budget was spent)
    KERNEL_DIED = "kernel_died"    # the kernel died during the call
    SKIPPED = "skipped"
    NOT_RUN = "not_run"            # collected, never reached
    GRADER_ERROR = "grader_error"  # a bug in the hidden test, not the student's fault


def _status(value: Any, kind: type[enum.StrEnum]) -> Any:
    """``value`` as a member of ``kind`` when it is one; unknown strings are kept as they are (a
    result written by a newer kit still loads)."""
    try:
        return kind(value)
    except ValueError:
        return value


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# --- the record ----------------------------------------------------------------------------------

@dataclass
class TestResult:
    """One hidden test of one submission."""

    __test__ = False

    name: str
    function: str
    points: float
    max_points: float
    status: str = TestStatus.NOT_RUN
    message: str = ""
    values: list = field(default_factory=list)  # what the test compared (``suite.record``)
    seconds: float = 0.0
    # The lab's named mistake that explains the failure, {"mistake": name, "text": diagnosis};
    # written only when there is one, so a test without one reads as it always did.
    diagnosis: dict | None = None

    @property
    def passed(self) -> bool:
        return self.status == TestStatus.PASSED

    def to_json(self) -> dict[str, Any]:
        doc = {"name": self.name, "function": self.function, "points": self.points,
               "max_points": self.max_points, "status": self.status, "message": self.message,
               "values": self.values, "seconds": round(self.seconds, 4)}
        if self.diagnosis is not None:
            doc["diagnosis"] = self.diagnosis
        return doc

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "TestResult":
        return cls(name=data["name"], function=data["function"], points=data["points"],
                   max_points=data["max_points"], status=_status(data["status"], TestStatus),
                   message=data.get("message", ""), values=data.get("values") or [],
                   seconds=data.get("seconds", 0.0), diagnosis=data.get("diagnosis"))

    def value(self, label: str) -> dict | None:
        """The entry this test recorded under ``label`` (exact), or ``None``."""
        for entry in self.values:
            if isinstance(entry, dict) and entry.get("label") == label:
                return entry
        return None


@dataclass
class FunctionScore:
    """The points one graded function earned, of its maximum."""

    points: float
    max_points: float

    def to_json(self) -> dict[str, float]:
        return {"points": round(self.points, 6), "max_points": self.max_points}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "FunctionScore":
        return cls(points=data["points"], max_points=data["max_points"])

    def fraction(self) -> str:
        return f"{self.points:g}/{self.max_points:g}"


# The keys of result.json, in the order they are written (v1's order; v2 adds "config" at the end).
_KEYS = ("schema", "student", "lab", "notebook", "status", "message", "score", "max_score", "manual_max_score",
         "seed", "functions", "tests", "execution", "notes", "grader_errors", "timings", "environment",
         "submission_sha256", "started_at", "finished_at")


class ResultFormatError(ValueError):
    """A file is not a result this kit can read."""


@dataclass
class SubmissionResult:
    """One student's result for one lab: what ``result.json`` holds.

    Build one with :meth:`begin` when grading starts and :meth:`conclude` when it ends (a
    submission that was not graded concludes with its status and no tests, so it scores 0).
    """

    student: str
    lab: str
    notebook: str
    seed: int
    max_score: float
    manual_max_score: float
    functions: dict[str, FunctionScore]
    status: str = Status.GRADER_ERROR
    message: str = ""
    score: float = 0.0
    tests: list[TestResult] = field(default_factory=list)
    execution: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    grader_errors: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    environment: dict[str, Any] = field(default_factory=dict)
    submission_sha256: str | None = None
    started_at: str = ""
    finished_at: str = ""
    config: dict[str, Any] | None = None   # the limits it was graded with (schema 2 on)
    schema: str = SCHEMA

    # --- building ---------------------------------------------------------------------------------

    @classmethod
    def begin(cls, *, student: str, lab: "Lab", notebook: str, seed: int, submission_sha256: str | None,
              config: dict[str, Any] | None) -> "SubmissionResult":
        """The record of a submission whose grading starts now, scoring 0 until concluded."""
        return cls(student=student, lab=lab.name, notebook=notebook, seed=seed, max_score=float(lab.max_score),
                   manual_max_score=float(lab.manual_points),
                   functions={name: FunctionScore(0.0, float(points)) for name, points in lab.function_points().items()},
                   submission_sha256=submission_sha256, started_at=now(), config=config)

    def conclude(self, status: str, message: str, *, tests: Iterable[TestResult] = (),
                 execution: dict[str, Any] | None = None, notes: Iterable[str] = (),
                 grader_errors: Iterable[str] = (), timings: dict[str, float] | None = None,
                 environment: dict[str, Any] | None = None) -> "SubmissionResult":
        """Set the outcome; the function scores and the total follow from the tests."""
        self.status = _status(status, Status)
        self.message = message
        self.tests = list(tests)
        earned = {name: 0.0 for name in self.functions}
        for test in self.tests:
            if test.function in earned:
                earned[test.function] += float(test.points)
        for name, score in self.functions.items():
            score.points = round(earned[name], 6)
        self.score = round(sum(earned.values()), 6)
        self.execution = dict(execution or {})
        self.notes = list(notes)
        self.grader_errors = list(grader_errors)
        self.timings = {k: round(v, 4) for k, v in (timings or {}).items()}
        self.environment = dict(environment or {})
        self.finished_at = now()
        return self

    # --- reading ----------------------------------------------------------------------------------

    @property
    def graded(self) -> bool:
        return self.status == Status.GRADED

    @property
    def failed_by_grader(self) -> bool:
        """The grader failed on this submission, wholly or in some test."""
        return self.status == Status.GRADER_ERROR or bool(self.grader_errors)

    def tests_of(self, function: str) -> list[TestResult]:
        return [t for t in self.tests if t.function == function]

    def failed_tests(self, function: str | None = None) -> list[TestResult]:
        return [t for t in self.tests if not t.passed and (function is None or t.function == function)]

    def points(self, function: str) -> float:
        score = self.functions.get(function)
        return score.points if score else 0.0

    def test(self, name: str) -> TestResult | None:
        return next((t for t in self.tests if t.name == name), None)

    def recorded(self, test: str, label: str) -> dict | None:
        """The value entry hidden test ``test`` recorded under ``label`` (exact), or ``None``."""
        found = self.test(test)
        return found.value(label) if found else None

    def reusable_for(self, digest: str | None) -> bool:
        """Whether this result stands for a submission whose bytes hash to ``digest`` (``None``: no
        notebook): an unchanged submission that the grader did not fail on is not graded again."""
        return self.submission_sha256 == digest and self.status != Status.GRADER_ERROR

    # --- JSON -------------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        doc = {"schema": self.schema, "student": self.student, "lab": self.lab, "notebook": self.notebook,
               "status": self.status, "message": self.message, "score": self.score,
               "max_score": self.max_score, "manual_max_score": self.manual_max_score, "seed": self.seed,
               "functions": {k: v.to_json() for k, v in self.functions.items()},
               "tests": [t.to_json() for t in self.tests], "execution": self.execution, "notes": self.notes,
               "grader_errors": self.grader_errors, "timings": self.timings, "environment": self.environment,
               "submission_sha256": self.submission_sha256, "started_at": self.started_at,
               "finished_at": self.finished_at}
        if self.schema != SCHEMA_V1:
            doc["config"] = self.config
        return doc

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, sort_keys=False, allow_nan=False) + "\n"

    @classmethod
    def from_json(cls, data: Any) -> "SubmissionResult":
        """Read a ``result.json`` document (schema 1 or 2).

        Raises:
            ResultFormatError: not a result of this kit, or one with a missing or mistyped field.
        """
        if not isinstance(data, dict) or data.get("schema") not in READABLE_SCHEMAS:
            raise ResultFormatError("not a result of this kit (no known schema)")
        try:
            record = cls(student=data["student"], lab=data["lab"], notebook=data["notebook"], seed=data["seed"],
                         max_score=data["max_score"], manual_max_score=data["manual_max_score"],
                         functions={k: FunctionScore.from_json(v) for k, v in data["functions"].items()},
                         status=_status(data["status"], Status), message=data.get("message", ""),
                         score=data["score"], tests=[TestResult.from_json(t) for t in data.get("tests", [])],
                         execution=data.get("execution") or {}, notes=data.get("notes") or [],
                         grader_errors=data.get("grader_errors") or [], timings=data.get("timings") or {},
                         environment=data.get("environment") or {},
                         submission_sha256=data.get("submission_sha256"), started_at=data.get("started_at", ""),
                         finished_at=data.get("finished_at", ""), config=data.get("config"), schema=data["schema"])
        except (KeyError, TypeError, AttributeError) as exc:
            raise ResultFormatError(f"a result with a missing or malformed field ({type(exc).__name__}: {exc})") from None
        if not isinstance(record.student, str) or not isinstance(record.lab, str):
            raise ResultFormatError("a result whose student or lab is not a name")
        return record


# --- one run per results folder -------------------------------------------------------------------

LOCK_NAME = ".autograder.lock"


@contextlib.contextmanager
def results_lock(out: Path) -> Iterator[None]:
    """Hold the results folder for one grading run; a second run on it refuses at once.

    The lock is ``fcntl.flock`` on ``OUT/.autograder.lock``: the operating system lets go of it
    when the holder exits, however it ends (a SIGKILLed run leaves no stuck lock).

    Raises:
        OutputError: another run holds the folder, or it cannot be written.
    """
    import fcntl

    out = Path(out)
    path = out / LOCK_NAME
    try:
        out.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a+")
    except OSError as exc:
        raise OutputError(f"cannot write to the results folder {out}: {exc.strerror or exc}") from None
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise OutputError(f"{out} is being graded by another run ({holder}); wait for it to finish, "
                              "or give this run another --out") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}, since {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        handle.flush()
        yield
    finally:
        handle.close()  # releases the lock; the file stays (removing it would race a waiting run)


def sweep_leftovers(out: Path, lab: str = "*") -> list[Path]:
    """Remove what an interrupted run left half-written: temporary files of atomic writes and the
    engine's partial notebooks. Only call it holding :func:`results_lock`. Returns what went."""
    gone = []
    for pattern in (f"*/{lab}/.*.tmp", f"*/{lab}/.partial.*", ".*.tmp"):
        for path in Path(out).glob(pattern):
            try:
                path.unlink()
                gone.append(path)
            except OSError:
                pass
    return gone


# The errors with which writing a result can fail for want of a usable disk, not a bug.
UNWRITABLE = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EIO, errno.EACCES, errno.EPERM})


# --- writing files atomically --------------------------------------------------------------------

def write_atomic(path: Path, data: bytes | str) -> None:
    """Write ``data`` to ``path`` so that readers see the old or the new file, never a mix (a
    temporary file in the same folder, then a rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(raw)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_json(path: Path, obj: Any) -> None:
    write_atomic(path, json.dumps(obj, indent=2, sort_keys=False, allow_nan=False) + "\n")


# --- the results folder: <out>/<student>/<lab>/result.json -----------------------------------------

def result_dir(out: Path, student: str, lab: str) -> Path:
    """Where a student's result for a lab, its executed notebook and its reports live."""
    return Path(out) / student / lab


def result_file(out: Path, student: str, lab: str) -> Path:
    return result_dir(out, student, lab) / RESULT_FILE


def result_paths(out: Path, lab: str = "*") -> list[Path]:
    """Every ``OUT/<student>/<lab>/result.json`` (all labs by default), sorted."""
    return sorted(Path(out).glob(f"*/{lab}/{RESULT_FILE}"))


def read_result(path: Path) -> SubmissionResult | None:
    """A result written earlier; ``None`` if absent or unreadable (then it is graded again)."""
    try:
        return SubmissionResult.from_json(json.loads(Path(path).read_text()))
    except (OSError, ValueError):  # ValueError: not JSON, or ResultFormatError
        return None


def write_result(out: Path, result: SubmissionResult) -> Path:
    """Write ``result`` to its place under ``out``, atomically; return the path."""
    path = result_file(out, result.student, result.lab)
    write_atomic(path, result.dumps())
    return path


def iter_results(out: Path, lab: str = "*") -> Iterator[tuple[Path, SubmissionResult | None]]:
    """``(path, result)`` for every result file under ``out``; ``None`` where it is unreadable."""
    for path in result_paths(out, lab):
        yield path, read_result(path)


def results_on_disk(out: Path, lab: str) -> list[SubmissionResult]:
    """The readable results of ``lab`` under ``out`` (unreadable ones left out)."""
    return [r for _, r in iter_results(out, lab) if r is not None]


@dataclass
class ResultSet:
    """The results of one lab found under a results folder."""

    lab: "Lab"
    out: Path
    results: list[SubmissionResult]     # sorted by student
    folders: dict[str, Path]            # student -> OUT/<student>/<lab>
    unreadable: list[Path] = field(default_factory=list)

    def get(self, student: str) -> SubmissionResult | None:
        return next((r for r in self.results if r.student == student), None)


def load_lab_results(lab_name: str, out: Path, *, course_root: Path | None = None) -> ResultSet:
    """Every result of ``lab_name`` under ``out`` that ``autograder grade`` wrote.

    A result file that cannot be read (or belongs to another lab or student folder) is listed in
    ``unreadable`` and left out; the caller says so.

    Raises:
        CourseError: unknown lab.
        AutograderError: the results folder is missing or holds no result of this lab.
    """
    from .course import load_lab
    from .errors import AutograderError

    lab = load_lab(lab_name, course_root)
    out = Path(out)
    if not out.is_dir():
        raise AutograderError(f"results folder {out} does not exist (grade first: "
                              f"autograder grade {lab.name} --submissions DIR --out {out})")
    results, folders, unreadable = [], {}, []
    for path, result in iter_results(out, lab.name):
        if result is None or result.lab != lab.name:
            log.warning("unreadable result %s", path)
            unreadable.append(path)
            continue
        results.append(result)
        folders[result.student] = path.parent
    if not results:
        raise AutograderError(f"no results of lab {lab.name} in {out} (expected {out}/<student>/{lab.name}/{RESULT_FILE}"
                              f"{'; unreadable: ' + ', '.join(str(p) for p in unreadable) if unreadable else ''})")
    results.sort(key=lambda r: r.student)
    return ResultSet(lab=lab, out=out, results=results, folders=folders, unreadable=unreadable)


def load_result_folder(folder: Path) -> dict[tuple[str, str], SubmissionResult]:
    """Every readable result under ``folder``, of any lab, keyed by ``(student, lab)``; an
    unreadable one is logged and left out (parity then reports the submission as missing)."""
    found = {}
    for path, result in iter_results(folder):
        if result is None:
            log.warning("unreadable result %s", path)
            continue
        found[(result.student, result.lab)] = result
    return found
