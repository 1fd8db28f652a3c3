"""Stage 5 of the flow: record. Write a submission's executed notebook and its ``result.json``,
each atomically (a temporary file in the same folder, then a rename), so a killed grader leaves
either the old file or the new one, never half of one. The record itself and the folder layout
are ``results``'s; the environment fingerprint every result carries is made here.
"""

from __future__ import annotations

import platform
import sys
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

import nbformat

from .results import SubmissionResult, result_dir, write_atomic, write_result


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


def record_submission(out: Path, result: SubmissionResult, notebook: nbformat.NotebookNode | None = None) -> Path:
    """Write the executed ``notebook`` (when there is one, even a partial one), then the result
    beside it: what exists is written before the result that describes it. Returns the result's path."""
    if notebook is not None:
        write_notebook(result_dir(out, result.student, result.lab) / result.notebook, notebook)
    return write_result(out, result)
