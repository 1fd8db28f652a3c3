"""Stage 2 of the flow: restore what the student may not change, from the released template.

Small ordered passes over the submitted notebook, like nbgrader's preprocessors. The order
matters: protected cells are restored in place first, so that the re-insertion pass finds the
restored ids as anchors for cells the student deleted.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Callable

import nbformat

from .cells import grade_id as _gid
from .cells import is_protected, is_solution, tags


@dataclass
class Restoration:
    notebook: nbformat.NotebookNode
    notes: list[str] = field(default_factory=list)


def clear_outputs(nb, template, notes) -> None:
    """The student's outputs are not evidence; the grader's own run replaces them."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None


def restore_protected_cells(nb, template, notes) -> None:
    """Put back the template's source of every protected cell the student edited."""
    protected = {_gid(c): c for c in template.cells if is_protected(c)}
    seen: set[str] = set()
    edited = []
    for index, cell in enumerate(nb.cells):
        gid = _gid(cell)
        if gid not in protected or gid in seen:
            continue
        seen.add(gid)
        original = protected[gid]
        if cell.cell_type != original.cell_type or cell.source != original.source:
            edited.append(gid)
        fresh = copy.deepcopy(original)
        if fresh.cell_type == "code":
            fresh.outputs = []
            fresh.execution_count = None
        nb.cells[index] = fresh
    if edited:
        notes.append(f"restored {len(edited)} protected cell(s) that were edited: {', '.join(edited)}")


def reinsert_deleted_cells(nb, template, notes) -> None:
    """Re-insert protected cells the student deleted, after the cell that preceded them."""
    present = {_gid(c) for c in nb.cells}
    missing = []
    previous_gid = None
    for original in template.cells:
        gid = _gid(original)
        if is_protected(original) and gid not in present:
            fresh = copy.deepcopy(original)
            if fresh.cell_type == "code":
                fresh.outputs = []
                fresh.execution_count = None
            position = 0
            if previous_gid is not None:
                for index, cell in enumerate(nb.cells):
                    if _gid(cell) == previous_gid:
                        position = index + 1
                        break
            nb.cells.insert(position, fresh)
            present.add(gid)
            missing.append(gid)
        if gid:
            previous_gid = gid
    if missing:
        notes.append(f"re-inserted {len(missing)} protected cell(s) that were deleted: {', '.join(missing)}")


def use_template_kernel(nb, template, notes) -> None:
    """The lab's kernel runs the notebook, whatever kernel the student's notebook names."""
    wanted = template.metadata.get("kernelspec")
    if nb.metadata.get("kernelspec") != wanted:
        if nb.metadata.get("kernelspec"):
            notes.append(f"ignored the notebook's kernel {nb.metadata['kernelspec'].get('name')!r}")
        nb.metadata["kernelspec"] = copy.deepcopy(wanted)


def keep_parameters_tag(nb, template, notes) -> None:
    """papermill injects the grader's parameters after the cell tagged ``parameters``; a student
    who dropped the tag would have their own values silently override the grader's."""
    tagged = {_gid(c) for c in template.cells if "parameters" in tags(c)}
    for cell in nb.cells:
        cell.setdefault("metadata", {})
        present = tags(cell)
        if _gid(cell) in tagged and "parameters" not in present:
            cell.metadata["tags"] = [*present, "parameters"]
            notes.append(f"re-tagged cell {_gid(cell)} as the parameters cell")
        elif _gid(cell) not in tagged and "parameters" in present:
            cell.metadata["tags"] = [t for t in present if t != "parameters"]
            notes.append("removed a parameters tag from a cell that is not the lab's parameters cell")


PASSES: list[Callable] = [clear_outputs, restore_protected_cells, reinsert_deleted_cells, keep_parameters_tag,
                          use_template_kernel]


def restore(nb: nbformat.NotebookNode, template: nbformat.NotebookNode) -> Restoration:
    """Return a copy of ``nb`` with every protected cell as the template has it."""
    result = copy.deepcopy(nb)
    notes: list[str] = []
    for step in PASSES:
        step(result, template, notes)
    return Restoration(result, notes)


def answer_sources(nb: nbformat.NotebookNode) -> dict[str, str]:
    """The source of each answer cell, by grade id (the first cell with that id)."""
    sources: dict[str, str] = {}
    for cell in nb.cells:
        gid = _gid(cell)
        if is_solution(cell) and cell.cell_type == "code" and gid is not None and gid not in sources:
            sources[gid] = cell.source
    return sources
