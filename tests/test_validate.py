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
    assert out[5] == "  compute_gradient        FAILED  AssertionError: compute_gradient and compute_gradient_loop disagree"
    assert out[1] == "  plot_data               ok"
    assert out[2] == "  predict                 ok"
    assert out[-1] == ("11 of 12 parts pass their visible checks. These are sanity checks; "
                       "the grade comes from hidden tests.")


def test_validate_runs_the_visible_figure_and_compliance_checks(course, tmp_path, capsys, monkeypatch):
    """A missing figure, an unlabelled axis and a fitting routine are told to the student before
    they submit, in the words the hidden tests use."""
    monkeypatch.setenv("AUTOGRADER_CELL_TIMEOUT", "5")
    lab = load_lab("linreg", course)
    demo = load_demo_class(lab)
    answers = {**demo["gauss"]["answers"], **demo["hopper"]["answers"]}
    path = write(lab, answers, tmp_path / "linreg.ipynb")
    assert main(["validate", str(path), "--course", str(course)]) == 1
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[1:-1]}
    assert rows["plot_data"] == "  plot_data               FAILED  its figure has no x-axis label"
    assert rows["plot_convergence"] == ("  plot_convergence        FAILED  its cell showed no figure "
                                        "(draw it there and call plt.show())")
    assert rows["compare_learning_rates"].endswith("rates should hold at least three different learning rates, got [0.1]")
    assert rows["compliance"] == ("  compliance              FAILED  cell 33 (plot_fit), line 2 uses np.polyfit: "
                                  "np.polyfit fits the polynomial for you")
    assert rows["plot_fit"].endswith("  ok") and rows["plot_cost_surface"].endswith("  ok")


def test_validate_blank_and_full(course, tmp_path, capsys):
    lab = load_lab("linreg", course)
    blank = write(lab, None, tmp_path / "blank" / "linreg.ipynb")
    assert main(["validate", str(blank), "--course", str(course)]) == 1
    out = capsys.readouterr().out
    assert "  predict                 not attempted  NotImplementedError" in out
    assert "  plot_data               not attempted  still raises NotImplementedError" in out
    assert "  compliance              not attempted  nothing to check yet: no answer cell is written" in out
    assert "0 of 12 parts pass" in out
    full = write(lab, {}, tmp_path / "full" / "linreg.ipynb")
    assert main(["validate", str(full), "--course", str(course)]) == 0
    assert "12 of 12 parts pass" in capsys.readouterr().out


def test_validate_bad_file(course, tmp_path, capsys):
    path = tmp_path / "linreg.ipynb"
    path.write_text("{")
    assert main(["validate", str(path), "--lab", "linreg", "--course", str(course)]) == 2
    assert capsys.readouterr().err == ("autograder: error: linreg.ipynb is not valid JSON (line 1, column 2): "
                                       "was it saved from Jupyter?\n")
