"""The checks hidden suites use: messages in a student's terms."""

import numpy as np
import pytest

from autograder import suite
from autograder.suite import Mismatch, expect_array, expect_number, expect_pair, expect_sequence


def message(fn, *args, **kw):
    with pytest.raises(Mismatch) as info:
        fn(*args, **kw)
    return str(info.value)


def test_number_off_by_factor_two():
    assert message(expect_number, "compute_cost(x, y, w, b)", 12.5, 6.25) == \
        "compute_cost(x, y, w, b) returned 12.5; expected 6.25 (exactly 2 times the expected value)"


def test_number_none_and_array():
    assert message(expect_number, "compute_cost", None, 1.0) == \
        "compute_cost returned None; expected a single number (a float)"
    assert message(expect_number, "compute_cost", np.array([1.0]), 1.0) == \
        "compute_cost returned an array of shape (1,); expected a single number (a float)"


def test_number_complex_is_a_mismatch_not_a_grader_fault():
    """A complex result (from the square root of a negative, say) is the student's to hear about."""
    assert message(expect_number, "dj_dw", 1 + 2j, 1.0) == \
        "dj_dw returned the complex number (1+2j); expected a single number (a float)"
    assert message(expect_number, "dj_dw", np.complex128(3j), 1.0) == \
        "dj_dw returned the complex number 3j; expected a single number (a float)"


def test_number_nan():
    assert message(expect_number, "J", float("nan"), 2.0) == "J returned NaN; expected 2"


def test_number_accepts_numpy_scalars_and_zero_d():
    assert expect_number("J", np.float64(2.0), 2.0) == 2.0
    assert expect_number("J", np.array(2.0), 2.0) == 2.0
    assert expect_number("J", 3, 3.0) == 3.0


def test_array_shape_and_element():
    assert message(expect_array, "predict(x, w, b)", np.zeros((3, 1)), np.zeros(3)) == \
        "predict(x, w, b) returned an array of shape (3, 1); expected shape (3,)"
    got = np.array([1.0, 2.0, 9.0, 4.0])
    assert message(expect_array, "predict(x, w, b)", got, [1.0, 2.0, 3.0, 4.0]) == \
        "predict(x, w, b): element [2] is 9; expected 3"
    assert message(expect_array, "predict", [1.0], [1.0]) == \
        "predict returned a list of 1 items; expected a numpy array of shape (1,)"


def test_array_ratio_hint_and_count():
    assert message(expect_array, "grid", np.array([[2.0, 4.0], [6.0, 8.0]]), [[1.0, 2.0], [3.0, 4.0]]) == \
        "grid: element [0, 0] is 2; expected 1 (3 other elements also differ) (exactly 2 times the expected value)"


def test_pair_and_sequence():
    assert message(expect_pair, "compute_gradient", (1.0, 2.0, 3.0), ("dj_dw", "dj_db")) == \
        "compute_gradient returned a tuple of 3 items; expected a pair (dj_dw, dj_db)"
    assert message(expect_pair, "f", None) == "f returned None; expected a pair of two values"
    assert message(expect_sequence, "J_history", [1.0, 2.0], 3) == \
        "J_history has 2 entries; expected 3 (one per iteration)"
    assert list(expect_sequence("J_history", [np.float64(1.0), 2], 2)) == [1.0, 2.0]


def test_compared_values_are_recorded():
    suite._compared = []
    try:
        expect_number("J", 1.0, 1.0)
        expect_array("big", np.arange(100.0), np.arange(100.0))
        recorded = suite._compared
    finally:
        suite._compared = None
    assert recorded[0] == {"label": "J", "got": 1.0, "expected": 1.0, "ok": True}
    assert recorded[1]["got"]["size"] == 100 and recorded[1]["got"]["max"] == 99.0
