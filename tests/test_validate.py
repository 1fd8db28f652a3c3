"""`autograder validate`: the student's check, visible tests only."""

import nbformat
import pytest

from autograder.cli import main
from autograder.course import load_lab
from autograder.demo import build_submission, load_demo_class

pytestmark = pytest.mark.slow


def write(lab, answers, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(build_submission(lab, answers), str(path))
    return path


def test_validate_reports_each_function(course, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("AUTOGRADER_CELL_TIMEOUT", "5")
    lab = load_lab("linreg", course)
    demo = load_demo_class(lab)
    path = write(lab, demo["bohr"]["answers"], tmp_path / "linreg.ipynb")
    code = main(["validate", str(path), "--course", str(course)])
    out = capsys.readouterr().out.splitlines()
    assert code == 1
    assert out[0] == "linreg.ipynb: Lab 1: Stellar luminosity from first principles"
    assert out[4] == "  compute_gradient       FAILED  AssertionError: compute_gradient and compute_gradient_loop disagree"
    assert out[1] == "  predict                ok"
    assert out[-1] == ("5 of 6 functions pass their visible checks. These are sanity checks; "
                       "the grade comes from hidden tests.")


def test_validate_blank_and_full(course, tmp_path, capsys):
    lab = load_lab("linreg", course)
    blank = write(lab, None, tmp_path / "blank" / "linreg.ipynb")
    assert main(["validate", str(blank), "--course", str(course)]) == 1
    out = capsys.readouterr().out
    assert "  predict                not attempted  NotImplementedError" in out
    full = write(lab, {}, tmp_path / "full" / "linreg.ipynb")
    assert main(["validate", str(full), "--course", str(course)]) == 0
    assert "6 of 6 functions pass" in capsys.readouterr().out


def test_validate_bad_file(course, tmp_path, capsys):
    path = tmp_path / "linreg.ipynb"
    path.write_text("{")
    assert main(["validate", str(path), "--lab", "linreg", "--course", str(course)]) == 2
    assert capsys.readouterr().err == ("autograder: error: linreg.ipynb is not valid JSON (line 1, column 2): "
                                       "was it saved from Jupyter?\n")
