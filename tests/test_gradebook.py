"""The kit's results in nbgrader's gradebook: per-cell scores, manual grades kept, nbgrader export."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.cli import main
from autograder.course import load_lab
from autograder.demo import build_submission
from autograder.grade import grade_class
from autograder.gradebook import sync_gradebook

from conftest import FAST, copy_course

FACTOR_OF_TWO_GRADIENT = '''
def compute_gradient(x, y, w, b):
    """Return (dJ/dw, dJ/db) computed with vectorized numpy operations."""
    m = x.shape[0]
    residual = (w * x + b) - y
    return 2 * np.dot(residual, x) / m, 2 * np.sum(residual) / m
'''

ANSWER_W = "A larger w means a steeper line: each unit of mass adds w units of luminosity."
ANSWER_LIMITS = "A straight line cannot follow the curvature at the high-mass end."


def write_submission(course: Path, student: str, *, answers: dict | None = None, written: dict | None = None,
                     timestamp: str = "2026-11-20 10:00:00.000000 UTC") -> Path:
    """``course/submitted/<student>/linreg/linreg.ipynb``: the release with the solutions, then
    ``answers`` (code cells) and ``written`` (markdown answers), and nbgrader's timestamp.txt."""
    lab = load_lab("linreg", course)
    nb = build_submission(lab, answers or {})
    for cell in nb.cells:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if cell.cell_type == "markdown" and gid in (written or {}):
            cell.source = written[gid]
    folder = course / "submitted" / student / "linreg"
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(folder / "linreg.ipynb"))
    (folder / "timestamp.txt").write_text(timestamp)
    return folder


def grade_course(course: Path, out: Path, seed: int = 7):
    return grade_class("linreg", submissions=course / "submitted", out=out, course_root=course, config=FAST,
                       seed=seed, force=True)


def gradebook(course: Path):
    from nbgrader.api import Gradebook

    return Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="stellar-ml")


def nbgrader_env() -> dict:
    return {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])}


