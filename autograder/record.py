"""Stage 5 of the flow: record. Build ``result.json`` and write it, and the executed notebook,
atomically (a temporary file in the same folder, then a rename), so a killed grader leaves
either the old file or the new one, never half of one.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
from datetime import datetime, timezone
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

import nbformat

SCHEMA = "autograder.result/1"

# Statuses of a whole submission.
GRADED = "graded"            # the hidden suite ran (whatever the student scored)
MISSING = "missing"          # no notebook where one was expected
INVALID = "invalid"          # not a readable notebook
WRONG_NOTEBOOK = "wrong_notebook"  # a notebook, but not this lab's
GRADER_ERROR = "grader_error"  # the grader failed (kernel would not start, ...)


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write ``data`` to ``path`` so that readers see the old or the new file, never a mix."""
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


def write_notebook(path: Path, nb: nbformat.NotebookNode) -> None:
    write_atomic(path, nbformat.writes(nb))


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


@lru_cache(maxsize=1)
def environment() -> dict[str, Any]:
    """The fingerprint of the grading environment: enough to see why two runs could differ."""
    import numpy

    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "numpy": numpy.__version__,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "packages": {name: _version(name) for name in
                     ("autograder", "papermill", "nbgrader", "nbclient", "ipykernel", "jupyter-client",
                      "matplotlib", "pytest")},
        "kernel_python": sys.executable,
    }


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def build_result(*, student: str, lab: str, notebook: str, status: str, message: str, seed: int,
                 max_score: float, manual_max_score: float, functions: dict[str, float],
                 tests: list[dict] | None = None, execution: dict | None = None,
                 timings: dict[str, float] | None = None, submission_sha256: str | None = None,
                 notes: list[str] | None = None, grader_errors: list[str] | None = None,
                 started_at: str | None = None) -> dict[str, Any]:
    """Assemble the ``result.json`` document; a submission that was not graded scores 0."""
    tests = tests or []
    per_function = {name: {"points": 0.0, "max_points": float(points)} for name, points in functions.items()}
    for test in tests:
        if test["function"] in per_function:
            per_function[test["function"]]["points"] += float(test["points"])
    score = sum(f["points"] for f in per_function.values())
    return {
        "schema": SCHEMA,
        "student": student,
        "lab": lab,
        "notebook": notebook,
        "status": status,
        "message": message,
        "score": round(score, 6),
        "max_score": float(max_score),
        "manual_max_score": float(manual_max_score),
        "seed": seed,
        "functions": {k: {"points": round(v["points"], 6), "max_points": v["max_points"]}
                      for k, v in per_function.items()},
        "tests": tests,
        "execution": execution or {},
        "notes": notes or [],
        "grader_errors": grader_errors or [],
        "timings": {k: round(v, 4) for k, v in (timings or {}).items()},
        "environment": environment(),
        "submission_sha256": submission_sha256,
        "started_at": started_at or now(),
        "finished_at": now(),
    }


def result_paths(out: Path, lab: str = "*") -> list[Path]:
    """Every ``OUT/<student>/<lab>/result.json`` (all labs by default), sorted: the one place that
    knows how a results folder is laid out for readers."""
    return sorted(Path(out).glob(f"*/{lab}/result.json"))


def read_result(path: Path) -> dict[str, Any] | None:
    """Read a result written earlier; ``None`` if absent or unreadable (then it is re-graded)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("schema") == SCHEMA else None
