"""Reference numpy solution for Lab 2 (polynomial regression with an interaction feature).

Runs only in the grader's own process: never sent to a student kernel, never released. Each
graded function is self-contained (numpy and the other graded functions only), so its source can
be pasted into the notebook's answer cell as it is (the project's tests do exactly that).
"""

import numpy as np

# The ten stars of Labs 1 and 2: mass in solar masses, luminosity in solar luminosities,
# effective temperature in kelvin.
M = np.array([0.6, 0.8, 1.0, 1.2, 1.4, 1.6, 1.8, 2.0, 2.2, 2.4])
L = np.array([0.15, 0.35, 1.00, 2.30, 4.10, 7.00, 11.2, 17.5, 25.0, 35.0])
T = np.array([3800, 4400, 5800, 6400, 6900, 7400, 7900, 8300, 8800, 9200])

MODELS = ("M1", "M2", "M3")

# What the notebook's fits use (see the source notebook): standardized features, zero start.
FINAL_ALPHA = 0.4
FINAL_ITERS = 20_000
NEW_STAR = (1.3, 6600.0)  # mass [M_sun], temperature [K]


def build_features(M, T, model):
    M = np.asarray(M)
    T = np.asarray(T)
    if model == "M1":
        columns = [M, T]
    elif model == "M2":
        columns = [M, T, M ** 2]
    elif model == "M3":
        columns = [M, T, M ** 2, M * T]
    else:
        raise ValueError(f"unknown model {model!r}: expected 'M1', 'M2' or 'M3'")
    return np.column_stack(columns)


def standardize(X):
    X = np.asarray(X, dtype=float)
    mu = X.mean(axis=0)
    sigma = X.std(axis=0)  # population standard deviation (ddof=0)
    sigma = np.where(sigma == 0, 1.0, sigma)  # a constant column: leave it centred, not divided by 0
    return (X - mu) / sigma, mu, sigma


def predict(X, w, b):
    return np.asarray(X, dtype=float) @ np.asarray(w, dtype=float) + b


def compute_cost(X, y, w, b):
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    err = predict(X, w, b) - y
    return float(np.sum(err ** 2) / (2 * X.shape[0]))


def compute_gradient(X, y, w, b):
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    m = X.shape[0]
    err = predict(X, w, b) - y
    return X.T @ err / m, float(np.sum(err) / m)


def gradient_descent(X, y, w_init, b_init, alpha, num_iters):
    w = np.array(w_init, dtype=float)
    b = float(b_init)
    history = []
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(num_iters):
            dj_dw, dj_db = compute_gradient(X, y, w, b)
            w = w - alpha * dj_dw
            b = b - alpha * dj_db
            history.append(compute_cost(X, y, w, b))
    return w, b, history


def unscale_params(w_norm, b_norm, mu, sigma):
    w_norm = np.asarray(w_norm, dtype=float)
    mu = np.asarray(mu, dtype=float)
    sigma = np.asarray(sigma, dtype=float)
    w = w_norm / sigma
    return w, float(b_norm - np.sum(w * mu))


def fit(model):
    """The notebook's fit of ``model``: standardized features, gradient descent from zero."""
    X_norm, mu, sigma = standardize(build_features(M, T, model))
    w, b, history = gradient_descent(X_norm, L, np.zeros(X_norm.shape[1]), 0.0, FINAL_ALPHA, FINAL_ITERS)
    return w, b, history, mu, sigma


def leak_values():
    """Values only the reference computes; none of them may appear in a release."""
    values = {}
    for model in MODELS:
        w_norm, b_norm, history, mu, sigma = fit(model)
        w, b = unscale_params(w_norm, b_norm, mu, sigma)
        star = build_features(np.array([NEW_STAR[0]]), np.array([NEW_STAR[1]]), model)
        values[f"final cost of {model}"] = history[-1]
        values[f"predicted luminosity of the new star ({model})"] = float(predict(star, w, b)[0])
    return values
