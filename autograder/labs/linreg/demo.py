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

NEVER_ENDING_LOOP = '''
def compute_gradient_loop(x, y, w, b):
    """Return (dJ/dw, dJ/db), accumulated with an explicit loop over the examples."""
    m = len(x)
    dj_dw = dj_db = 0.0
    i = 0
    while i < m:                    # mistake: i is never incremented, so this never ends
        err_i = (w * x[i] + b) - y[i]
        dj_dw += err_i * x[i]
        dj_db += err_i
    return dj_dw / m, dj_db / m
'''

# The figures and experiments the course's graders look for, done wrong in the ways students do.
NO_CONVERGENCE_PLOT = '''
_, _, J_history = gradient_descent(M, L, 0.0, 0.0, 0.1, 1000)
print(f"final cost: {J_history[-1]:.4f}")   # mistake: the curve is never drawn
'''

ONE_LEARNING_RATE = '''
rates = [0.1]                               # mistake: one rate is no comparison
histories = [gradient_descent(M, L, 0.0, 0.0, 0.1, 300)[2]]
plt.semilogy(histories[0], label="alpha = 0.1")
plt.xlabel("iteration")
plt.ylabel("cost $J$")
plt.legend()
plt.show()
'''

UNLABELLED_DATA_PLOT = '''
plt.scatter(M, L)                           # mistake: neither axis says what it shows
plt.title("Ten main-sequence stars")
plt.show()
'''

FIT_CHECKED_WITH_POLYFIT = '''
w_fit, b_fit, J_fit = gradient_descent(M, L, 0.0, 0.0, 0.1, 10_000)
w_np, b_np = np.polyfit(M, L, 1)            # mistake: a fitting routine, which the lab does not allow
print(f"w = {w_fit:.3f} (polyfit: {w_np:.3f}), b = {b_fit:.3f} (polyfit: {b_np:.3f})")
M_line = np.linspace(M.min(), M.max(), 100)
plt.scatter(M, L, label="stars")
plt.plot(M_line, predict(M_line, w_fit, b_fit), color="C1", label="linear fit")
plt.xlabel("mass $M$ [$M_\\odot$]")
plt.ylabel("luminosity $L$ [$L_\\odot$]")
plt.legend()
plt.show()
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
    "fermi": {"about": "never finishes (infinite loop in compute_gradient_loop)",
              "answers": {"compute_gradient_loop": NEVER_ENDING_LOOP}, "loses": {"compute_gradient_loop": 4}},
    "gauss": {"about": "no convergence plot; one learning rate only",
              "answers": {"plot_convergence": NO_CONVERGENCE_PLOT, "compare_learning_rates": ONE_LEARNING_RATE},
              "loses": {"plot_convergence": 2, "compare_learning_rates": 3}},
    "hopper": {"about": "axes of the data plot unlabelled; checks the fit with np.polyfit",
               "answers": {"plot_data": UNLABELLED_DATA_PLOT, "plot_fit": FIT_CHECKED_WITH_POLYFIT},
               "loses": {"plot_data": 1, "compliance": 2}},
}

# The class `autograder bench` grades: mostly correct work, some partly wrong, one that errors.
BENCH_MIX = {"first": "euler", "cycle": ["ada", "bohr", "ada", "curie", "ada", "ada"]}
