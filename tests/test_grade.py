"""Grading Lab 1 end to end: real kernels, real papermill runs, the hidden suite."""

import csv
import json
import shutil

import nbformat
import pytest

from autograder.course import load_lab
from autograder.demo import build_submission, load_demo_class
from autograder.grade import grade_class
from autograder.report import write_class_grades
from autograder.labs.linreg.demo import STUDENTS

from conftest import FAST, grade_one

pytestmark = pytest.mark.slow

MAX = 36.0  # Lab 1's autograded points: 22 for the functions, 14 for the figures, experiments and compliance

RESULT_KEYS = {"schema", "student", "lab", "notebook", "status", "message", "score", "max_score",
               "manual_max_score", "seed", "functions", "tests", "execution", "notes", "grader_errors",
               "timings", "environment", "submission_sha256", "started_at", "finished_at", "config"}
TEST_KEYS = {"name", "function", "points", "max_points", "status", "message", "values", "seconds"}


def by_student(demo):
    return {r.student: r.to_json() for r in demo.grading.results}


def test_reference_scores_full_marks(demo):
    ada = by_student(demo)["ada"]
    assert ada["status"] == "graded" and ada["message"] == ""
    assert ada["score"] == ada["max_score"] == MAX
    assert all(t["status"] == "passed" for t in ada["tests"])


def test_blank_release_scores_zero_without_crashing(demo):
    dirac = by_student(demo)["dirac"]
    assert dirac["status"] == "graded"
    assert dirac["score"] == 0.0
    assert {t["status"] for t in dirac["tests"]} <= {"error", "failed"}
    first = next(t for t in dirac["tests"] if t["function"] == "predict")
    assert first["message"] == "predict raised NotImplementedError (line 4 of its cell)"
    plot = next(t for t in dirac["tests"] if t["function"] == "plot_data")
    assert plot["message"].startswith("your plot of the data: no figure was shown by its cell (plot_data)")


@pytest.mark.parametrize("student", [s for s, spec in STUDENTS.items() if isinstance(spec["loses"], dict)])
def test_each_seeded_mistake_loses_exactly_its_functions_points(demo, student):
    result = by_student(demo)[student]
    lost = {name: f["max_points"] - f["points"] for name, f in result["functions"].items()
            if f["points"] != f["max_points"]}
    assert lost == {k: float(v) for k, v in STUDENTS[student]["loses"].items()}
    assert result["score"] == MAX - sum(lost.values())


def test_failure_messages_speak_to_the_student(demo):
    results = by_student(demo)
    bohr = {t["name"]: t for t in results["bohr"]["tests"]}
    assert bohr["test_gradient_single_star_and_integers"]["message"] == (
        "compute_gradient([2], [5], w=1, b=1) (one star, integers)[0] (dj_dw) returned -8; expected -4 "
        "(exactly 2 times the expected value). This is the gradient of the 1/m cost (a factor 2/m): with the "
        "lab's 1/(2m) cost the derivative has 1/m, so your gradient is twice the expected value.")
    assert bohr["test_gradient_single_star_and_integers"]["diagnosis"]["mistake"] == "two_over_m"
    curie = {t["name"]: t for t in results["curie"]["tests"]}
    assert curie["test_cost_random"]["diagnosis"]["mistake"] == "one_over_m"
    euler = {t["name"]: t for t in results["euler"]["tests"]}
    assert euler["test_gradient_loop_single_star"]["message"] == (
        "compute_gradient_loop raised IndexError: index 1 is out of bounds for axis 0 with size 1 (line 6 of its cell)")
    fermi = {t["name"]: t for t in results["fermi"]["tests"]}
    assert fermi["test_gradient_loop_random"]["status"] == "timeout"
    assert fermi["test_gradient_loop_random"]["message"] == (
        "compute_gradient_loop did not return within 5 s (an infinite loop, or far too much work?)")
    assert fermi["test_gradient_loop_single_star"]["message"] == (
        "compute_gradient_loop did not return within 5 s in an earlier test; not called again")
    gauss = {t["name"]: t for t in results["gauss"]["tests"]}
    assert gauss["test_convergence_plot_shows_the_run"]["message"].startswith(
        "your convergence plot: no figure was shown by its cell (plot_convergence)")
    assert gauss["test_learning_rates_experiment"]["message"] == (
        "your learning-rate experiment: `rates` should hold at least three different positive learning rates; "
        "it holds [0.1]")
    hopper = {t["name"]: t for t in results["hopper"]["tests"]}
    assert "np.polyfit" in hopper["test_only_numpy_and_matplotlib"]["message"]
    assert hopper["test_plot_data_axes_are_labelled"]["message"] == (
        "your plot of the data has no x-axis label; label it (for example one that says 'mass')")


