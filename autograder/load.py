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


def _checksums(nb) -> dict[str, str]:
    found = {}
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade_id") and meta.get("checksum"):
            found.setdefault(meta["grade_id"], meta["checksum"])
    return found


def _malformed(nb) -> str | None:
    """The first part the engine reads that has the wrong JSON type (nbformat reads such a file
    with only a logged warning, and the restore pass would then fail on it)."""
    if not isinstance(nb.get("cells"), list) or not isinstance(nb.get("metadata"), dict):
        return "notebook structure"
    if not isinstance(nb.metadata.get("kernelspec", {}), dict):
        return "kernelspec"
    for index, cell in enumerate(nb.cells):
        meta = cell.get("metadata") if isinstance(cell, dict) else None
        if not isinstance(meta, dict) or not isinstance(cell.get("source"), str) \
                or cell.get("cell_type") not in ("code", "markdown", "raw"):
            return f"cell {index}"
        grading, tags = meta.get("nbgrader", {}), meta.get("tags", [])
        if not isinstance(grading, dict) or not all(isinstance(grading.get(k, ""), str)
                                                    for k in ("grade_id", "checksum")):
            return f"nbgrader metadata in cell {index}"
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            return f"tags in cell {index}"
    return None


def load_notebook(path: Path, *, lab: str, template_ids: set[str],
                  template: nbformat.NotebookNode | None = None) -> nbformat.NotebookNode:
    """Read ``path`` as a Jupyter notebook of lab ``lab``.

    Args:
        template_ids: the nbgrader grade ids of the lab's release notebook; a notebook sharing
            none of them is another lab's (or not the lab's template at all).
        template: the release notebook itself. Labs share grade ids (``intro``, ``predict``), so
            with it a notebook is also another lab's when most of the cells it shares with the
            release by id carry a different nbgrader checksum (set at release, kept by Jupyter
            when a student edits the cell).

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
        # Name what is there instead (a renamed copy, another lab's file), so nothing is lost unseen.
        others = sorted(p.name for p in path.parent.glob("*.ipynb")) if path.parent.is_dir() else []
        found = f" (the folder has {', '.join(others[:5])}{', ...' if len(others) > 5 else ''})" if others else ""
        raise SubmissionError(f"no {name} was submitted{found}", status="missing", notebook=name)
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
        # Upgrading an nbformat 3 file yields nbformat.v3's node class, which papermill does not
        # take for a notebook; from_dict makes every version the same nbformat.NotebookNode.
        nb = nbformat.from_dict(nbformat.reads(text, as_version=4))
    except Exception as exc:
        raise SubmissionError(f"{name} is not a readable Jupyter notebook: {str(exc).splitlines()[0][:200]}",
                              notebook=name) from None
    broken = _malformed(nb)
    if broken:
        raise SubmissionError(f"{name} has malformed {broken} (was it edited outside Jupyter?): "
                              "submit the notebook you were given, filled in", notebook=name)
    ids = {c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for c in nb.cells}
    if not ids & template_ids:
        raise SubmissionError(f"{name} is not the {lab} notebook: none of its cells come from the {lab} release "
                              "(submit the notebook you were given, filled in)", status="wrong_notebook",
                              notebook=name)
    if template is not None:
        mine, theirs = _checksums(template), _checksums(nb)
        shared = [gid for gid in theirs if gid in mine]
        same = sum(theirs[gid] == mine[gid] for gid in shared)
        if shared and same * 2 < len(shared):
            raise SubmissionError(f"{name} is not the {lab} notebook: most of its cells come from another "
                                  "release (submit the notebook you were given, filled in)",
                                  status="wrong_notebook", notebook=name)
    return nb
