"""Named mistakes of Lab 1: what students of this assignment really write, and what the
feedback says when a failed hidden test is explained by one (``autograder.diagnose``).

Each source is a whole answer cell as a student would write it. It runs with ``np``, the
reference's other functions and the lab's data (``M``, ``L``) in scope.
"""

from autograder.diagnose import Mistake

MISTAKES = [
    Mistake(
        "predict", "no_bias",
        "This is what you get when the bias is left out: the model's prediction is w * x + b.",
        "left out the bias b",
        '''
def predict(x, w, b):
    return w * x
'''),
    Mistake(
        "predict", "integer_prediction",
        "This is what you get when the predictions are stored in np.zeros_like(x) of an integer x: each one is "
        "truncated to a whole number. Compute w * x + b directly, or preallocate floats.",
        "preallocated integer predictions (truncated)",
        '''
def predict(x, w, b):
    f = np.zeros_like(x)
    for i in range(len(x)):
        f[i] = w * x[i] + b
    return f
'''),
    Mistake(
        "compute_cost", "one_over_m",
        "This is what you get with 1/m instead of 1/(2m) in front of the sum (the mean squared error): "
        "your cost is twice the expected value. The lab's cost keeps the 1/2.",
        "used 1/m instead of 1/(2m)",
        '''
def compute_cost(x, y, w, b):
    m = x.shape[0]
    return np.sum((w * x + b - y) ** 2) / m
'''),
    Mistake(
        "compute_cost", "global_m",
        "This is what you get when the cost divides by the number of stars in the lab's data (len(M) = 10) "
        "instead of the m of the x it was given.",
        "divided by len(M) instead of len(x)",
        '''
def compute_cost(x, y, w, b):
    m = len(M)
    return np.sum((w * x + b - y) ** 2) / (2 * m)
'''),
    Mistake(
        "compute_cost", "no_square",
        "This is what you get when the errors are summed without squaring them: square each error "
        "(f(x) - y)**2 before summing.",
        "summed the errors without squaring",
        '''
def compute_cost(x, y, w, b):
    m = x.shape[0]
    return np.sum(w * x + b - y) / (2 * m)
'''),
    Mistake(
        "compute_gradient_loop", "two_over_m",
        "This is the gradient of the 1/m cost (a factor 2/m): with the lab's 1/(2m) cost the derivative has 1/m, "
        "so your gradient is twice the expected value.",
        "used 2/m (the gradient of a 1/m cost)",
        '''
def compute_gradient_loop(x, y, w, b):
    m = len(x)
    dj_dw = dj_db = 0.0
    for i in range(m):
        err = w * x[i] + b - y[i]
        dj_dw += err * x[i]
        dj_db += err
    return 2 * dj_dw / m, 2 * dj_db / m
'''),
    Mistake(
        "compute_gradient_loop", "not_divided",
        "This is what you get when the sums are not divided by m: the gradient is the mean over the stars, "
        "so divide both sums by m.",
        "forgot to divide by m",
        '''
def compute_gradient_loop(x, y, w, b):
    dj_dw = dj_db = 0.0
    for i in range(len(x)):
        err = w * x[i] + b - y[i]
        dj_dw += err * x[i]
        dj_db += err
    return dj_dw, dj_db
'''),
    Mistake(
        "compute_gradient_loop", "sign",
        "This is what you get with the error written y - f(x): the gradient then has the opposite sign. "
        "The error in the formula is f(x) - y.",
        "used y - f(x) (sign flipped)",
        '''
def compute_gradient_loop(x, y, w, b):
    m = len(x)
    dj_dw = dj_db = 0.0
    for i in range(m):
        err = y[i] - (w * x[i] + b)
        dj_dw += err * x[i]
        dj_db += err
    return dj_dw / m, dj_db / m
'''),
    Mistake(
        "compute_gradient", "two_over_m",
        "This is the gradient of the 1/m cost (a factor 2/m): with the lab's 1/(2m) cost the derivative has 1/m, "
        "so your gradient is twice the expected value.",
        "used 2/m (the gradient of a 1/m cost)",
        '''
def compute_gradient(x, y, w, b):
    m = x.shape[0]
    err = w * x + b - y
    return 2 * np.dot(err, x) / m, 2 * np.sum(err) / m
'''),
    Mistake(
        "compute_gradient", "global_m",
        "This is what you get when the gradient divides by the number of stars in the lab's data (len(M) = 10) "
        "instead of the m of the x it was given.",
        "divided by len(M) instead of len(x)",
        '''
def compute_gradient(x, y, w, b):
    m = len(M)
    err = w * x + b - y
    return np.dot(err, x) / m, np.sum(err) / m
'''),
    Mistake(
        "compute_gradient", "sign",
        "This is what you get with the error written y - f(x): the gradient then has the opposite sign. "
        "The error in the formula is f(x) - y.",
        "used y - f(x) (sign flipped)",
        '''
def compute_gradient(x, y, w, b):
    m = x.shape[0]
    err = y - (w * x + b)
    return np.dot(err, x) / m, np.sum(err) / m
'''),
    Mistake(
        "compute_gradient", "swapped",
        "This is what you get when the pair is returned the wrong way round: return (dj_dw, dj_db), "
        "the derivative for w first.",
        "returned (dj_db, dj_dw)",
        '''
def compute_gradient(x, y, w, b):
    m = x.shape[0]
    err = w * x + b - y
    return np.sum(err) / m, np.dot(err, x) / m
'''),
    Mistake(
        "cost_grid", "integer_grid",
        "This is what you get when the grid is preallocated from integer axes (np.zeros_like of an integer "
        "array): each cost is then truncated to a whole number. Preallocate a float array, "
        "np.zeros((len(b_values), len(w_values))).",
        "preallocated an integer grid (costs truncated)",
        '''
def cost_grid(x, y, w_values, b_values):
    grid = np.zeros_like(np.outer(b_values, w_values))
    for i, b in enumerate(b_values):
        for j, w in enumerate(w_values):
            grid[i, j] = compute_cost(x, y, w, b)
    return grid
'''),
    Mistake(
        "cost_grid", "transposed",
        "This is what you get with rows following w and columns following b: grid[i, j] must be "
        "J(w_values[j], b_values[i]), one row per b.",
        "rows follow w instead of b",
        '''
def cost_grid(x, y, w_values, b_values):
    grid = np.zeros((len(w_values), len(b_values)))
    for i, w in enumerate(w_values):
        for j, b in enumerate(b_values):
            grid[i, j] = compute_cost(x, y, w, b)
    return grid
'''),
    Mistake(
        "gradient_descent", "cost_before_update",
        "This is what you get when the cost is recorded before w and b are updated: J_history[i] must be the "
        "cost after update i, so append it after the update.",
        "recorded the cost before the update",
        '''
def gradient_descent(x, y, w_init, b_init, alpha, num_iters):
    w, b = w_init, b_init
    J_history = []
    for _ in range(num_iters):
        J_history.append(compute_cost(x, y, w, b))
        dj_dw, dj_db = compute_gradient(x, y, w, b)
        w = w - alpha * dj_dw
        b = b - alpha * dj_db
    return w, b, J_history
'''),
    Mistake(
        "gradient_descent", "ignores_initial_values",
        "This is what you get when gradient descent always starts from w = 0, b = 0: start from the "
        "w_init and b_init it is given.",
        "ignored w_init and b_init (started at 0)",
        '''
def gradient_descent(x, y, w_init, b_init, alpha, num_iters):
    w, b = 0.0, 0.0
    J_history = []
    for _ in range(num_iters):
        dj_dw, dj_db = compute_gradient(x, y, w, b)
        w = w - alpha * dj_dw
        b = b - alpha * dj_db
        J_history.append(compute_cost(x, y, w, b))
    return w, b, J_history
'''),
    Mistake(
        "gradient_descent", "history_of_pairs",
        "J_history here holds (iteration, cost) pairs: it should hold the costs alone, one number per iteration.",
        "recorded (iteration, cost) pairs",
        '''
def gradient_descent(x, y, w_init, b_init, alpha, num_iters):
    w, b = w_init, b_init
    J_history = []
    for i in range(num_iters):
        dj_dw, dj_db = compute_gradient(x, y, w, b)
        w = w - alpha * dj_dw
        b = b - alpha * dj_db
        J_history.append((i, compute_cost(x, y, w, b)))
    return w, b, J_history
'''),
    Mistake(
        "gradient_descent", "plus_gradient",
        "This is what you get when the update adds the gradient (w + alpha * dj_dw): gradient descent steps "
        "against the gradient, w - alpha * dj_dw.",
        "added the gradient instead of subtracting it",
        '''
def gradient_descent(x, y, w_init, b_init, alpha, num_iters):
    w, b = w_init, b_init
    J_history = []
    for _ in range(num_iters):
        dj_dw, dj_db = compute_gradient(x, y, w, b)
        w = w + alpha * dj_dw
        b = b + alpha * dj_db
        J_history.append(compute_cost(x, y, w, b))
    return w, b, J_history
'''),
]
