"""Equivalent variants of Lab 1: correct answers written differently from the reference, as
students write them. Each must score full marks (``autograder audit`` grades them through the
real path). They respect the notebook's contracts: ``compute_gradient_loop`` loops,
``compute_gradient`` does not; pairs may come back as tuples or lists, costs as Python or numpy
floats.
"""

from autograder.diagnose import Variant

VARIANTS = [
    Variant("predict", "list_comprehension", '''
def predict(x, w, b):
    """Return the model's prediction w*x + b for every element of x."""
    return np.array([w * x_i + b for x_i in x], dtype=float)
'''),
    Variant("predict", "astype_then_vectorized", '''
def predict(x, w, b):
    """Return the model's prediction w*x + b for every element of x."""
    x = np.asarray(x).astype(float)
    f_wb = x * w + b
    return f_wb
'''),
    Variant("compute_cost", "mean_of_squares", '''
def compute_cost(x, y, w, b):
    """Return the squared-error cost J(w, b) with the 1/(2m) convention."""
    errors = predict(x, w, b) - np.asarray(y, dtype=float)
    return float(np.mean(errors ** 2) / 2)
'''),
    Variant("compute_cost", "python_loop", '''
def compute_cost(x, y, w, b):
    """Return the squared-error cost J(w, b) with the 1/(2m) convention."""
    m = len(x)
    total = 0.0
    for i in range(m):
        f_wb_i = w * x[i] + b
        total = total + (f_wb_i - y[i]) ** 2
    return total / (2 * m)
'''),
    Variant("compute_cost", "dot_of_residuals", '''
def compute_cost(x, y, w, b):
    """Return the squared-error cost J(w, b) with the 1/(2m) convention."""
    r = w * np.asarray(x, float) + b - np.asarray(y, float)
    return r @ r / (2 * r.size)
'''),
    Variant("compute_gradient_loop", "zip_loop", '''
def compute_gradient_loop(x, y, w, b):
    """Return (dJ/dw, dJ/db), accumulated with an explicit loop over the examples."""
    m = len(x)
    sum_w, sum_b = 0.0, 0.0
    for x_i, y_i in zip(x, y):
        error = w * x_i + b - y_i
        sum_w += error * x_i
        sum_b += error
    return sum_w / m, sum_b / m
'''),
    Variant("compute_gradient_loop", "list_of_errors", '''
def compute_gradient_loop(x, y, w, b):
    """Return (dJ/dw, dJ/db), accumulated with an explicit loop over the examples."""
    errors = []
    for i in range(len(x)):
        errors.append(float(w * x[i] + b - y[i]))
    dj_dw = sum(e * float(x_i) for e, x_i in zip(errors, x)) / len(errors)
    dj_db = sum(errors) / len(errors)
    return [dj_dw, dj_db]
'''),
    Variant("compute_gradient", "matmul_and_mean", '''
def compute_gradient(x, y, w, b):
    """Return (dJ/dw, dJ/db) computed with vectorized numpy operations."""
    x = np.asarray(x, float)
    residual = w * x + b - np.asarray(y, float)
    return (residual @ x) / x.size, residual.mean()
'''),
    Variant("compute_gradient", "means_as_a_list", '''
def compute_gradient(x, y, w, b):
    """Return (dJ/dw, dJ/db) computed with vectorized numpy operations."""
    x = np.asarray(x).astype(float)
    y = np.asarray(y).astype(float)
    diff = predict(x, w, b) - y
    return [np.mean(diff * x), np.mean(diff)]
'''),
    Variant("cost_grid", "rows_of_lists", '''
def cost_grid(x, y, w_values, b_values):
    """Return J evaluated on the grid: grid[i, j] = J(w_values[j], b_values[i])."""
    rows = []
    for b in b_values:
        rows.append([compute_cost(x, y, w, b) for w in w_values])
    return np.array(rows, dtype=float)
'''),
    Variant("cost_grid", "index_loops", '''
def cost_grid(x, y, w_values, b_values):
    """Return J evaluated on the grid: grid[i, j] = J(w_values[j], b_values[i])."""
    n_b, n_w = len(b_values), len(w_values)
    J = np.zeros((n_b, n_w), dtype=float)
    for i in range(n_b):
        for j in range(n_w):
            J[i, j] = compute_cost(x, y, w_values[j], b_values[i])
    return J
'''),
    Variant("cost_grid", "meshgrid", '''
def cost_grid(x, y, w_values, b_values):
    """Return J evaluated on the grid: grid[i, j] = J(w_values[j], b_values[i])."""
    W, B = np.meshgrid(w_values, b_values)
    grid = np.empty(W.shape)
    for index in np.ndindex(W.shape):
        grid[index] = compute_cost(x, y, W[index], B[index])
    return grid
'''),
    Variant("gradient_descent", "tuple_update", '''
def gradient_descent(x, y, w_init, b_init, alpha, num_iters):
    """Run batch gradient descent; return (w, b, J_history)."""
    w = float(w_init)
    b = float(b_init)
    costs = []
    for iteration in range(num_iters):
        grad_w, grad_b = compute_gradient(x, y, w, b)
        w, b = w - alpha * grad_w, b - alpha * grad_b
        costs += [compute_cost(x, y, w, b)]
    return w, b, costs
'''),
    Variant("gradient_descent", "while_loop_returns_a_list", '''
def gradient_descent(x, y, w_init, b_init, alpha, num_iters):
    """Run batch gradient descent; return (w, b, J_history)."""
    w, b = w_init, b_init
    J_history = []
    k = 0
    while k < num_iters:
        gradient = compute_gradient(x, y, w, b)
        w = w - alpha * gradient[0]
        b = b - alpha * gradient[1]
        J_history.append(compute_cost(x, y, w, b))
        k += 1
    return [w, b, J_history]
'''),
]
