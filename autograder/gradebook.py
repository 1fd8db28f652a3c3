"""The report stage, nbgrader's side: write the kit's results into the course's nbgrader gradebook.

``sync_gradebook`` reads ``OUT/<student>/<lab>/result.json`` and the executed notebook beside it,
and writes, through nbgrader's own ``Gradebook`` API, one grade per grade cell of the lab's
notebook, so that ``nbgrader export`` and the formgrader show the kit's scores and an instructor
grades the written answers in the formgrader as usual:

- the visible-test cell ``test_F`` gets F's points from ``result.json`` as its autograded score
  (the hidden suite decides, not whether the visible test raised);
- a written answer (a grade and solution cell) gets nbgrader's own automatic score: 0 when the
  answer was left as released, otherwise none, so it waits for a grader;
- the answer cell ``F`` gets the failed tests' messages as its automatic comment.

Manual scores, extra credit and manual comments are never written: re-syncing or re-grading
changes only automatic scores and comments. A cell that has a manual score is flagged for review
again when its automatic score changes underneath it (nbgrader's own autograde flags it on every
run). The assignment and its cells are registered in the gradebook by nbgrader's own
``generate_assignment`` (run in a scratch folder, so ``release/`` is not touched) when the
gradebook does not have them yet or they differ from the source. The formgrader only lists a
submission whose notebook is in ``autograded/<student>/<lab>/`` and whose gradebook timestamp
equals ``submitted/<student>/<lab>/timestamp.txt``; both are arranged here.
"""

from __future__ import annotations

import fnmatch
import logging
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .cells import by_grade_id, checksum, grade_id, nbgrader
from .course import Lab, load_lab
from .errors import CourseError
from .load import file_digest
from .results import RESULT_FILE, Status, SubmissionResult, read_result, result_file, result_paths, write_atomic

log = logging.getLogger(__name__)

TOLERANCE = 1e-9


@dataclass(frozen=True)
class CellGrade:
    """What the gradebook holds for one grade cell of one submission after a sync."""

    name: str
    kind: str  # "auto" (a function's visible-test cell), "manual" (a written answer), "other"
    max_score: float
    auto_score: float | None
    manual_score: float | None
    needs_manual_grade: bool

    @property
    def score(self) -> float:
        chosen = self.manual_score if self.manual_score is not None else self.auto_score
        return float(chosen or 0.0)


@dataclass
class StudentSync:
    """One student's result, synced or skipped (with the reason)."""

    student: str
    synced: bool
    reason: str = ""
    cells: list[CellGrade] = field(default_factory=list)
    total: float = 0.0
    max_total: float = 0.0
    notebook: Path | None = None

    @property
    def auto_total(self) -> float:
        return sum(c.score for c in self.cells if c.kind == "auto")

    @property
    def manual_total(self) -> float:
        return sum(c.score for c in self.cells if c.kind != "auto")

    @property
    def to_grade(self) -> list[str]:
        return [c.name for c in self.cells if c.needs_manual_grade]


@dataclass
class GradebookSync:
    """What ``sync_gradebook`` wrote."""

    lab: str
    db_url: str
    course_id: str
    registered: bool
    cells: list[tuple[str, str, float]]  # (grade cell, kind, max score), in notebook order
    students: list[StudentSync]
    warnings: list[str] = field(default_factory=list)

    @property
    def synced(self) -> list[StudentSync]:
        return [s for s in self.students if s.synced]

    @property
    def skipped(self) -> list[StudentSync]:
        return [s for s in self.students if not s.synced]


def course_directory(course_root: Path):
    """nbgrader's ``CourseDirectory`` for the course: its ``nbgrader_config.py`` with the root
    pinned to the course folder (the file says ``root = "."``, which would mean the cwd)."""
    from nbgrader.coursedir import CourseDirectory

    from .release import course_config

    config = course_config(course_root)
    config.CourseDirectory.root = str(Path(course_root).resolve())
    return CourseDirectory(config=config)


def _gradebook(db_url: str, course_id: str):
    from nbgrader.api import Gradebook

    from .release import _venv_on_path

    try:
        with _venv_on_path():  # a new gradebook asks the `alembic` command for its schema version
            return Gradebook(db_url, course_id=course_id)
    except Exception as exc:  # an unreadable or foreign database file
        raise CourseError(f"cannot open the nbgrader gradebook {db_url}: {exc}") from None


def _release_cells(lab: Lab) -> dict[str, dict]:
    """grade id -> nbgrader metadata of the lab's cells as nbgrader records them (the release
    keeps the metadata and checksums generate_assignment computed)."""
    path = lab.release_notebook
    if not path.is_file():
        raise CourseError(f"{path} is missing: run `autograder release {lab.name}` first", lab=lab.name)
    nb = nbformat.read(str(path), as_version=4)
    return {grade_id(c): dict(nbgrader(c), cell_type=c.cell_type) for c in nb.cells if grade_id(c)}


