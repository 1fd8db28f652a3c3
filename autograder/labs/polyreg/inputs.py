"""Random inputs for ``autograder audit``'s equivalence check of Lab 2: one generator per graded
function, ``draw(rng) -> args``, within each function's written contract (the notebook's
instructions): design matrices of one or more rows and one or more features, float or integer,
constant columns for ``standardize``, integer initial weights, unknown model names (which must
raise ValueError), small learning rates and a diverging one. A mutant that agrees with the
reference on every draw is reported as likely equivalent.
"""

import numpy as np

MODELS = ("M1", "M2", "M3")
UNKNOWN_MODELS = ("M4", "M0", "m1", "quadratic", "")


def _m(rng):
    return 1 if rng.random() < 0.15 else int(rng.integers(2, 11))


def _n(rng):
    return 1 if rng.random() < 0.15 else int(rng.integers(2, 5))


def _integer(rng):
    return rng.random() < 0.3


def _matrix(rng, m, n):
    if _integer(rng):
        return rng.integers(-5, 10, size=(m, n))
    return rng.uniform(-3.0, 3.0, size=(m, n))


def _vector(rng, n, scale=3.0):
    if _integer(rng):
        return rng.integers(-4, 5, size=n)
    return rng.normal(0.0, scale, size=n)


def _scalar(rng):
    return int(rng.integers(-4, 5)) if _integer(rng) else float(rng.normal(0.0, 3.0))


def _stars(rng):
    m = _m(rng)
    if _integer(rng):
        M, T = rng.integers(1, 4, size=m), rng.integers(3000, 12000, size=m)
    else:
        M, T = rng.uniform(0.3, 3.0, size=m), rng.uniform(3000.0, 12000.0, size=m)
    model = str(rng.choice(UNKNOWN_MODELS)) if rng.random() < 0.15 else str(rng.choice(MODELS))
    return M, T, model


def _standardize(rng):
    m, n = _m(rng), _n(rng)
    X = _matrix(rng, m, n)
    if X.dtype.kind == "f":
        X = X * 10.0 ** rng.uniform(-1, 3, size=n)  # columns of different scales
    if rng.random() < 0.3:
        # A constant column, of a whole number so that its mean is exact and its std exactly 0.
        X[:, int(rng.integers(0, n))] = int(rng.integers(-3, 8))
    return (X,)


def _problem(rng):
    m, n = _m(rng), _n(rng)
    return _matrix(rng, m, n), _vector(rng, m), _vector(rng, n), _scalar(rng)


def _descent(rng):
    X, y, w_init, b_init = _problem(rng)
    alpha = float(rng.choice([0.001, 0.01, 0.02, 0.05])) if rng.random() < 0.9 else 1.0  # 1.0 diverges
    return X, y, w_init, b_init, alpha, int(rng.integers(1, 25))


def _unscale(rng):
    n = _n(rng)
    sigma = 10.0 ** rng.uniform(-1, 3, size=n)
    if rng.random() < 0.3:
        sigma[int(rng.integers(0, n))] = 1.0  # a constant column's sigma
    return _vector(rng, n), _scalar(rng), _vector(rng, n, scale=100.0), sigma


INPUTS = {
    "build_features": _stars,
    "standardize": _standardize,
    "predict": lambda rng: (lambda X, y, w, b: (X, w, b))(*_problem(rng)),
    "compute_cost": _problem,
    "compute_gradient": _problem,
    "gradient_descent": _descent,
    "unscale_params": _unscale,
}
