"""``autograder validate NOTEBOOK``: the student's check before submitting.

Runs the notebook through the grader's own stages: ``load`` (it must be this lab's notebook, told
apart as grading tells it apart), ``restore`` (protected cells restored), ``execute`` in the
grader's kernel (fork-started and sandboxed as grading's, with the same limits); then reports the
visible checks under each function. No hidden test is run or shipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .cells import grade_id
from .compliance import attempted, scan_notebook
from .config import GradingConfig, load_config
from .course import Lab, find_course_root, list_labs, load_lab
from .errors import CourseError, SubmissionError
from .execute import execute_notebook
from .figures import Figures, read_figures
from .grade import hidden_paths
from .kernel import TIMEOUT_ENAME, KernelPool
from .load import load_notebook
from .restore import restore
from .results import Status, TestStatus


NOT_ATTEMPTED = "not_attempted"  # validate's own word: the stub still raises NotImplementedError


@dataclass
class FunctionCheck:
    function: str
    status: str  # a TestStatus (passed, failed, timeout, not_run) or NOT_ATTEMPTED
    message: str = ""


@dataclass
class ValidationReport:
    lab: str
    title: str
    notebook: Path
    checks: list[FunctionCheck]
    other_problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def passing(self) -> int:
        return sum(c.status == TestStatus.PASSED for c in self.checks)

    @property
    def passed(self) -> bool:
        return self.passing == len(self.checks)


def _error(cell) -> dict | None:
    return next((o for o in cell.get("outputs", []) if o.get("output_type") == "error"), None)


def _figure_problem(figures: Figures, part: str) -> str:
    """What a student can be told about a figure part without the hidden tests: whether its cell
    showed a figure, and whether that figure's axes say what they show ("" when nothing is wrong)."""
    if not figures.described:
        return ""  # this kernel could not describe figures: nothing to say either way
    shown = figures.in_cell(part)
    if not shown:
        return "its cell showed no figure (draw it there and call plt.show())"
    plots = shown[-1].plots
    if not plots:
        return "its figure is empty"
    for ax in plots:
        for axis, label in (("x", ax.xlabel), ("y", ax.ylabel)):
            if not label.strip():
                return f"its figure has no {axis}-axis label"
    return ""


def _describe(error: dict) -> str:
    value = (error.get("evalue") or "").strip().splitlines()
    return f"{error.get('ename')}: {value[0]}" if value else str(error.get("ename"))


def identify_lab(path: Path, course_root: Path) -> str:
    """The lab whose release shares cell ids with the notebook (or whose notebook name matches)."""
    import json

    try:
        cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
        ids = {grade_id(c) for c in cells}
    except (OSError, ValueError, AttributeError):
        ids = set()
    best, overlap = None, 0
    for name in list_labs(course_root):
        lab = load_lab(name, course_root)
        if not lab.release_notebook.is_file():
            continue
        _, template_ids = lab.release_template()
        shared = len(ids & template_ids)
        if shared > overlap or (shared == overlap and path.name == lab.notebook and best is None):
            best, overlap = name, shared
    if best is None:
        raise CourseError(f"cannot tell which lab {path.name} belongs to: pass --lab")
    return best


def validate_notebook(path: Path, *, lab_name: str | None = None, course_root: Path | None = None,
                      config: GradingConfig | None = None) -> ValidationReport:
    """Run ``path`` and its visible checks; say per graded function whether they pass.

    Raises:
        SubmissionError: the file is not a readable notebook of the lab.
        CourseError: the lab cannot be found.
    """
    path = Path(path)
    root = Path(course_root) if course_root else find_course_root(path.parent)
    if not path.is_file():
        raise SubmissionError(f"{path} does not exist", status=Status.MISSING, notebook=path.name)
    lab: Lab = load_lab(lab_name or identify_lab(path, root), root)
    config = config or load_config(root)
    template, template_ids = lab.release_template()
    nb = load_notebook(path, lab=lab.name, template_ids=set(template_ids), template=template)
    restored = restore(nb, template)
    notes = [n.replace("restored", "will restore").replace("re-inserted", "will re-insert") for n in restored.notes]
    pool = KernelPool(config, data_dir=path.parent, warm=False, hide=hidden_paths(lab))
    try:
        session = pool.take()
        try:
            session.wait_ready()
            execution = execute_notebook(session, restored.notebook)
        finally:
            session.close()
    finally:
        pool.close()
    cells = execution.notebook.cells
    by_id = {}
    for index, cell in enumerate(cells):
        by_id.setdefault(grade_id(cell), (index, cell))
    timed_out = {p.cell for p in execution.problems if p.kind in ("timeout", "skipped")}
    figures = read_figures(execution.figures, execution.notebook, described=execution.figures_described)
    checks = []
    accounted = set()
    for function in lab.functions:
        answer = by_id.get(function.name)
        test = by_id.get(function.test_cell)
        accounted |= {answer[0] if answer else None, test[0] if test else None}
        answer_error = _error(answer[1]) if answer else None
        if lab.kind_of(function.name) == "compliance":
            # Read from the cells, never run: the same scan the hidden test makes of the source.
            if not attempted(execution.notebook):
                checks.append(FunctionCheck(function.name, NOT_ATTEMPTED, "nothing to check yet: no answer cell is written"))
                continue
            found = scan_notebook(execution.notebook, lab.allowed_imports)
            checks.append(FunctionCheck(function.name, TestStatus.FAILED, "; ".join(v.message() for v in found[:3]))
                          if found else FunctionCheck(function.name, TestStatus.PASSED))
            continue
        if answer is None:
            checks.append(FunctionCheck(function.name, TestStatus.FAILED, "its answer cell is missing"))
        elif answer_error and answer_error.get("ename") == "NotImplementedError":
            checks.append(FunctionCheck(function.name, NOT_ATTEMPTED, "still raises NotImplementedError"))
        elif answer[0] in timed_out or (test and test[0] in timed_out):
            checks.append(FunctionCheck(function.name, TestStatus.TIMEOUT, "ran out of time (an infinite loop?)"))
        elif answer_error:
            checks.append(FunctionCheck(function.name, TestStatus.FAILED, f"its cell raised {_describe(answer_error)}"))
        elif test is None or test[1].get("execution_count") is None and not test[1].get("outputs"):
            checks.append(FunctionCheck(function.name, TestStatus.NOT_RUN, "its visible checks did not run"))
        elif _error(test[1]):
            error = _error(test[1])
            status = NOT_ATTEMPTED if error.get("ename") == "NotImplementedError" else TestStatus.FAILED
            checks.append(FunctionCheck(function.name, status, _describe(error)))
        elif lab.kind_of(function.name) == "figure" and (problem := _figure_problem(figures, function.name)):
            checks.append(FunctionCheck(function.name, TestStatus.FAILED, problem))
        else:
            checks.append(FunctionCheck(function.name, TestStatus.PASSED))
    others = []
    for problem in execution.problems:
        if problem.cell in accounted:
            continue
        if problem.kind == "error" and problem.ename != TIMEOUT_ENAME:
            others.append(f"cell {problem.cell} raised {problem.ename}: {problem.evalue.splitlines()[0] if problem.evalue else ''}".rstrip(": "))
        elif problem.kind in ("timeout", "skipped", "kernel_died"):
            others.append(f"cell {problem.cell}: {problem.kind.replace('_', ' ')}")
    return ValidationReport(lab=lab.name, title=lab.title, notebook=path, checks=checks,
                            other_problems=others, notes=notes)
