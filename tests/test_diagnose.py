"""Named mistakes (``autograder.diagnose``): the comparison of outcomes, the diagnosis of a failed
test, and every named mistake of Labs 1 and 2 graded through the real path: it loses its
function's points and no others, and a failed test's message ends with its diagnosis."""

import nbformat
import numpy as np
import pytest

from autograder.cells import grade_id
from autograder.course import load_lab
from autograder.diagnose import Call, Raised, compile_function, diagnose, load_mistakes, load_variants, same
from autograder.judge import load_reference


def test_same_compares_outcomes_as_a_student_would_be_judged():
    assert same(1.0, 1.0 + 1e-9) and not same(1.0, 1.01)
    assert same(float("nan"), float("nan")) and not same(float("nan"), 0.0)
    assert same((1.0, np.array([1.0, 2.0])), [1.0, np.array([1.0, 2.0])])  # a tuple and a list alike
    assert not same(np.array([1, 2]), np.array([1.0, 2.0]))  # an integer result is not a float one
    assert not same(np.zeros((2, 3)), np.zeros((3, 2)))
    assert same(Raised("KeyError"), Raised("KeyError")) and not same(Raised("KeyError"), Raised("ValueError"))
    assert not same(Raised("NotImplementedError"), np.array([1.0, 2.0]))  # an unattempted stub against a value
    assert not same(np.array([1.0, 2.0]), Raised("NotImplementedError"))
    assert same(None, None) and not same(None, 0.0)
    assert same(np.float64(2.0), np.array(2.0)) and not same([1.0, 2.0], np.array([1.0, 2.0]))


def test_diagnose_names_the_mistake_that_reproduces_the_failure(course):
    lab = load_lab("linreg", course)
    ref = load_reference(lab)
    mistakes = load_mistakes(lab)
    x, y = np.array([1.0, 2.0, 4.0]), np.array([2.0, 1.0, 0.5])
    doubled = 2 * ref.compute_cost(x, y, 0.5, -1.0)
    found = diagnose([Call("compute_cost", (x, y, 0.5, -1.0), doubled)], "compute_cost", mistakes, ref)
    assert found.name == "one_over_m" and found.summary == "used 1/m instead of 1/(2m)"
    # Right answers, answers no named mistake gives, and other functions' calls explain nothing.
    assert diagnose([Call("compute_cost", (x, y, 0.5, -1.0), ref.compute_cost(x, y, 0.5, -1.0))],
                    "compute_cost", mistakes, ref) is None
    assert diagnose([Call("compute_cost", (x, y, 0.5, -1.0), 3 * doubled)], "compute_cost", mistakes, ref) is None
    assert diagnose([Call("predict", (x, 0.5, -1.0), 3 * doubled)], "compute_cost", mistakes, ref) is None
    # A mistake must reproduce every differing call, not just one of them.
    x2 = np.array([3.0, 1.0])
    calls = [Call("compute_cost", (x, y, 0.5, -1.0), doubled),
             Call("compute_cost", (x2, x2, 1.0, 1.0), 7.0)]
    assert diagnose(calls, "compute_cost", mistakes, ref) is None


def test_a_mistake_runs_with_the_references_other_functions_and_the_labs_data(course):
    lab = load_lab("linreg", course)
    ref = load_reference(lab)
    mistake = next(m for m in load_mistakes(lab) if (m.function, m.name) == ("compute_gradient", "global_m"))
    wrong = compile_function(mistake.source, "compute_gradient", ref)
    x, y = np.array([1.0, 2.0]), np.array([0.0, 0.0])
    assert wrong(x, y, 1.0, 0.0) == pytest.approx((5.0 / 10, 3.0 / 10))  # divided by len(M) = 10


@pytest.mark.parametrize("lab_name", ["linreg", "polyreg"])
def test_every_mistake_and_variant_names_a_graded_function_once(course, lab_name):
    lab = load_lab(lab_name, course)
    functions = {f.name for f in lab.coded}
    mistakes = load_mistakes(lab)
    assert {m.function for m in mistakes} == functions  # every function has at least one
    assert len({(m.function, m.name) for m in mistakes}) == len(mistakes)
    for m in mistakes:
        assert m.diagnosis.endswith(".") and m.summary and f"def {m.function}(" in m.source
    assert all(v.function in functions for v in load_variants(lab))


