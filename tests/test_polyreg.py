"""Lab 2 (polyreg) end to end: its release, its demo class graded in real kernels, its reference."""

import csv
import inspect
import json
import shutil

import nbformat
import pytest

from autograder.cli import main
from autograder.course import load_lab
from autograder.demo import build_submission, run_demo
from autograder.judge import load_reference
from autograder.labs.polyreg.demo import STUDENTS
from autograder.release import find_leaks

from conftest import FAST, REPO, grade_one

pytestmark = pytest.mark.slow

MAX_SCORE = 34.0
FUNCTIONS = {"build_features": 3.0, "standardize": 3.0, "predict": 2.0, "compute_cost": 2.0, "compute_gradient": 3.0,
             "gradient_descent": 4.0, "unscale_params": 3.0}
# The rubric's plots and experiments, and the allowed-libraries check, in notebook order with the functions.
POINTS = {"plot_data": 2.0, "build_features": 3.0, "standardize": 3.0, "predict": 2.0, "compute_cost": 2.0,
          "compute_gradient": 3.0, "gradient_descent": 4.0, "train_models": 3.0, "plot_convergence": 2.0,
          "unscale_params": 3.0, "interaction_sweep": 3.0, "predict_new_star": 2.0, "compliance": 2.0}
KINDS = {"plot_data": "figure", "train_models": "experiment", "plot_convergence": "figure",
         "interaction_sweep": "experiment", "predict_new_star": "experiment", "compliance": "compliance"}


@pytest.fixture(scope="module")
def polyreg_demo(course, tmp_path_factory):
    return run_demo(lab_name="polyreg", out=tmp_path_factory.mktemp("polyreg"), course_root=course, config=FAST)


def by_student(demo):
    return {r.student: r.to_json() for r in demo.grading.results}


def messages(result):
    return {t["name"]: t["message"] for t in result["tests"]}


def test_lab_functions_and_points():
    lab = load_lab("polyreg", REPO)
    assert lab.function_points() == POINTS and list(lab.function_points()) == list(POINTS)
    assert {f.name: f.points for f in lab.coded} == FUNCTIONS
    assert {name: lab.kind_of(name) for name in POINTS if lab.kind_of(name) != "function"} == KINDS
    assert lab.max_score == MAX_SCORE and lab.manual_points == 4.0


def test_committed_release_is_current_and_leak_free(polyreg_demo):
    # run_demo released the lab in a copy of the course taken from the repository: nbgrader's
    # output passed the leak check and equals the committed release/polyreg.
    assert polyreg_demo.release.notebooks == ["polyreg.ipynb"]
    assert polyreg_demo.release.changed is False


def test_leak_check_guards_the_reference_values(tmp_path):
    """The fitted costs and the new star's luminosity are only the reference's: the release check finds them."""
    lab = load_lab("polyreg", REPO)
    values = load_reference(lab).leak_values()
    assert set(values) == {f"final cost of {m}" for m in ("M1", "M2", "M3")} | {
        f"predicted luminosity of the new star ({m})" for m in ("M1", "M2", "M3")}
    release = tmp_path / "release"
    shutil.copytree(REPO / "release" / "polyreg", release)
    assert find_leaks(lab, release) == []
    nb = nbformat.read(str(release / "polyreg.ipynb"), as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell(
        f"M3 ends at {values['final cost of M3']:.4f}; the new star shines at "
        f"{values['predicted luminosity of the new star (M3)']:.5g} L_sun."))
    nbformat.write(nb, str(release / "polyreg.ipynb"))
    problems = find_leaks(lab, release)
    last = len(nb.cells) - 1
    assert f"polyreg.ipynb cell {last}: the reference's final cost of M3 ({values['final cost of M3']:.4f})" in problems
    assert any("the reference's predicted luminosity of the new star (M3)" in p for p in problems)


def test_full_marks(polyreg_demo):
    ada = by_student(polyreg_demo)["ada"]
    assert ada["status"] == "graded" and ada["message"] == ""
    assert ada["score"] == ada["max_score"] == MAX_SCORE
    assert ada["manual_max_score"] == 4.0
    assert all(t["status"] == "passed" for t in ada["tests"])
    assert {name: f["max_points"] for name, f in ada["functions"].items()} == POINTS


def test_blank_release_scores_zero_without_crashing(polyreg_demo):
    dirac = by_student(polyreg_demo)["dirac"]
    assert dirac["status"] == "graded"
    assert dirac["score"] == 0.0
    assert {t["status"] for t in dirac["tests"]} <= {"error", "failed"}
    first = next(t for t in dirac["tests"] if t["function"] == "build_features")
    assert first["message"] == "build_features raised NotImplementedError (line 4 of its cell)"
    assert messages(dirac)["test_only_numpy_and_matplotlib"].startswith("nothing to check yet")