def _registered_matches(gb, lab: Lab, notebook_id: str) -> bool:
    """Whether the gradebook already holds this lab's notebook with the release's cells."""
    from nbgrader.api import MissingEntry

    try:
        notebook = gb.find_notebook(notebook_id, lab.name)
    except MissingEntry:
        return False
    cells = _release_cells(lab)
    grade = {gid: (float(m["points"]), m["cell_type"]) for gid, m in cells.items() if m.get("grade")}
    solution = {gid for gid, m in cells.items() if m.get("solution")}
    source = {gid: m.get("checksum") for gid, m in cells.items()
              if m.get("grade") or m.get("solution") or m.get("locked") or m.get("task")}
    return ({c.name: (float(c.max_score), c.cell_type) for c in notebook.grade_cells} == grade
            and {c.name for c in notebook.solution_cells} == solution
            and {c.name: c.checksum for c in notebook.source_cells} == source)


def register_assignment(lab: Lab, db_url: str) -> None:
    """Record the lab's notebook and cells in the gradebook with nbgrader's own
    ``generate_assignment`` (its SaveCells pass), in a scratch copy so ``release/`` is untouched.

    Raises:
        CourseError: nbgrader refused (for instance cells were added or removed in the source
            after submissions were recorded).
    """
    from .errors import ReleaseError
    from .release import generate

    with tempfile.TemporaryDirectory(prefix="autograder-gradebook-") as tmp:
        try:
            generate(lab, Path(tmp), db_url=db_url)
        except ReleaseError as exc:
            raise CourseError(f"nbgrader could not record {lab.name} in the gradebook {db_url}: {exc.problems[0]}",
                              lab=lab.name) from None


def _result_folders(results: Path, lab: Lab, student: str | None) -> list[Path]:
    root = Path(results)
    if not root.is_dir():
        raise CourseError(f"results folder {root} does not exist")
    if student is not None:
        path = result_file(root, student, lab.name)
        if not path.is_file():
            raise CourseError(f"no result for student {student!r} in {root} (expected {path})")
        return [path.parent]
    found = [p.parent for p in result_paths(root, lab.name)]
    if not found:
        raise CourseError(f"no results for {lab.name} in {root} (expected <student>/{lab.name}/{RESULT_FILE}; "
                          f"run `autograder grade {lab.name} --out {root}` first)")
    return found


def _read_timestamp(folder: Path):
    from nbgrader.utils import parse_utc

    path = folder / "timestamp.txt"
    if not path.is_file():
        return None
    try:
        return parse_utc(path.read_text().strip())
    except (ValueError, OverflowError):
        return None


def _failure_messages(result: SubmissionResult, function: str) -> str | None:
    messages = [t.message for t in result.failed_tests(function) if t.message]
    return "\n".join(dict.fromkeys(messages)) or None


def _check_result(result: SubmissionResult | None, lab: Lab, student: str, folder: Path, grade_cells: dict,
                  test_of: dict[str, str]) -> str:
    """Why this result cannot be synced, or ``""``."""
    if result is None:
        return "result.json is unreadable or not a result of this kit"
    if result.lab != lab.name or result.student != student:
        return f"result.json is for {result.student}/{result.lab}, not {student}/{lab.name}"
    if result.status != Status.GRADED:
        return f"not graded ({result.status}: {result.message})"
    if not (folder / result.notebook).is_file():
        return f"the executed notebook {folder / result.notebook} is missing"
    for cell, function in test_of.items():
        recorded = result.functions.get(function)
        if recorded is None:
            return f"result.json has no score for {function} (graded by an older version of the lab?)"
        if abs(float(recorded.max_points) - grade_cells[cell]) > TOLERANCE:
            return (f"{function} was graded out of {recorded.max_points:g} points but the lab now gives "
                    f"{cell} {grade_cells[cell]:g}; grade again")
    return ""


def _feedback_leak_warning(coursedir, results: Path) -> list[str]:
    """nbgrader's generate_feedback copies every other file of autograded/<student>/<lab>/ to the
    student; result.json holds the hidden tests' expected values, so it must not be among them."""
    autograded = Path(coursedir.root, coursedir.autograded_directory).resolve()
    inside = results.resolve() == autograded or autograded in results.resolve().parents
    if not inside or any(fnmatch.fnmatch("result.json", pattern) for pattern in coursedir.ignore):
        return []
    return [f"the results are inside {autograded}: `nbgrader generate_feedback` would copy each result.json "
            "(the hidden tests' expected values) to the students; add \"result.json\" to "
            "c.CourseDirectory.ignore in nbgrader_config.py, or grade into a folder outside autograded/"]


