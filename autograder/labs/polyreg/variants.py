"""Equivalent variants of Lab 2: correct answers written differently from the reference, as
students write them. Each must score full marks (``autograder audit`` grades them through the
real path). They respect the notebook's contracts: ``predict``, ``compute_cost`` and
``compute_gradient`` are vectorized (no Python loop), ``gradient_descent`` calls the student's
own ``compute_gradient`` and ``compute_cost`` and does not change ``w_init`` in place.
"""

from autograder.diagnose import Variant

VARIANTS = [
    Variant("build_features", "dict_and_stack", '''
def build_features(M, T, model):
    """Return the design matrix (one row per star) of model 'M1', 'M2' or 'M3'."""
    M = np.asarray(M, dtype=float)
    T = np.asarray(T, dtype=float)
    features = {"M1": [M, T], "M2": [M, T, M ** 2], "M3": [M, T, M ** 2, M * T]}
    if model not in features:
        raise ValueError(f"unknown model: {model}")
    return np.stack(features[model], axis=1)
'''),
    Variant("build_features", "c_and_slice", '''
def build_features(M, T, model):
    """Return the design matrix (one row per star) of model 'M1', 'M2' or 'M3'."""
    n_columns = {"M1": 2, "M2": 3, "M3": 4}
    if model not in n_columns:
        raise ValueError("model must be 'M1', 'M2' or 'M3'")
    M = np.asarray(M).astype(float)
    T = np.asarray(T).astype(float)
    X = np.c_[M, T, M * M, M * T]
    return X[:, :n_columns[model]]
'''),
    Variant("build_features", "rows_in_a_loop", '''
def build_features(M, T, model):
    """Return the design matrix (one row per star) of model 'M1', 'M2' or 'M3'."""
    if model not in ("M1", "M2", "M3"):
        raise ValueError(model)
    rows = []
    for m_i, t_i in zip(M, T):
        row = [m_i, t_i]
        if model in ("M2", "M3"):
            row.append(m_i ** 2)
        if model == "M3":
            row.append(m_i * t_i)
        rows.append(row)
    return np.array(rows, dtype=float)
'''),
    Variant("standardize", "guard_by_mask", '''
def standardize(X):
    """Return (X_norm, mu, sigma): each column z-scored with its mean and population std."""
    X = np.asarray(X).astype(float)
    mu = X.mean(axis=0)
    sigma = X.std(axis=0, ddof=0)
    sigma[sigma == 0] = 1.0
    return (X - mu) / sigma, mu, sigma
'''),
    Variant("standardize", "column_loop", '''
def standardize(X):
    """Return (X_norm, mu, sigma): each column z-scored with its mean and population std."""
    X = np.array(X, dtype=float)
    m, n = X.shape
    X_norm = np.zeros((m, n))
    mu = np.zeros(n)
    sigma = np.ones(n)
    for j in range(n):
        column = X[:, j]
        mu[j] = column.sum() / m
        spread = np.sqrt(np.sum((column - mu[j]) ** 2) / m)
        if spread > 0:
            sigma[j] = spread
        X_norm[:, j] = (column - mu[j]) / sigma[j]
    return X_norm, mu, sigma
'''),
    Variant("predict", "np_dot", '''
def predict(X, w, b):
    """Return the prediction X @ w + b for every row of X."""
    return np.dot(np.asarray(X, float), np.asarray(w, float)) + b
'''),
    Variant("predict", "sum_of_products", '''
def predict(X, w, b):
    """Return the prediction X @ w + b for every row of X."""
    X = np.asarray(X).astype(float)
    return (X * np.asarray(w, dtype=float)).sum(axis=1) + b
'''),
    Variant("compute_cost", "mean_of_squares", '''
def compute_cost(X, y, w, b):
    """Return the squared-error cost J(w, b) with the 1/(2m) convention."""
    residual = predict(X, w, b) - y
    return float(np.mean(residual ** 2) / 2)
'''),
    Variant("compute_cost", "dot_of_residuals", '''
def compute_cost(X, y, w, b):
    """Return the squared-error cost J(w, b) with the 1/(2m) convention."""
    X = np.asarray(X, dtype=float)
    residual = X @ w + b - y
    return residual @ residual / (2 * len(y))
'''),
    Variant("compute_gradient", "transpose_dot", '''
def compute_gradient(X, y, w, b):
    """Return (dJ/dw, dJ/db): an array of shape (n,) and a float."""
    X = np.asarray(X, dtype=float)
    errors = X @ np.asarray(w, dtype=float) + b - np.asarray(y, dtype=float)
    m = len(errors)
    return np.dot(X.T, errors) / m, errors.sum() / m
'''),
    Variant("compute_gradient", "broadcast_mean_as_a_list", '''
def compute_gradient(X, y, w, b):
    """Return (dJ/dw, dJ/db): an array of shape (n,) and a float."""
    err = predict(X, w, b) - y
    return [(err[:, np.newaxis] * X).mean(axis=0), float(err.mean())]
'''),
    Variant("gradient_descent", "copy_then_in_place", '''
def gradient_descent(X, y, w_init, b_init, alpha, num_iters):
    """Run batch gradient descent; return (w, b, J_history)."""
    w = np.asarray(w_init, dtype=float).copy()
    b = b_init * 1.0
    history = []
    for _ in range(num_iters):
        grad_w, grad_b = compute_gradient(X, y, w, b)
        w -= alpha * grad_w
        b -= alpha * grad_b
        history.append(compute_cost(X, y, w, b))
    return w, b, history
'''),
    Variant("gradient_descent", "astype_tuple_update", '''
def gradient_descent(X, y, w_init, b_init, alpha, num_iters):
    """Run batch gradient descent; return (w, b, J_history)."""
    w, b = np.array(w_init).astype(float), float(b_init)
    J = []
    for i in range(num_iters):
        dw, db = compute_gradient(X, y, w, b)
        w, b = w - alpha * dw, b - alpha * db
        J = J + [compute_cost(X, y, w, b)]
    return (w, b, J)
'''),
    Variant("unscale_params", "loop_over_features", '''
def unscale_params(w_norm, b_norm, mu, sigma):
    """Return (w, b) in the original feature units."""
    w = np.zeros(len(w_norm))
    b = float(b_norm)
    for j in range(len(w_norm)):
        w[j] = w_norm[j] / sigma[j]
        b -= w_norm[j] * mu[j] / sigma[j]
    return w, b
'''),
    Variant("unscale_params", "divide_and_dot", '''
def unscale_params(w_norm, b_norm, mu, sigma):
    """Return (w, b) in the original feature units."""
    w = np.divide(w_norm, sigma, dtype=float)
    return w, float(b_norm) - float(np.dot(w, mu))
'''),
]