def test_never_ending_notebook_is_bounded_and_reported(demo):
    fermi = by_student(demo)["fermi"]
    kinds = [p["kind"] for p in fermi["execution"]["problems"]]
    assert "timeout" in kinds
    assert fermi["timings"]["execute"] < FAST.notebook_timeout + 10
    assert "ran out of time" in fermi["message"]


def test_result_json_schema(demo):
    for result in demo.grading.results:
        on_disk = json.loads((demo.grading.out / result.student / "linreg" / "result.json").read_text())
        assert set(on_disk) == RESULT_KEYS
        assert on_disk["seed"] == demo.grading.seed
        assert on_disk["max_score"] == MAX and on_disk["manual_max_score"] == 4.0
        assert len(on_disk["tests"]) == 31
        for test in on_disk["tests"]:
            assert set(test) - {"diagnosis"} == TEST_KEYS  # a diagnosis only where a named mistake explains a failure
            assert "diagnosis" not in test or (test["status"] != "passed" and set(test["diagnosis"]) == {"mistake", "text"})
            assert test["points"] in (0.0, test["max_points"])
        assert on_disk["score"] == sum(t["points"] for t in on_disk["tests"])
        assert set(on_disk["timings"]) >= {"load", "restore", "execute", "judge", "total"}
        assert on_disk["environment"]["numpy"] and on_disk["environment"]["python"]
        executed = nbformat.read(str(demo.grading.out / result.student / "linreg" / "linreg.ipynb"), as_version=4)
        assert any(c.get("outputs") for c in executed.cells if c.cell_type == "code")


def test_grades_csv_has_one_row_per_student(demo):
    rows = list(csv.DictReader(demo.grading.grades_csv.open()))
    assert [r["student"] for r in rows] == sorted(STUDENTS)
    ada = next(r for r in rows if r["student"] == "ada")
    assert (ada["score"], ada["max_score"], ada["gradient_descent"]) == ("36", "36", "5")
    bohr = next(r for r in rows if r["student"] == "bohr")
    assert (bohr["score"], bohr["compute_gradient"]) == ("32", "0")


def test_bad_files_become_result_rows_and_resume_skips_finished_work(course, tmp_path):
    lab = load_lab("linreg", course)
    subs = tmp_path / "submitted"
    good = subs / "good" / "linreg"
    good.mkdir(parents=True)
    nbformat.write(build_submission(lab, load_demo_class(lab)["ada"]["answers"]), str(good / "linreg.ipynb"))
    (subs / "broken" / "linreg").mkdir(parents=True)
    (subs / "broken" / "linreg" / "linreg.ipynb").write_text("not json")
    (subs / "absent" / "linreg").mkdir(parents=True)
    out = tmp_path / "out"

    first = grade_class("linreg", submissions=subs, out=out, seed=7, course_root=course, config=FAST)
    write_class_grades(first)
    rows = {r.student: r.to_json() for r in first.results}
    assert (rows["good"]["status"], rows["good"]["score"]) == ("graded", MAX)
    assert (rows["broken"]["status"], rows["broken"]["score"]) == ("invalid", 0.0)
    assert rows["broken"]["message"] == "linreg.ipynb is not valid JSON (line 1, column 1): was it saved from Jupyter?"
    assert (rows["absent"]["status"], rows["absent"]["message"]) == ("missing", "no linreg.ipynb was submitted")
    assert first.graded == 3 and first.reused == 0

    again = grade_class("linreg", submissions=subs, out=out, seed=8, course_root=course, config=FAST)
    assert again.reused == 3 and again.graded == 0
    assert {r.student: r.seed for r in again.results}["good"] == 7

    one = grade_class("linreg", submissions=subs, out=out, seed=9, student="good", force=True,
                      course_root=course, config=FAST)
    write_class_grades(one)
    assert [r.student for r in one.results] == ["good"] and one.graded == 1
    assert one.results[0].seed == 9 and one.results[0].score == MAX
    rows = list(csv.DictReader((out / "grades.csv").open()))
    assert sorted(r["student"] for r in rows) == ["absent", "broken", "good"]