def _graded_mistakes(course, sampled_audit, lab_name):
    """Each named mistake, graded as a student's answer: the lab's sampled audit (shared with
    test_audit) writes one candidate notebook per mistake and keeps what grading made of it."""
    from autograder.audit import MISTAKE, _student

    run = sampled_audit(lab_name)
    lab = load_lab(lab_name, course)
    mistakes = {f"{m.function}-{m.name}": m for m in load_mistakes(lab)}
    by_student = run.results(lab_name)
    results, crashed = {}, {}  # crashed: per mistake, the graded parts whose own answer cell raised while it ran
    for key, m in mistakes.items():
        student = _student(MISTAKE, m.function, m.name)
        results[key] = r = by_student[student]
        executed = run.kept / "autograded" / student / lab_name / lab.notebook
        cells = nbformat.read(str(executed), as_version=4).cells if executed.is_file() else []
        crashed[key] = {grade_id(cells[p["cell"]]) for p in r.execution.get("problems", [])
                        if p.get("kind") == "error" and 0 <= p.get("cell", -1) < len(cells)}
    return results, mistakes, crashed, {f.name for f in lab.coded}


@pytest.fixture(scope="module")
def graded_linreg(course, sampled_audit):
    return _graded_mistakes(course, sampled_audit, "linreg")


@pytest.fixture(scope="module")
def graded_polyreg(course, sampled_audit):
    return _graded_mistakes(course, sampled_audit, "polyreg")


def _check(graded, key):
    results, mistakes, crashed, functions = graded
    result, mistake = results[key], mistakes[key]
    assert result.graded, result.message
    lost = {name for name, score in result.functions.items() if score.points < score.max_points}
    # Only its function, or also the plots and experiments downstream of an experiment cell that
    # could not run with it (a build_features of the wrong shape makes the training cell raise:
    # there are no fits to judge). No other function ever pays for it, and nothing else does when
    # every cell ran.
    assert mistake.function in lost, f"{key} cost {lost}"
    others = lost - {mistake.function}
    broke = crashed[key] - functions - {f"test_{name}" for name in functions} - {f"test_{p}" for p in others}
    assert not others & functions and (not others or broke), f"{key} cost {lost}; cells that raised: {crashed[key]}"
    failed = result.failed_tests(mistake.function)
    named = [t for t in failed if t.diagnosis]
    assert named, [t.message for t in failed]
    for test in named:
        assert test.diagnosis == {"mistake": mistake.name, "text": mistake.diagnosis}
        assert test.message.endswith(". " + mistake.diagnosis)
        assert not test.message.startswith(mistake.diagnosis)  # what was expected and what came back come first


def _keys(lab_name):
    return [f"{m.function}-{m.name}" for m in load_mistakes(load_lab(lab_name))]


@pytest.mark.slow
@pytest.mark.parametrize("key", _keys("linreg"))
def test_each_linreg_mistake_is_caught_named_and_costs_only_its_function(graded_linreg, key):
    _check(graded_linreg, key)


@pytest.mark.slow
@pytest.mark.parametrize("key", _keys("polyreg"))
def test_each_polyreg_mistake_is_caught_named_and_costs_only_its_function(graded_polyreg, key):
    _check(graded_polyreg, key)


@pytest.mark.slow
def test_the_exact_message_of_a_diagnosed_test(graded_linreg):
    results = graded_linreg[0]
    cost = {t.name: t for t in results["compute_cost-one_over_m"].tests}
    assert cost["test_cost_single_star_and_integers"].message == (
        "compute_cost([2], [7], w=3, b=0) (one star, integers) returned 1; expected 0.5 (exactly 2 times the "
        "expected value). This is what you get with 1/m instead of 1/(2m) in front of the sum (the mean squared "
        "error): your cost is twice the expected value. The lab's cost keeps the 1/2.")
    grid = {t.name: t for t in results["cost_grid-integer_grid"].tests}
    assert grid["test_cost_grid_integer_axes"].status == "failed"
    assert grid["test_cost_grid_integer_axes"].diagnosis["mistake"] == "integer_grid"
    assert grid["test_cost_grid_values"].passed and grid["test_cost_grid_shape"].passed
