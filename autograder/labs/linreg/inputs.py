"""Random inputs for ``autograder audit``'s equivalence check of Lab 1: one generator per graded
function, ``draw(rng) -> args``, within each function's written contract (the notebook's
instructions): 1-D arrays of one or more stars, float or integer (the hidden suite gives
integer arrays too), scalar parameters that may be integers, integer grid axes, small learning
rates and a diverging one. A mutant that agrees with the reference on every draw is reported
as likely equivalent.
"""

import numpy as np


def _m(rng):
    return 1 if rng.random() < 0.15 else int(rng.integers(2, 13))


def _vector(rng, m):
    if rng.random() < 0.3:
        return rng.integers(-5, 10, size=m)
    return rng.uniform(-3.0, 5.0, size=m)


def _scalar(rng):
    if rng.random() < 0.3:
        return int(rng.integers(-4, 5))
    return float(rng.normal(0.0, 3.0))


def _data(rng):
    m = _m(rng)
    return _vector(rng, m), _vector(rng, m)


def _axis(rng):
    n = int(rng.integers(1, 6))
    if rng.random() < 0.3:
        return np.sort(rng.integers(-4, 6, size=n))
    return np.sort(rng.uniform(-4.0, 6.0, size=n))


def _descent(rng):
    x, y = _data(rng)
    alpha = float(rng.choice([0.001, 0.01, 0.02, 0.05])) if rng.random() < 0.9 else 1.5  # 1.5 diverges
    return x, y, _scalar(rng), _scalar(rng), alpha, int(rng.integers(1, 30))


def _point(rng):
    x, y = _data(rng)
    return x, y, _scalar(rng), _scalar(rng)


INPUTS = {
    "predict": lambda rng: (_vector(rng, _m(rng)), _scalar(rng), _scalar(rng)),
    "compute_cost": _point,
    "compute_gradient_loop": _point,
    "compute_gradient": _point,
    "cost_grid": lambda rng: (*_data(rng), _axis(rng), _axis(rng)),
    "gradient_descent": _descent,
}
