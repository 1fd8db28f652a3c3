"""The command line: exit statuses and the one-line messages a user sees."""

import pytest

from autograder.cli import main

from conftest import REPO


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_unknown_lab(capsys, course, tmp_path):
    code, out, err = run(capsys, "grade", "nope", "--submissions", str(tmp_path), "--out", str(tmp_path / "o"),
                         "--course", str(course))
    assert code == 2
    assert err == "autograder: error: unknown lab 'nope' (labs in this course: linreg, polyreg, cloud)\n"


def test_missing_submissions_folder(capsys, course, tmp_path):
    code, out, err = run(capsys, "grade", "linreg", "--submissions", str(tmp_path / "nowhere"),
                         "--out", str(tmp_path / "o"), "--course", str(course))
    assert code == 2
    assert err == f"autograder: error: submissions folder {tmp_path / 'nowhere'} does not exist\n"


def test_unknown_student(capsys, course, tmp_path):
    code, out, err = run(capsys, "grade", "linreg", "--submissions", str(tmp_path), "--out", str(tmp_path / "o"),
                         "--student", "zed", "--course", str(course))
    assert code == 2
    assert err == f"autograder: error: no submission folder for student 'zed' in {tmp_path}\n"


def test_bad_option_value(capsys, course, tmp_path):
    code, out, err = run(capsys, "grade", "linreg", "--submissions", str(tmp_path), "--out", str(tmp_path / "o"),
                         "--workers", "0", "--course", str(course))
    assert code == 2
    assert err == "autograder: error: workers must be at least 1, got 0\n"


def test_usage_error_exits_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["grade"])
    assert info.value.code == 2


def test_labs(capsys):
    code, out, err = run(capsys, "labs", "--course", str(REPO))
    assert code == 0
    lines = out.splitlines()
    assert [line.split()[0] for line in lines] == ["linreg", "polyreg", "cloud"]
    assert "linreg     Lab 1: Stellar luminosity from first principles  (22 autograded points + 4 by hand; " \
           "functions: predict, compute_cost, compute_gradient_loop, compute_gradient, cost_grid, gradient_descent)" in lines


@pytest.mark.slow
def test_grade_an_invalid_submission_exits_0_with_a_table(capsys, course, tmp_path):
    (tmp_path / "s" / "amy" / "linreg").mkdir(parents=True)
    (tmp_path / "s" / "amy" / "linreg" / "linreg.ipynb").write_text("")
    code, out, err = run(capsys, "grade", "linreg", "--submissions", str(tmp_path / "s"), "--out",
                         str(tmp_path / "o"), "--course", str(course))
    assert code == 0
    assert "amy " in out and "0/22  invalid: linreg.ipynb is empty (0 bytes)" in out
    assert "[1/1] 1 not graded amy: invalid 0/22  (elapsed" in err
    assert (tmp_path / "o" / "grades.csv").is_file()


@pytest.mark.slow
def test_release_check(capsys):
    code, out, err = run(capsys, "release", "linreg", "--check", "--course", str(REPO))
    assert code == 0
    assert out == "release/linreg is current and leak-free (linreg.ipynb)\n"
