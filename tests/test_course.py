import pytest

from autograder.course import list_labs, load_lab
from autograder.errors import CourseError


def test_lab1_functions_and_points(course):
    lab = load_lab("linreg", course)
    assert lab.function_points() == {"predict": 2.0, "compute_cost": 4.0, "compute_gradient_loop": 4.0,
                                     "compute_gradient": 4.0, "cost_grid": 3.0, "gradient_descent": 5.0}
    assert lab.max_score == 22.0
    assert lab.manual_points == 4.0
    assert list_labs(course) == ["linreg", "polyreg", "cloud"]


def test_unknown_lab_names_the_known_ones(course):
    with pytest.raises(CourseError, match=r"unknown lab 'nope' \(labs in this course: linreg, polyreg, cloud\)"):
        load_lab("nope", course)
