"""Lab 3: graded with hidden papermill parameters; ignoring them or hard-coding results fails."""

import inspect

import pytest

from autograder.course import load_lab
from autograder.demo import run_demo
from autograder.judge import hidden_parameters, load_reference
from autograder.labs.cloud.demo import STUDENTS

from conftest import FAST, grade_one

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cloud_demo(course, tmp_path_factory):
    return run_demo(lab_name="cloud", out=tmp_path_factory.mktemp("cloud"), course_root=course, config=FAST)


def rows(demo):
    return {r.student: r.to_json() for r in demo.grading.results}


@pytest.mark.parametrize("student", sorted(STUDENTS))
def test_each_submission_loses_exactly_its_points(cloud_demo, student):
    result = rows(cloud_demo)[student]
    assert result["status"] == "graded"
    loses = STUDENTS[student]["loses"]
    expected = 0.0 if loses == "all" else 6.0 - sum(loses.values())
    assert result["score"] == expected


def test_hidden_parameters_are_recorded_and_never_the_defaults(cloud_demo):
    params = rows(cloud_demo)["ada"]["execution"]["parameters"]
    assert set(params) == {"learning_rate", "num_iters", "model", "seed"}
    assert params["learning_rate"] != 0.1 and params["num_iters"] != 1000
    assert params == hidden_parameters(load_lab("cloud"), cloud_demo.grading.seed)


def test_override_message_names_the_parameter(cloud_demo):
    pauli = rows(cloud_demo)["pauli"]["tests"][0]
    launched = rows(cloud_demo)["pauli"]["execution"]["parameters"]["learning_rate"]
    assert pauli["message"] == (f"the notebook ran with learning_rate = 0.1 although it was launched with {launched!r}: "
                                "a cell after the parameters cell overrides it")


def test_reference_scores_full_marks(course, tmp_path):
    lab = load_lab("cloud", course)
    reference = load_reference(lab)
    toolkit = "\n\n".join(inspect.getsource(getattr(reference, n))
                          for n in ("build_features", "standardize", "_cost"))
    toolkit += "\n\n" + inspect.getsource(reference.run_training)
    result = grade_one(course, tmp_path, "cloud", {"toolkit": "", "run_training": toolkit})
    assert [t["message"] for t in result["tests"]] == ["", ""]
    assert result["score"] == 6.0
