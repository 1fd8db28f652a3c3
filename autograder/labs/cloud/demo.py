"""The demo class for Lab 3, with the points each submission must lose."""

IGNORES_ITS_ARGUMENTS = '''
def run_training(model, learning_rate, num_iters, seed):
    """Train `model` on the stars with these hyper-parameters; return its metrics."""
    # Mistake: the values that worked once are baked in; the arguments are ignored.
    X = build_features(M, T, "M3")
    X_norm, mu, sigma = standardize(X)
    w_init = np.random.default_rng(0).normal(0.0, 0.1, size=X.shape[1])
    w, b, J_history = gradient_descent(X_norm, L, w_init, 0.0, 0.1, 1000)
    return {"final_cost": J_history[-1], "w": w, "b": b, "J_history": J_history}
'''

HARD_CODED_RESULTS = '''
def run_training(model, learning_rate, num_iters, seed):
    """Train `model` on the stars with these hyper-parameters; return its metrics."""
    # Mistake: pasted the numbers from one local run instead of training.
    return {"final_cost": 0.1234, "w": [9.1, 2.3, 4.4, -1.2], "b": 10.5, "J_history": [0.1234] * num_iters}
'''

# A cell the student adds after the parameters cell: the launcher's values are overwritten.
OVERRIDE_CELL = "learning_rate = 0.1  # mistake: re-set after the parameters cell\nnum_iters = 1000"

STUDENTS = {
    "ada": {"about": "full marks", "answers": {}, "loses": {}},
    "dirac": {"about": "unattempted", "answers": None, "loses": "all"},
    "hopper": {"about": "ignores its arguments", "answers": {"run_training": IGNORES_ITS_ARGUMENTS},
               "loses": {"run_training": 6}},
    "noether": {"about": "hard-coded results", "answers": {"run_training": HARD_CODED_RESULTS},
                "loses": {"run_training": 6}},
    "pauli": {"about": "overrides its parameters", "answers": {}, "insert_after": {"data": OVERRIDE_CELL},
              "loses": {"run_training": 3}},
}