def sync_gradebook(lab_name: str, *, results: Path, course_root: Path | None = None,
                   student: str | None = None) -> GradebookSync:
    """Write the results of ``lab_name`` under ``results`` into the course's nbgrader gradebook.

    Args:
        results: the folder ``autograder grade --out`` wrote (``<student>/<lab>/result.json``).
        course_root: the nbgrader course folder (default: found from the working folder).
        student: sync only this student.

    Returns:
        What was written, per student (skipped students say why: not graded, stale, ...).

    Raises:
        CourseError: unknown lab, missing results, an unusable gradebook or config.
    """
    from nbgrader.api import MissingEntry
    from nbgrader.utils import compute_checksum, determine_grade
    from sqlalchemy.exc import SAWarning

    lab = load_lab(lab_name, course_root)
    folders = _result_folders(results, lab, student)
    coursedir = course_directory(lab.course_root)
    db_url, course_id = coursedir.db_url, coursedir.course_id or "default_course"
    notebook_id = Path(lab.notebook).stem
    test_of = {f.test_cell: f.name for f in lab.functions}
    functions = {f.name for f in lab.functions}

    with _gradebook(db_url, course_id) as gb:
        registered = not _registered_matches(gb, lab, notebook_id)
    if registered:
        register_assignment(lab, db_url)

    report = GradebookSync(lab=lab.name, db_url=db_url, course_id=course_id, registered=registered,
                           cells=[], students=[])
    report.warnings.extend(_feedback_leak_warning(coursedir, Path(results)))
    with _gradebook(db_url, course_id) as gb:
        notebook = gb.find_notebook(notebook_id, lab.name)
        grade_cells = {c.name: float(c.max_score) for c in notebook.grade_cells}
        solution_cells = {c.name for c in notebook.solution_cells}
        order = {gid: i for i, gid in enumerate(_release_cells(lab))}

        def kind(name: str) -> str:
            return "auto" if name in test_of else "manual" if name in solution_cells else "other"

        report.cells = [(name, kind(name), grade_cells[name]) for name in sorted(grade_cells, key=lambda n: order.get(n, 1e9))]

        for folder in folders:
            sid = folder.parent.name
            result = read_result(folder / RESULT_FILE)
            reason = _check_result(result, lab, sid, folder, grade_cells, test_of)
            submitted = Path(coursedir.format_path(coursedir.submitted_directory, sid, lab.name))
            if not reason and (submitted / result.notebook).is_file() \
                    and file_digest(submitted / result.notebook) != result.submission_sha256:
                reason = (f"stale: {submitted / result.notebook} changed since it was graded; "
                          f"run `autograder grade {lab.name}` again")
            if reason:
                report.students.append(StudentSync(student=sid, synced=False, reason=reason))
                continue

            executed_path = folder / result.notebook
            executed = nbformat.read(str(executed_path), as_version=4)
            cells = by_grade_id(executed.cells)

            # The formgrader shows the notebook in autograded/<student>/<lab>/, and lists the
            # submission only if the gradebook's timestamp equals submitted/.../timestamp.txt.
            autograded = Path(coursedir.format_path(coursedir.autograded_directory, sid, lab.name))
            target = autograded / f"{notebook_id}.ipynb"
            if target.resolve() != executed_path.resolve():
                write_atomic(target, executed_path.read_bytes())
            timestamp = _read_timestamp(submitted)
            stamp = submitted / "timestamp.txt"
            if stamp.is_file() and stamp.resolve() != (autograded / "timestamp.txt").resolve():
                write_atomic(autograded / "timestamp.txt", stamp.read_bytes())

            try:
                gb.find_student(sid)
            except MissingEntry:
                gb.add_student(sid)
            with warnings.catch_warnings():
                # nbgrader's add_submission builds its rows in a way SQLAlchemy warns about; harmless.
                warnings.simplefilter("ignore", category=SAWarning)
                submission = gb.update_or_create_submission(lab.name, sid)
            submission.timestamp = timestamp

            written: list[CellGrade] = []
            for name, cell_kind, max_score in report.cells:
                grade = gb.find_grade(name, notebook_id, lab.name, sid)
                previous = grade.auto_score
                if cell_kind == "auto":
                    auto = float(result.points(test_of[name]))
                elif cell_kind == "manual" and name in cells:
                    auto, _ = determine_grade(cells[name])  # 0 if left as released, else None
                else:
                    auto = None
                grade.auto_score = auto
                if grade.manual_score is None:
                    grade.needs_manual_grade = auto is None
                elif previous is not None and (auto is None or abs(previous - auto) > TOLERANCE):
                    grade.needs_manual_grade = True  # the automatic score moved under a manual one
                written.append(CellGrade(name=name, kind=cell_kind, max_score=max_score, auto_score=auto,
                                         manual_score=grade.manual_score,
                                         needs_manual_grade=bool(grade.needs_manual_grade)))

            for name in solution_cells:
                comment = gb.find_comment(name, notebook_id, lab.name, sid)
                cell = cells.get(name)
                comment.auto_comment = _failure_messages(result, name) if name in functions else None
                if cell is not None and checksum(cell) == compute_checksum(cell):
                    comment.auto_comment = "No response."  # nbgrader's own words for an untouched answer
            gb.db.commit()

            total = gb.find_submission(lab.name, sid).score
            report.students.append(StudentSync(student=sid, synced=True, cells=written, total=float(total),
                                               max_total=float(sum(grade_cells.values())), notebook=target))
            log.info("gradebook: %s %s %g/%g", sid, lab.name, total, sum(grade_cells.values()))
    return report
