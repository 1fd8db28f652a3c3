"""The demo class for Lab 1: one submission per typical outcome, with the points each must lose.

``autograder demo`` builds these notebooks from the release (answer cells filled with the
source's solutions, then the mistakes below), grades them, and prints the table. The project's
tests grade the same class and assert exactly these losses.
"""

FACTOR_OF_TWO_GRADIENT = '''
def compute_gradient(x, y, w, b):
    """Return (dJ/dw, dJ/db) computed with vectorized numpy operations."""
    m = x.shape[0]
    residual = (w * x + b) - y
    # Mistake: differentiated 1/m instead of 1/(2m), so the factor 2 stayed.
    return 2 * np.dot(residual, x) / m, 2 * np.sum(residual) / m
'''

ONE_OVER_M_COST = '''
def compute_cost(x, y, w, b):
    """Return the squared-error cost J(w, b) with the 1/(2m) convention."""
    m = x.shape[0]
    residual = (w * x + b) - y
    return np.sum(residual ** 2) / m   # mistake: 1/m instead of 1/(2m)
'''

OFF_BY_ONE_LOOP = '''
def compute_gradient_loop(x, y, w, b):
    """Return (dJ/dw, dJ/db), accumulated with an explicit loop over the examples."""
    m = len(x)
    dj_dw = dj_db = 0.0
    for i in range(m + 1):          # mistake: one step too far -> IndexError
        err_i = (w * x[i] + b) - y[i]
        dj_dw += err_i * x[i]
        dj_db += err_i
    return dj_dw / m, dj_db / m
'''

NEVER_ENDING_DESCENT = '''
def gradient_descent(x, y, w_init, b_init, alpha, num_iters):
    """Run batch gradient descent; return (w, b, J_history)."""
    w, b = w_init, b_init
    J_history = []
    i = 0
    while i < num_iters:            # mistake: i is never incremented, so this never ends
        dj_dw, dj_db = compute_gradient(x, y, w, b)
        w = w - alpha * dj_dw
        b = b - alpha * dj_db
        J_history.append(compute_cost(x, y, w, b))
    return w, b, J_history
'''

# student id -> what the submission shows, the answer cells it replaces (None: leave the
# release's blank stubs), and the points it must lose per function.
STUDENTS = {
    "ada": {"about": "full marks", "answers": {}, "loses": {}},
    "bohr": {"about": "factor-of-2 gradient", "answers": {"compute_gradient": FACTOR_OF_TWO_GRADIENT},
             "loses": {"compute_gradient": 4}},
    "curie": {"about": "1/m cost", "answers": {"compute_cost": ONE_OVER_M_COST}, "loses": {"compute_cost": 4}},
    "dirac": {"about": "unattempted", "answers": None, "loses": "all"},
    "euler": {"about": "raises (IndexError in compute_gradient_loop)",
              "answers": {"compute_gradient_loop": OFF_BY_ONE_LOOP}, "loses": {"compute_gradient_loop": 4}},
    "fermi": {"about": "never finishes (infinite loop in gradient_descent)",
              "answers": {"gradient_descent": NEVER_ENDING_DESCENT}, "loses": {"gradient_descent": 5}},
}

# The class `autograder bench` grades: mostly correct work, some partly wrong, one that errors.
BENCH_MIX = {"first": "euler", "cycle": ["ada", "bohr", "ada", "curie", "ada", "ada"]}
