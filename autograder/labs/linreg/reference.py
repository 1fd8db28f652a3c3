"""Reference numpy solution for Lab 1 (linear regression).

Runs only in the grader's own process: never sent to a student kernel, never released.
"""

import numpy as np

# The ten stars of the lab: mass in solar masses, luminosity in solar luminosities.
M = np.array([0.6, 0.8, 1.0, 1.2, 1.4, 1.6, 1.8, 2.0, 2.2, 2.4])
L = np.array([0.15, 0.35, 1.00, 2.30, 4.10, 7.00, 11.2, 17.5, 25.0, 35.0])

# The hyper-parameters the notebook's final fit uses (see the source notebook).
FINAL_ALPHA = 0.1
FINAL_ITERS = 10_000


def predict(x, w, b):
    return w * np.asarray(x, dtype=float) + b


def compute_cost(x, y, w, b):
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    err = predict(x, w, b) - y
    return float(np.sum(err**2) / (2 * x.shape[0]))


def compute_gradient_loop(x, y, w, b):
    m = len(x)
    dj_dw = dj_db = 0.0
    for i in range(m):
        err = w * float(x[i]) + b - float(y[i])
        dj_dw += err * float(x[i])
        dj_db += err
    return dj_dw / m, dj_db / m


def compute_gradient(x, y, w, b):
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    err = predict(x, w, b) - y
    m = x.shape[0]
    return float(np.dot(err, x) / m), float(np.sum(err) / m)


def gradient_descent(x, y, w_init, b_init, alpha, num_iters):
    w, b = float(w_init), float(b_init)
    history = []
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(num_iters):
            dj_dw, dj_db = compute_gradient(x, y, w, b)
            w = w - alpha * dj_dw
            b = b - alpha * dj_db
            history.append(compute_cost(x, y, w, b))
    return w, b, history


def cost_grid(x, y, w_values, b_values):
    w_values = np.asarray(w_values, dtype=float)
    b_values = np.asarray(b_values, dtype=float)
    grid = np.empty((b_values.shape[0], w_values.shape[0]))
    for i, b in enumerate(b_values):
        for j, w in enumerate(w_values):
            grid[i, j] = compute_cost(x, y, w, b)
    return grid


def leak_values():
    """Values only the reference computes; none of them may appear in a release."""
    w, b, history = gradient_descent(M, L, 0.0, 0.0, FINAL_ALPHA, FINAL_ITERS)
    return {"final w": w, "final b": b, "final cost": history[-1]}
