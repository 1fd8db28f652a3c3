"""nbgrader's cell metadata, read in one place.

nbgrader marks a cell with ``metadata.nbgrader``: ``grade_id`` (its name), ``solution`` (the
student writes it), ``grade`` with ``points`` (it is graded), ``locked`` (read-only) and
``checksum``. The kit's vocabulary over those flags:

- an *answer* cell: code with ``solution`` and without ``grade`` (a graded function ``F``);
- a *test* cell: code with ``grade`` and without ``solution`` (``test_F``, carrying F's points);
- a *written answer*: ``grade`` and ``solution`` together (graded by hand);
- a *protected* cell: locked, or a test cell, whose source is restored from the release.

Cells read here come from students and may be malformed: every helper tolerates a missing or
mistyped ``metadata`` and answers as for an unmarked cell.
"""

from __future__ import annotations

from typing import Any, Mapping


def nbgrader(cell: Any) -> Mapping[str, Any]:
    """The cell's ``metadata.nbgrader`` (empty when absent or not a mapping)."""
    meta = cell.get("metadata") if isinstance(cell, Mapping) else None
    found = meta.get("nbgrader") if isinstance(meta, Mapping) else None
    return found if isinstance(found, Mapping) else {}


def grade_id(cell: Any) -> str | None:
    gid = nbgrader(cell).get("grade_id")
    return gid if isinstance(gid, str) and gid else None


def checksum(cell: Any) -> str | None:
    value = nbgrader(cell).get("checksum")
    return value if isinstance(value, str) and value else None


def points(cell: Any) -> float:
    return float(nbgrader(cell).get("points", 0) or 0)


def tags(cell: Any) -> list[str]:
    meta = cell.get("metadata") if isinstance(cell, Mapping) else None
    found = meta.get("tags", []) if isinstance(meta, Mapping) else []
    return [t for t in found if isinstance(t, str)] if isinstance(found, list) else []


def is_code(cell: Any) -> bool:
    return isinstance(cell, Mapping) and cell.get("cell_type") == "code"


def is_solution(cell: Any) -> bool:
    """Written by the student: an answer cell or a written answer."""
    return bool(nbgrader(cell).get("solution"))


def is_answer(cell: Any) -> bool:
    """A graded function's answer cell."""
    meta = nbgrader(cell)
    return is_code(cell) and bool(meta.get("solution")) and not meta.get("grade")


def is_test(cell: Any) -> bool:
    """A visible-test cell (``test_F``), which carries F's points."""
    meta = nbgrader(cell)
    return is_code(cell) and bool(meta.get("grade")) and not meta.get("solution")


def is_written_answer(cell: Any) -> bool:
    """A written answer, graded by hand."""
    meta = nbgrader(cell)
    return bool(meta.get("grade")) and bool(meta.get("solution"))


def is_protected(cell: Any) -> bool:
    """A cell the student may not change: read-only, or a visible-test cell. Its source is
    restored from the release, like nbgrader's overwrite of locked and test cells."""
    meta = nbgrader(cell)
    if grade_id(cell) is None:
        return False
    return bool(meta.get("locked")) or (bool(meta.get("grade")) and not meta.get("solution"))


def metadata_problem(cell: Mapping[str, Any]) -> str | None:
    """What of the cell's metadata the engine reads has the wrong JSON type (``"nbgrader
    metadata"``, ``"tags"``), or ``None``. The helpers above treat such a cell as unmarked; the
    load stage refuses the notebook instead, so a student hears about it."""
    meta = cell.get("metadata", {})
    grading, found = meta.get("nbgrader", {}), meta.get("tags", [])
    if not isinstance(grading, Mapping) or not all(isinstance(grading.get(k, ""), str)
                                                   for k in ("grade_id", "checksum")):
        return "nbgrader metadata"
    if not isinstance(found, list) or not all(isinstance(t, str) for t in found):
        return "tags"
    return None


def by_grade_id(cells: list) -> dict[str, Any]:
    """Cells by grade id (the first of each id)."""
    found: dict[str, Any] = {}
    for cell in cells:
        gid = grade_id(cell)
        if gid is not None:
            found.setdefault(gid, cell)
    return found