def test_same_seed_same_values(course, demo, tmp_path):
    subs = tmp_path / "submitted"
    shutil.copytree(demo.submissions / "curie", subs / "curie")
    again = grade_class("linreg", submissions=subs, out=tmp_path / "out", seed=demo.grading.seed,
                        course_root=course, config=FAST)
    first = by_student(demo)["curie"]
    second = again.results[0].to_json()
    assert [t["values"] for t in second["tests"]] == [t["values"] for t in first["tests"]]
    assert [t["message"] for t in second["tests"]] == [t["message"] for t in first["tests"]]


def test_reference_module_itself_scores_full_marks(course, tmp_path):
    """The hidden suite agrees with the reference: its own functions, pasted into the answer cells
    (the figures and experiments left as the source solution draws them), get full marks."""
    import inspect

    from autograder.judge import load_reference

    lab = load_lab("linreg", course)
    reference = load_reference(lab)
    answers = {f.name: inspect.getsource(getattr(reference, f.name)) for f in lab.coded}
    result = grade_one(course, tmp_path, "linreg", answers)
    assert [t["name"] for t in result["tests"] if t["status"] != "passed"] == []
    assert result["score"] == MAX


def test_results_identical_whatever_the_number_of_workers(course, demo, tmp_path):
    subs = tmp_path / "submitted"
    for student in ("ada", "bohr", "euler"):
        shutil.copytree(demo.submissions / student, subs / student)
    runs = {}
    for workers, prewarm in ((1, False), (1, True), (2, True)):
        config = type(FAST)(**{**FAST.__dict__, "workers": workers, "prewarm": prewarm})
        graded = grade_class("linreg", submissions=subs, out=tmp_path / f"out{workers}{prewarm}", seed=11,
                             course_root=course, config=config)
        runs[(workers, prewarm)] = [(r["student"], r["score"], [(t["name"], t["status"], t["points"], t["message"],
                                                                t["values"]) for t in r["tests"]])
                                    for r in (g.to_json() for g in graded.results)]
    first = runs[(1, False)]
    assert [score for _, score, _ in first] == [MAX, 32.0, 32.0]
    assert runs[(1, True)] == first
    assert runs[(2, True)] == first


def test_a_grader_fault_mid_run_keeps_the_notebook_as_far_as_it_ran(course, tmp_path, monkeypatch):
    """The engine keeps the running notebook in memory (no file per cell); when the grader fails
    part-way, what ran is still written beside the grader_error result for the instructor."""
    from autograder.grade import grade_submission
    from autograder.kernel.session import KernelSession
    from autograder.load import find_submissions

    lab = load_lab("linreg", course)
    folder = tmp_path / "submitted" / "amy" / "linreg"
    folder.mkdir(parents=True)
    nbformat.write(build_submission(lab, {}), str(folder / lab.notebook))
    calls, real = [], KernelSession.clear_strays

    def failing(self):
        calls.append(1)
        if len(calls) == 6:  # once the sixth code cell has run: a bug of the grader, not of the notebook
            raise ValueError("injected grader fault")
        return real(self)

    monkeypatch.setattr(KernelSession, "clear_strays", failing)
    [sub] = find_submissions(tmp_path / "submitted", lab, None, None)
    result, reused = grade_submission(sub, lab=lab, out=tmp_path / "out", config=FAST, seed=1)
    assert (result.status, result.message, reused) == ("grader_error", "ValueError: injected grader fault", False)
    kept = tmp_path / "out" / "amy" / "linreg"
    assert sorted(p.name for p in kept.iterdir()) == ["linreg.ipynb", "result.json"]  # no .partial left
    cells = [c for c in nbformat.read(str(kept / "linreg.ipynb"), as_version=4).cells if c.cell_type == "code"]
    ran = [c for c in cells if c.get("execution_count")]
    assert len(ran) == 6 and ran == cells[:6]  # what ran, with its outputs; nothing after
