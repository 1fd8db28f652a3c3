"""Stage 1 of the flow: load a submitted notebook and check it is a notebook of this lab.

Everything that can be wrong with the file itself ends here as a ``SubmissionError`` with a
one-line message the student can act on, and becomes that student's result row.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .errors import SubmissionError

MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024


@dataclass
class Submission:
    """One student's notebook for one lab, as found on disk."""

    student: str
    lab: str
    path: Path

    @property
    def notebook(self) -> str:
        return self.path.name


def file_digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def load_notebook(path: Path, *, lab: str, template_ids: set[str]) -> nbformat.NotebookNode:
    """Read ``path`` as a Jupyter notebook of lab ``lab``.

    Args:
        template_ids: the nbgrader grade ids of the lab's release notebook; a notebook sharing
            none of them is another lab's (or not the lab's template at all).

    Raises:
        SubmissionError: missing, empty, too large, not UTF-8, not JSON, not a notebook, or not this lab's.
    """
    name = path.name
    for link in (path, path.parent, path.parent.parent):
        if link.is_symlink():
            what = "the notebook" if link == path else f"the folder {link.name}"
            raise SubmissionError(f"{what} is a symbolic link, which is not graded: submit the files themselves",
                                  notebook=name)
    if not path.exists():
        raise SubmissionError(f"no {name} was submitted", status="missing", notebook=name)
    if path.is_dir():
        raise SubmissionError(f"{name} is a folder, not a notebook", notebook=name)
    size = path.stat().st_size
    if size == 0:
        raise SubmissionError(f"{name} is empty (0 bytes)", notebook=name)
    if size > MAX_NOTEBOOK_BYTES:
        raise SubmissionError(f"{name} is {size / 2**20:.0f} MB; notebooks above {MAX_NOTEBOOK_BYTES / 2**20:.0f} MB "
                              "are not graded (clear the outputs and resubmit)", notebook=name)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SubmissionError(f"{name} is not UTF-8 text (bad byte at offset {exc.start})", notebook=name) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SubmissionError(f"{name} is not valid JSON (line {exc.lineno}, column {exc.colno}): "
                              "was it saved from Jupyter?", notebook=name) from None
    if not isinstance(data, dict) or "cells" not in data and "worksheets" not in data:
        raise SubmissionError(f"{name} is JSON but not a Jupyter notebook (no cells)", notebook=name)
    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception as exc:
        raise SubmissionError(f"{name} is not a readable Jupyter notebook: {str(exc).splitlines()[0][:200]}",
                              notebook=name) from None
    ids = {c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for c in nb.cells}
    if not ids & template_ids:
        raise SubmissionError(f"{name} is not the {lab} notebook: none of its cells come from the {lab} release "
                              "(submit the notebook you were given, filled in)", status="wrong_notebook",
                              notebook=name)
    return nb
