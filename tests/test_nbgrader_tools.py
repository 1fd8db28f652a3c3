"""nbgrader's own command-line tools still work on the kit's course folder, and the kit's gradebook
sync works on a gradebook nbgrader itself filled."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.gradebook import sync_gradebook

from conftest import REPO, copy_course
from test_gradebook import (ANSWER_W, FACTOR_OF_TWO_GRADIENT, grade_course, gradebook, nbgrader_env,
                            write_submission)

pytestmark = pytest.mark.slow


def nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(Path(sys.executable).parent / "nbgrader"), *args], cwd=course, env=nbgrader_env(),
                          capture_output=True, text=True, timeout=600)


def test_generate_validate_and_autograde_work_on_the_course(tmp_path):
    course = copy_course(tmp_path / "course")

    done = nbgrader(course, "generate_assignment", "linreg", "--force")
    assert done.returncode == 0, done.stderr[-2000:]
    # nbgrader's own release is byte for byte the committed one (which `autograder release` made).
    assert json.loads((course / "release/linreg/linreg.ipynb").read_text()) == \
        json.loads((REPO / "release/linreg/linreg.ipynb").read_text())

    done = nbgrader(course, "validate", "source/linreg/linreg.ipynb")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Success! Your notebook passes all the tests." in done.stdout

    done = nbgrader(course, "validate", "release/linreg/linreg.ipynb")
    assert "VALIDATION FAILED ON" in done.stdout  # the blank release fails its checks, as it should
    assert "NotImplementedError" in done.stdout and "You did not provide a response." in done.stdout

    write_submission(course, "ada", written={"meaning_of_w": ANSWER_W})
    write_submission(course, "bohr", answers={"compute_gradient": FACTOR_OF_TWO_GRADIENT})
    done = nbgrader(course, "autograde", "linreg")
    assert done.returncode == 0, done.stderr[-3000:]
    with gradebook(course) as gb:
        # nbgrader scores the visible checks: bohr's doubled gradient fails its agreement check.
        assert gb.find_submission("linreg", "ada").score == 36
        assert gb.find_submission("linreg", "bohr").score == 32
        assert gb.find_grade("test_compute_gradient", "linreg", "linreg", "bohr").auto_score == 0
        assert gb.find_grade("meaning_of_w", "linreg", "linreg", "ada").needs_manual_grade is True
        ada_meaning = gb.find_grade("meaning_of_w", "linreg", "linreg", "ada")
        ada_meaning.manual_score = 1.0
        gb.db.commit()

    # The kit's results synced on top: the cells nbgrader recorded are accepted as they are, the
    # hidden suite's scores replace the visible checks', and the manual grade stays.
    out = tmp_path / "out"
    grade_course(course, out)
    sync = sync_gradebook("linreg", results=out, course_root=course)
    assert sync.registered is False
    assert [s.student for s in sync.synced] == ["ada", "bohr"]
    with gradebook(course) as gb:
        assert gb.find_submission("linreg", "ada").score == 37
        assert gb.find_grade("meaning_of_w", "linreg", "linreg", "ada").manual_score == 1.0
        assert gb.find_submission("linreg", "bohr").score == 32
