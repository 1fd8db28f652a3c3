"""Equivalent variants of Lab 3: correct ``run_training`` answers written differently from the
reference, as students write them. Each must score full marks (``autograder audit`` grades them
through the real path). The notebook fixes the run itself (the toolkit's functions, that exact
``w_init``), so they differ in how they get there and in the form of the metrics it allows
("``w`` ... a list or array").
"""

from autograder.diagnose import Variant

VARIANTS = [
    Variant("run_training", "metrics_built_stepwise", '''
def run_training(model, learning_rate, num_iters, seed):
    """Train `model` on the stars with these hyper-parameters; return its metrics."""
    features = build_features(M, T, model)
    X_norm = standardize(features)[0]
    rng = np.random.default_rng(seed)
    w_start = rng.normal(0.0, 0.1, size=features.shape[1])
    w, b, history = gradient_descent(X_norm, L, w_start, 0.0, learning_rate, int(num_iters))
    metrics = {}
    metrics["w"] = list(w)
    metrics["b"] = float(b)
    metrics["J_history"] = list(history)
    metrics["final_cost"] = float(history[-1])
    return metrics
'''),
    Variant("run_training", "dict_call_and_arrays", '''
def run_training(model, learning_rate, num_iters, seed):
    """Train `model` on the stars with these hyper-parameters; return its metrics."""
    X_norm, _, _ = standardize(build_features(M, T, model))
    n_features = X_norm.shape[1]
    w_init = np.random.default_rng(seed).normal(0.0, 0.1, size=n_features)
    w_final, b_final, J_history = gradient_descent(X_norm, L, w_init, 0.0, learning_rate, num_iters)
    return dict(final_cost=float(J_history[-1]), w=np.asarray(w_final).tolist(), b=b_final,
                J_history=np.array(J_history))
'''),
]