def nbgrader_export(course: Path) -> dict[str, dict]:
    """Run ``nbgrader export`` in the course and return its CSV rows by student."""
    done = subprocess.run([str(Path(sys.executable).parent / "nbgrader"), "export"], cwd=course,
                          env=nbgrader_env(), capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    with open(course / "grades.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {row["student_id"]: row for row in rows if row["assignment"] == "linreg"}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """A course copy with two submissions, graded by the kit into a results folder outside it."""
    root = tmp_path_factory.mktemp("gb")
    course = copy_course(root / "course")
    write_submission(course, "ada", written={"meaning_of_w": ANSWER_W, "line_limits": ANSWER_LIMITS})
    write_submission(course, "bohr", answers={"compute_gradient": FACTOR_OF_TWO_GRADIENT},
                     written={"meaning_of_w": ANSWER_W})
    out = root / "out"
    grading = grade_course(course, out)
    return course, out, {r.student: r.to_json() for r in grading.results}


@pytest.mark.slow
def test_sync_writes_each_grade_cell_from_result_json(graded):
    from nbgrader.apps import NbGraderAPI
    from autograder.gradebook import course_directory

    course, out, results = graded
    assert results["ada"]["score"] == 36 and results["bohr"]["score"] == 32
    sync = sync_gradebook("linreg", results=out, course_root=course)
    assert sync.registered is True
    assert [s.student for s in sync.synced] == ["ada", "bohr"] and not sync.skipped

    lab = load_lab("linreg", course)
    with gradebook(course) as gb:
        for student, result in results.items():
            for function in lab.functions:
                grade = gb.find_grade(function.test_cell, "linreg", "linreg", student)
                assert grade.auto_score == result["functions"][function.name]["points"]
                assert grade.max_score == function.points
                assert grade.manual_score is None and grade.needs_manual_grade is False
        # Written answers: nbgrader's own rule, answered -> waits for a grader, untouched -> 0.
        for student, cell, auto, needs in (("ada", "meaning_of_w", None, True), ("ada", "line_limits", None, True),
                                           ("bohr", "meaning_of_w", None, True), ("bohr", "line_limits", 0.0, False)):
            grade = gb.find_grade(cell, "linreg", "linreg", student)
            assert (grade.auto_score, grade.needs_manual_grade) == (auto, needs), (student, cell)
        assert gb.find_submission("linreg", "ada").score == 36
        assert gb.find_submission("linreg", "bohr").score == 32
        assert gb.find_submission("linreg", "bohr").max_score == 40
        comment = gb.find_comment("compute_gradient", "linreg", "linreg", "bohr").auto_comment
        assert "exactly 2 times the expected value" in comment
        assert gb.find_comment("line_limits", "linreg", "linreg", "bohr").auto_comment == "No response."
        assert gb.find_comment("compute_gradient", "linreg", "linreg", "ada").auto_comment is None

    # What the formgrader needs: the notebook in autograded/, and a timestamp that matches submitted/.
    for student in ("ada", "bohr"):
        assert (course / "autograded" / student / "linreg" / "linreg.ipynb").read_bytes() == \
            (out / student / "linreg" / "linreg.ipynb").read_bytes()
    api = NbGraderAPI(config=course_directory(course).config)
    assert api.get_autograded_students("linreg") == {"ada", "bohr"}
    listed = {s["student"]: s for s in api.get_submissions("linreg")}
    assert (listed["bohr"]["score"], listed["bohr"]["max_score"], listed["bohr"]["autograded"]) == (32, 40, True)


@pytest.mark.slow
def test_manual_grades_survive_resync_and_regrade_and_count_in_export(graded):
    course, out, results = graded
    sync_gradebook("linreg", results=out, course_root=course)
    with gradebook(course) as gb:
        # The instructor grades ada's written answers, and overrides bohr's gradient (partial credit).
        for cell, score in (("meaning_of_w", 1.5), ("line_limits", 2.0)):
            grade = gb.find_grade(cell, "linreg", "linreg", "ada")
            grade.manual_score, grade.needs_manual_grade = score, False
        override = gb.find_grade("test_compute_gradient", "linreg", "linreg", "bohr")
        override.manual_score, override.needs_manual_grade = 2.0, False
        gb.find_comment("compute_gradient", "linreg", "linreg", "bohr").manual_comment = "Check the 1/(2m)."
        gb.db.commit()

    def state():
        with gradebook(course) as gb:
            return {
                "ada_w": gb.find_grade("meaning_of_w", "linreg", "linreg", "ada").manual_score,
                "ada_limits": gb.find_grade("line_limits", "linreg", "linreg", "ada").manual_score,
                "bohr_override": gb.find_grade("test_compute_gradient", "linreg", "linreg", "bohr").manual_score,
                "bohr_auto": gb.find_grade("test_compute_gradient", "linreg", "linreg", "bohr").auto_score,
                "bohr_review": gb.find_grade("test_compute_gradient", "linreg", "linreg", "bohr").needs_manual_grade,
                "comment": gb.find_comment("compute_gradient", "linreg", "linreg", "bohr").manual_comment,
                "ada": gb.find_submission("linreg", "ada").score,
                "bohr": gb.find_submission("linreg", "bohr").score,
            }

    graded_by_hand = {"ada_w": 1.5, "ada_limits": 2.0, "bohr_override": 2.0, "bohr_auto": 0.0,
                      "bohr_review": False, "comment": "Check the 1/(2m).", "ada": 39.5, "bohr": 34.0}
    assert state() == graded_by_hand
    sync_gradebook("linreg", results=out, course_root=course)  # re-sync: nothing changes
    assert state() == graded_by_hand
    rows = nbgrader_export(course)
    assert (float(rows["ada"]["score"]), float(rows["ada"]["max_score"])) == (39.5, 40.0)
    assert float(rows["bohr"]["score"]) == 34.0

    # bohr resubmits a correct gradient: until it is graded again its result is stale and left alone.
    write_submission(course, "bohr", written={"meaning_of_w": ANSWER_W}, timestamp="2026-11-21 09:00:00.000000 UTC")
    sync = sync_gradebook("linreg", results=out, course_root=course)
    assert [s.student for s in sync.synced] == ["ada"]
    assert sync.skipped[0].student == "bohr" and sync.skipped[0].reason.startswith("stale: ")
    assert state() == graded_by_hand

    grade_course(course, out, seed=11)  # a re-grade of everyone, other random inputs
    sync = sync_gradebook("linreg", results=out, course_root=course)
    assert [s.student for s in sync.synced] == ["ada", "bohr"] and sync.registered is False
    after = state()
    # The new automatic score is recorded under the manual override, which stays and wins, and the
    # cell is flagged so the grader looks at it again.
    assert after == {**graded_by_hand, "bohr_auto": 4.0, "bohr_review": True}
    rows = nbgrader_export(course)
    assert float(rows["ada"]["score"]) == 39.5
    assert float(rows["bohr"]["score"]) == 34.0


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_missing_results_folder(capsys, course, tmp_path):
    code, out, err = run(capsys, "gradebook", "linreg", "--results", str(tmp_path / "nowhere"), "--course", str(course))
    assert (code, out) == (2, "")
    assert err == f"autograder: error: results folder {tmp_path / 'nowhere'} does not exist\n"


def test_cli_results_folder_without_results(capsys, tmp_path):
    course = copy_course(tmp_path / "course")
    (tmp_path / "out").mkdir()
    tmp_path = tmp_path / "out"
    code, out, err = run(capsys, "gradebook", "linreg", "--results", str(tmp_path), "--course", str(course))
    assert (code, out) == (2, "")
    assert err == (f"autograder: error: no results for linreg in {tmp_path} (expected <student>/linreg/result.json; "
                   f"run `autograder grade linreg --out {tmp_path}` first)\n")
    assert not (course / "gradebook.db").exists()  # bad input creates no gradebook


def test_cli_unknown_lab(capsys, course, tmp_path):
    code, out, err = run(capsys, "gradebook", "nope", "--results", str(tmp_path), "--course", str(course))
    assert code == 2
    assert err == "autograder: error: unknown lab 'nope' (labs in this course: linreg, polyreg, cloud)\n"


def test_cli_unknown_student(capsys, course, tmp_path):
    (tmp_path / "ada" / "linreg").mkdir(parents=True)
    code, out, err = run(capsys, "gradebook", "linreg", "--results", str(tmp_path), "--student", "zed",
                         "--course", str(course))
    assert code == 2
    assert err == (f"autograder: error: no result for student 'zed' in {tmp_path} "
                   f"(expected {tmp_path / 'zed' / 'linreg' / 'result.json'})\n")


@pytest.mark.slow
def test_cli_prints_students_cells_and_totals(capsys, graded):
    course, out, results = graded
    code, printed, err = run(capsys, "gradebook", "linreg", "--results", str(out), "--course", str(course))
    assert code == 0, err
    lines = printed.splitlines()
    assert lines[0].startswith(f"gradebook: sqlite:///{course / 'gradebook.db'} (course stellar-ml); assignment linreg: ")
    assert lines[1] == ("cells: test_plot_data 2, test_predict 2, test_compute_cost 4, test_compute_gradient_loop 4, "
                        "test_compute_gradient 4, test_cost_grid 3, test_plot_cost_surface 3, test_gradient_descent 5, "
                        "test_plot_convergence 2, test_compare_learning_rates 3, test_plot_fit 2, test_compliance 2, "
                        "meaning_of_w 2 (by hand), line_limits 2 (by hand)")
    assert lines[2].split() == ["student", "cells", "autograded", "by", "hand", "total", "to", "grade", "in", "formgrader"]
    rows = {line.split()[0]: line.split() for line in lines[3:-1]}
    assert set(rows) == {"ada", "bohr"}
    with gradebook(course) as gb:
        for student, row in rows.items():
            grades = {g.name: g for g in gb.find_submission_notebook("linreg", "linreg", student).grades}
            auto = sum(g.score for name, g in grades.items() if name.startswith("test_"))
            hand = grades["meaning_of_w"].score + grades["line_limits"].score
            total = gb.find_submission("linreg", student).score
            to_grade = ", ".join(n for n in grades_order() if grades[n].needs_manual_grade) or "-"
            assert row[1:5] == ["14", f"{auto:g}/36", f"{hand:g}/4", f"{total:g}/40"]
            assert " ".join(row[5:]) == to_grade
    assert lines[-1].startswith("synced 2, skipped 0; ")


def grades_order() -> list[str]:
    return ["test_predict", "test_compute_cost", "test_compute_gradient_loop", "test_compute_gradient",
            "test_cost_grid", "test_gradient_descent", "meaning_of_w", "line_limits"]


@pytest.mark.slow
def test_results_inside_autograded_are_synced_in_place_with_a_feedback_warning(capsys, graded):
    import shutil

    course, out, results = graded
    for student in ("ada", "bohr"):
        shutil.copytree(out / student, course / "autograded" / student, dirs_exist_ok=True)
    # A course whose config keeps nbgrader's default ignore list (the kit's own adds result.json).
    with open(course / "nbgrader_config.py", "a") as config:
        config.write('\nc.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]\n')
    before = (course / "autograded" / "ada" / "linreg" / "linreg.ipynb").stat().st_mtime_ns
    code, printed, err = run(capsys, "gradebook", "linreg", "--results", str(course / "autograded"),
                             "--course", str(course))
    assert code == 0
    assert printed.splitlines()[-1].startswith("synced 2, skipped 0; ")
    # The notebook already is where the formgrader looks: it is not rewritten.
    assert (course / "autograded" / "ada" / "linreg" / "linreg.ipynb").stat().st_mtime_ns == before
    assert err == (f"autograder: warning: the results are inside {(course / 'autograded').resolve()}: "
                   "`nbgrader generate_feedback` would copy each result.json (the hidden tests' expected values) "
                   "to the students; add \"result.json\" to c.CourseDirectory.ignore in nbgrader_config.py, "
                   "or grade into a folder outside autograded/\n")

    with open(course / "nbgrader_config.py", "a") as config:
        config.write('\nc.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", '
                     '"result.json"]\n')
    code, printed, err = run(capsys, "gradebook", "linreg", "--results", str(course / "autograded"),
                             "--course", str(course))
    assert (code, err) == (0, "")
