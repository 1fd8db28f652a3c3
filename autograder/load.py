"""Stage 1 of the flow: load a submitted notebook and check it is a notebook of this lab.

Everything that can be wrong with the file itself ends here as a ``SubmissionError`` with a
one-line message the student can act on, and becomes that student's result row.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import nbformat

if TYPE_CHECKING:
    from .course import Lab

from .cells import checksum, grade_id, metadata_problem
from .errors import CourseError, SubmissionError
from .results import Status

log = logging.getLogger(__name__)

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


def student_folders(root: Path, lab_name: str) -> tuple[list[str], list[str]]:
    """The class in a submissions folder: ``(students, ignored)``, both sorted.

    A hidden folder (.git, .ipynb_checkpoints, .Trash-0) is a tool's, not a student's, unless it
    holds this lab's folder: then it is a submission like any other, and is graded.
    """
    folders = sorted(p.name for p in Path(root).iterdir() if p.is_dir())
    students = [s for s in folders if not s.startswith(".") or (Path(root) / s / lab_name).is_dir()]
    return students, [s for s in folders if s not in students]


def find_submissions(submissions: Path, lab: "Lab", student: str | None = None,
                     share: Callable[[list[str]], list[str]] | None = None) -> list[Submission]:
    """Submissions in nbgrader's layout: ``<submissions>/<student_id>/<lab>/<notebook>``.

    ``share`` picks this grader's part of the class (a Processing job's host grades only its shard).

    Raises:
        CourseError: no such folder, or ``student`` is not a plain folder name inside it.
    """
    root = Path(submissions)
    if not root.is_dir():
        raise CourseError(f"submissions folder {root} does not exist")
    if student is not None:
        if student in ("", ".", "..") or Path(student).name != student:
            # OUT/<student> must stay inside OUT: '..' or 'a/b' would write results elsewhere.
            raise CourseError(f"{student!r} is not a student id: give the name of a folder inside {root}")
        if not (root / student).is_dir():
            raise CourseError(f"no submission folder for student {student!r} in {root}")
        students = [student]
    else:
        students, ignored = student_folders(root, lab.name)
        if ignored:
            log.warning("skipped %d hidden folder(s) with no %s folder inside, not students: %s",
                        len(ignored), lab.name, ", ".join(ignored))
    if share is not None:
        students = share(students)
    return [Submission(student=s, lab=lab.name, path=root / s / lab.name / lab.notebook) for s in students]


def file_digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _checksums(nb) -> dict[str, str]:
    found = {}
    for cell in nb.cells:
        gid, digest = grade_id(cell), checksum(cell)
        if gid and digest:
            found.setdefault(gid, digest)
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
        part = metadata_problem(cell)
        if part:
            return f"{part} in cell {index}"
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
        raise SubmissionError(f"no {name} was submitted{found}", status=Status.MISSING, notebook=name)
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
    ids = {grade_id(c) for c in nb.cells}
    if not ids & template_ids:
        raise SubmissionError(f"{name} is not the {lab} notebook: none of its cells come from the {lab} release "
                              "(submit the notebook you were given, filled in)", status=Status.WRONG_NOTEBOOK,
                              notebook=name)
    if template is not None:
        mine, theirs = _checksums(template), _checksums(nb)
        shared = [gid for gid in theirs if gid in mine]
        same = sum(theirs[gid] == mine[gid] for gid in shared)
        if shared and same * 2 < len(shared):
            raise SubmissionError(f"{name} is not the {lab} notebook: most of its cells come from another "
                                  "release (submit the notebook you were given, filled in)",
                                  status=Status.WRONG_NOTEBOOK, notebook=name)
    return nb
