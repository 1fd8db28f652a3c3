"""Reference solution for Lab 3 (the cloud execution lab). Runs only in the grader's process."""

import numpy as np

M = np.array([0.6, 0.8, 1.0, 1.2, 1.4, 1.6, 1.8, 2.0, 2.2, 2.4])
T = np.array([3800, 4400, 5800, 6400, 6900, 7400, 7900, 8300, 8800, 9200], dtype=float)
L = np.array([0.15, 0.35, 1.00, 2.30, 4.10, 7.00, 11.2, 17.5, 25.0, 35.0])

MODELS = ("M1", "M2", "M3")


def build_features(M, T, model):
    M = np.asarray(M, dtype=float)
    T = np.asarray(T, dtype=float)
    columns = {"M1": [M, T], "M2": [M, T, M**2], "M3": [M, T, M**2, M * T]}
    if model not in columns:
        raise ValueError(f"unknown model {model!r}")
    return np.column_stack(columns[model])


def standardize(X):
    mu = X.mean(axis=0)
    sigma = X.std(axis=0)
    sigma = np.where(sigma == 0, 1.0, sigma)
    return (X - mu) / sigma, mu, sigma


def _cost(X, y, w, b):
    r = X @ w + b - y
    return float(r @ r / (2 * X.shape[0]))


def run_training(model, learning_rate, num_iters, seed):
    X_norm, _, _ = standardize(build_features(M, T, model))
    w = np.random.default_rng(seed).normal(0.0, 0.1, size=X_norm.shape[1])
    b = 0.0
    history = []
    for _ in range(int(num_iters)):
        r = X_norm @ w + b - L
        w = w - learning_rate * (X_norm.T @ r / X_norm.shape[0])
        b = b - learning_rate * float(r.mean())
        history.append(_cost(X_norm, L, w, b))
    return {"final_cost": history[-1], "w": w, "b": b, "J_history": history}


def hidden_parameters(rng):
    """The parameters the grader runs the notebook with: never the notebook's defaults."""
    return {"learning_rate": float(rng.choice([0.02, 0.05, 0.2, 0.3])),
            "num_iters": int(rng.integers(150, 700)),
            "model": str(rng.choice(MODELS)),
            "seed": int(rng.integers(1, 10_000))}


def leak_values():
    """Values only the reference computes; none may appear in the release."""
    run = run_training("M3", 0.1, 1000, 0)
    return {"default run's final cost": run["final_cost"], "default run's b": run["b"]}