@pytest.mark.parametrize("student", [s for s, spec in STUDENTS.items() if isinstance(spec["loses"], dict)])
def test_each_seeded_mistake_loses_exactly_its_functions_points(polyreg_demo, student):
    result = by_student(polyreg_demo)[student]
    assert result["status"] == "graded"
    lost = {name: f["max_points"] - f["points"] for name, f in result["functions"].items()
            if f["points"] != f["max_points"]}
    assert lost == {k: float(v) for k, v in STUDENTS[student]["loses"].items()}
    assert result["score"] == MAX_SCORE - sum(lost.values())


def test_failure_messages_speak_to_the_student(polyreg_demo):
    results = by_student(polyreg_demo)
    single_row = messages(results["bohr"])["test_standardize_single_row_constant_column_and_integers"]
    assert single_row == (
        "standardize(X) for a single row (m = 1: every column is constant, so sigma should be 1)[1] (mu): "
        "element [0] is 0; expected 1.5 (2 other elements also differ). The columns came back unscaled: subtract "
        "each column's mean and divide by its standard deviation.")
    single_row = messages(results["curie"])["test_standardize_single_row_constant_column_and_integers"]
    assert single_row == (
        "standardize(X) for a single row (m = 1: every column is constant, so sigma should be 1)[2] (sigma): "
        "element [0] is NaN; expected 1 (2 other elements also differ). This is what you get with the sample "
        "standard deviation (ddof=1, dividing by m - 1): the lab asks for the population one, np.std's default "
        "(ddof=0).")
    assert messages(results["curie"])["test_standardize_random"].startswith("standardize(X)[2] (sigma): element [0] is ")
    assert messages(results["euler"])["test_build_features_single_star_integers_and_unknown_model"] == (
        "build_features([2], [5000], 'M3') (one star, integers): element [0, 2] is 10000; expected 4 "
        "(1 other element also differs)")
    assert messages(results["gauss"])["test_build_features_single_star_integers_and_unknown_model"] == (
        "build_features(M, T, 'M4') returned an array of shape (10, 2); an unknown model should raise ValueError")
    assert messages(results["fermi"])["test_unscale_on_the_stars"].startswith(
        "unscale_params(w_norm, b_norm, mu, sigma) with the stars' M3 mu and sigma[0] (w): element [0] is ")
    assert messages(results["hopper"])["test_only_numpy_and_matplotlib"] == (
        "cell 41 (predict_new_star), line 6 imports sklearn.linear_model: scikit-learn is not allowed in this lab. "
        "Write it with numpy, matplotlib, math only, as the lab asks")
    assert messages(results["lovelace"])["test_new_star_has_a_prediction_per_model"] == (
        "your prediction for the new star: L_new is not defined: the notebook asks you to leave this result in a "
        "variable named `L_new`; run the cell that sets it")
    assert messages(results["noether"])["test_convergence_plot_axes_and_log_scale"] == (
        "your convergence plot's y axis is on a linear scale; use a log scale (the costs span several orders of "
        "magnitude) (ax.set_yscale('log'))")


def test_experiments_are_judged_on_the_students_own_functions(polyreg_demo):
    """bohr's standardize returns the raw features, so his fits diverge: standardize loses its
    points, and the sweep and the new star, computed as asked from those fits, lose none."""
    bohr = by_student(polyreg_demo)["bohr"]
    assert {name: f["points"] for name, f in bohr["functions"].items()
            if name in ("train_models", "interaction_sweep", "predict_new_star")} == \
        {"train_models": 3.0, "interaction_sweep": 3.0, "predict_new_star": 2.0}


def test_results_and_grades_csv(polyreg_demo):
    for result in polyreg_demo.grading.results:
        on_disk = json.loads((polyreg_demo.grading.out / result.student / "polyreg" / "result.json").read_text())
        assert on_disk["max_score"] == MAX_SCORE and on_disk["seed"] == polyreg_demo.grading.seed
        assert len(on_disk["tests"]) == 30
        assert on_disk["score"] == sum(t["points"] for t in on_disk["tests"])
    rows = list(csv.DictReader(polyreg_demo.grading.grades_csv.open()))
    assert [r["student"] for r in rows] == sorted(STUDENTS)
    euler = next(r for r in rows if r["student"] == "euler")
    assert (euler["score"], euler["build_features"], euler["standardize"]) == ("31", "0", "3")


def test_reference_module_itself_scores_full_marks(course, tmp_path):
    """The hidden suite agrees with the reference: its own functions, pasted into the answer
    cells (the plots and experiments as the source solution writes them), get full marks."""
    lab = load_lab("polyreg", course)
    reference = load_reference(lab)
    answers = {f.name: inspect.getsource(getattr(reference, f.name)) for f in lab.coded}
    result = grade_one(course, tmp_path, "polyreg", answers)
    assert result["execution"]["problems"] == []
    assert [t["name"] for t in result["tests"] if t["status"] != "passed"] == []
    assert result["score"] == MAX_SCORE


def test_validate_the_full_notebook(course, tmp_path, capsys):
    lab = load_lab("polyreg", course)
    path = tmp_path / "polyreg.ipynb"
    nbformat.write(build_submission(lab, {}), str(path))
    assert main(["validate", str(path), "--course", str(course)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "polyreg.ipynb: Lab 2: Luminosity from mass and temperature"
    assert "13 of 13 parts pass their visible checks" in out
