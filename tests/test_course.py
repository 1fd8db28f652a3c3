import pytest

from autograder.course import list_labs, load_lab
from autograder.errors import CourseError


def test_lab1_parts_kinds_and_points(course):
    lab = load_lab("linreg", course)
    assert lab.function_points() == {"plot_data": 2.0, "predict": 2.0, "compute_cost": 4.0,
                                     "compute_gradient_loop": 4.0, "compute_gradient": 4.0, "cost_grid": 3.0,
                                     "plot_cost_surface": 3.0, "gradient_descent": 5.0, "plot_convergence": 2.0,
                                     "compare_learning_rates": 3.0, "plot_fit": 2.0, "compliance": 2.0}
    assert [f.name for f in lab.coded] == ["predict", "compute_cost", "compute_gradient_loop", "compute_gradient",
                                           "cost_grid", "gradient_descent"]
    assert (lab.kind_of("plot_fit"), lab.kind_of("compare_learning_rates"), lab.kind_of("compliance")) == \
        ("figure", "experiment", "compliance")
    assert lab.max_score == 36.0
    assert lab.manual_points == 4.0
    assert lab.allowed_imports == ("numpy", "matplotlib", "math")
    assert list_labs(course) == ["linreg", "polyreg", "cloud"]


def test_unknown_lab_names_the_known_ones(course):
    with pytest.raises(CourseError, match=r"unknown lab 'nope' \(labs in this course: linreg, polyreg, cloud\)"):
        load_lab("nope", course)
