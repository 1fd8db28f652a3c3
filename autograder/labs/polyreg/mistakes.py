"""Named mistakes of Lab 2: what students of this assignment really write, and what the
feedback says when a failed hidden test is explained by one (``autograder.diagnose``).

Each source is a whole answer cell as a student would write it. It runs with ``np``, the
reference's other functions and the lab's data (``M``, ``T``, ``L``) in scope.
"""

from autograder.diagnose import Mistake

MISTAKES = [
    Mistake(
        "build_features", "unknown_model_keyerror",
        "An unknown model name should raise ValueError; this raises KeyError, as a dictionary lookup does. "
        "Check the name and raise ValueError yourself.",
        "raised KeyError for an unknown model",
        '''
def build_features(M, T, model):
    columns = {"M1": [M, T], "M2": [M, T, M ** 2], "M3": [M, T, M ** 2, M * T]}
    return np.column_stack(columns[model])
'''),
    Mistake(
        "build_features", "unknown_model_none",
        "An unknown model name should raise ValueError; this returns None (an if/elif chain with no else). "
        "Add an else that raises ValueError.",
        "returned None for an unknown model",
        '''
def build_features(M, T, model):
    if model == "M1":
        return np.column_stack([M, T])
    elif model == "M2":
        return np.column_stack([M, T, M ** 2])
    elif model == "M3":
        return np.column_stack([M, T, M ** 2, M * T])
'''),
    Mistake(
        "build_features", "columns_as_rows",
        "This is what you get with the features as rows (np.array([M, T, ...]), shape (n, m)): the design "
        "matrix has one row per star, np.column_stack([...]).",
        "built the matrix transposed (features as rows)",
        '''
def build_features(M, T, model):
    if model == "M1":
        return np.array([M, T])
    if model == "M2":
        return np.array([M, T, M ** 2])
    if model == "M3":
        return np.array([M, T, M ** 2, M * T])
    raise ValueError(model)
'''),
    Mistake(
        "standardize", "sample_std",
        "This is what you get with the sample standard deviation (ddof=1, dividing by m - 1): the lab asks for "
        "the population one, np.std's default (ddof=0).",
        "used the sample std (ddof=1)",
        '''
def standardize(X):
    mu = np.mean(X, axis=0)
    sigma = np.std(X, axis=0, ddof=1)
    sigma = np.where(sigma == 0, 1.0, sigma)
    return (X - mu) / sigma, mu, sigma
'''),
    Mistake(
        "standardize", "no_constant_guard",
        "A constant column has sigma = 0, and dividing by it gives NaN: use sigma = 1 for such a column "
        "(np.where(sigma == 0, 1.0, sigma)) and return that 1.",
        "no guard for a constant column (NaN)",
        '''
def standardize(X):
    mu = np.mean(X, axis=0)
    sigma = np.std(X, axis=0)
    return (X - mu) / sigma, mu, sigma
'''),
    Mistake(
        "standardize", "whole_matrix",
        "This is what you get with one mean and one std over the whole matrix: each column needs its own, "
        "np.mean(X, axis=0) and np.std(X, axis=0).",
        "used one mean and std for the whole matrix",
        '''
def standardize(X):
    mu = np.mean(X)
    sigma = np.std(X)
    return (X - mu) / sigma, mu, sigma
'''),
    Mistake(
        "standardize", "not_standardized",
        "The columns came back unscaled: subtract each column's mean and divide by its standard deviation.",
        "returned X unscaled",
        '''
def standardize(X):
    X = np.asarray(X, dtype=float)
    return X, np.zeros(X.shape[1]), np.ones(X.shape[1])
'''),
    Mistake(
        "predict", "no_bias",
        "This is what you get when the bias is left out: the prediction is X @ w + b.",
        "left out the bias b",
        '''
def predict(X, w, b):
    return X @ w
'''),
    Mistake(
        "predict", "sum_all",
        "This is what you get when X * w is summed over the whole matrix: each row needs its own sum, "
        "X @ w (or np.sum(X * w, axis=1)), one prediction per star.",
        "summed X * w over the whole matrix",
        '''
def predict(X, w, b):
    return np.sum(X * w) + b
'''),
    Mistake(
        "compute_cost", "one_over_m",
        "This is what you get with 1/m instead of 1/(2m) in front of the sum (the mean squared error): "
        "your cost is twice the expected value. The lab's cost keeps the 1/2.",
        "used 1/m instead of 1/(2m)",
        '''
def compute_cost(X, y, w, b):
    m = X.shape[0]
    return np.sum((X @ w + b - y) ** 2) / m
'''),
    Mistake(
        "compute_gradient", "two_over_m",
        "This is the gradient of the 1/m cost (a factor 2/m): with the lab's 1/(2m) cost the derivative has 1/m, "
        "so your gradient is twice the expected value.",
        "used 2/m (the gradient of a 1/m cost)",
        '''
def compute_gradient(X, y, w, b):
    m = X.shape[0]
    err = X @ w + b - y
    return 2 * X.T @ err / m, 2 * np.sum(err) / m
'''),
    Mistake(
        "compute_gradient", "global_m",
        "This is what you get when the gradient divides by the number of stars in the lab's data (len(M) = 10) "
        "instead of the m of the X it was given (X.shape[0]).",
        "divided by len(M) instead of X.shape[0]",
        '''
def compute_gradient(X, y, w, b):
    m = len(M)
    err = X @ w + b - y
    return X.T @ err / m, np.sum(err) / m
'''),
    Mistake(
        "compute_gradient", "sign",
        "This is what you get with the error written y - f(x): the gradient then has the opposite sign. "
        "The error in the formula is f(x) - y.",
        "used y - f(x) (sign flipped)",
        '''
def compute_gradient(X, y, w, b):
    m = X.shape[0]
    err = y - (X @ w + b)
    return X.T @ err / m, np.sum(err) / m
'''),
    Mistake(
        "gradient_descent", "cost_before_update",
        "This is what you get when the cost is recorded before w and b are updated: J_history[i] must be the "
        "cost after update i, so append it after the update.",
        "recorded the cost before the update",
        '''
def gradient_descent(X, y, w_init, b_init, alpha, num_iters):
    w, b = np.array(w_init, dtype=float), float(b_init)
    J_history = []
    for _ in range(num_iters):
        J_history.append(compute_cost(X, y, w, b))
        dj_dw, dj_db = compute_gradient(X, y, w, b)
        w = w - alpha * dj_dw
        b = b - alpha * dj_db
    return w, b, J_history
'''),
    Mistake(
        "gradient_descent", "ignores_initial_values",
        "This is what you get when gradient descent always starts from zero: start from the w_init and b_init "
        "it is given.",
        "ignored w_init and b_init (started at 0)",
        '''
def gradient_descent(X, y, w_init, b_init, alpha, num_iters):
    w, b = np.zeros(X.shape[1]), 0.0
    J_history = []
    for _ in range(num_iters):
        dj_dw, dj_db = compute_gradient(X, y, w, b)
        w = w - alpha * dj_dw
        b = b - alpha * dj_db
        J_history.append(compute_cost(X, y, w, b))
    return w, b, J_history
'''),
    Mistake(
        "gradient_descent", "history_of_pairs",
        "J_history here holds (iteration, cost) pairs: it should hold the costs alone, one number per iteration.",
        "recorded (iteration, cost) pairs",
        '''
def gradient_descent(X, y, w_init, b_init, alpha, num_iters):
    w, b = np.array(w_init, dtype=float), float(b_init)
    J_history = []
    for i in range(num_iters):
        dj_dw, dj_db = compute_gradient(X, y, w, b)
        w = w - alpha * dj_dw
        b = b - alpha * dj_db
        J_history.append((i, compute_cost(X, y, w, b)))
    return w, b, J_history
'''),
    Mistake(
        "unscale_params", "not_unscaled",
        "These are still the weights of the standardized features: divide each by its sigma, and shift b by "
        "the sum of w_j * mu_j / sigma_j.",
        "returned the standardized weights unchanged",
        '''
def unscale_params(w_norm, b_norm, mu, sigma):
    return w_norm, b_norm
'''),
    Mistake(
        "unscale_params", "bias_not_shifted",
        "The weights are right but the bias was not shifted: b = b_norm - sum(w_norm * mu / sigma).",
        "left the bias unshifted",
        '''
def unscale_params(w_norm, b_norm, mu, sigma):
    return w_norm / sigma, b_norm
'''),
    Mistake(
        "unscale_params", "multiplied_by_sigma",
        "This is what you get when the weights are multiplied by sigma: going back to physical units divides "
        "by it, w_j = w_norm_j / sigma_j.",
        "multiplied by sigma instead of dividing",
        '''
def unscale_params(w_norm, b_norm, mu, sigma):
    w = w_norm * sigma
    return w, b_norm - np.sum(w * mu)
'''),
]
