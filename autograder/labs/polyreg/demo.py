"""The demo class for Lab 2: one submission per typical mistake, with the points each must lose.

``autograder demo`` builds these notebooks from the release (answer cells filled with the
source's solutions, then the mistakes below), grades them, and prints the table. The project's
tests grade the same class and assert exactly these losses.
"""

from autograder.course import load_sibling

# One of the lab's named mistakes (mistakes.py), as students of this assignment wrote it.
_MISTAKES = {(m.function, m.name): m.source for m in load_sibling(__file__, "mistakes.py").MISTAKES}

UNSCALED_FEATURES = '''
def standardize(X):
    """Return (X_norm, mu, sigma): each column z-scored with its mean and population std."""
    X = np.asarray(X, dtype=float)
    # Mistake: skipped the scaling; the features go through unchanged.
    mu = np.zeros(X.shape[1])
    sigma = np.ones(X.shape[1])
    return X, mu, sigma
'''

SAMPLE_STD = '''
def standardize(X):
    """Return (X_norm, mu, sigma): each column z-scored with its mean and population std."""
    X = np.asarray(X, dtype=float)
    mu = np.mean(X, axis=0)
    sigma = np.std(X, axis=0, ddof=1)   # mistake: the sample std (m - 1), not the population std
    sigma = np.where(sigma == 0, 1.0, sigma)
    return (X - mu) / sigma, mu, sigma
'''

WRONG_FEATURE_ORDER = '''
def build_features(M, T, model):
    """Return the design matrix (one row per star) of model 'M1', 'M2' or 'M3'."""
    M = np.asarray(M)
    T = np.asarray(T)
    if model == "M1":
        columns = [M, T]
    elif model == "M2":
        columns = [M, T, M ** 2]
    elif model == "M3":
        columns = [M, T, M * T, M ** 2]   # mistake: the last two columns swapped
    else:
        raise ValueError(f"unknown model {model!r}")
    return np.column_stack(columns)
'''

NO_VALUE_ERROR = '''
def build_features(M, T, model):
    """Return the design matrix (one row per star) of model 'M1', 'M2' or 'M3'."""
    M = np.asarray(M)
    T = np.asarray(T)
    if model == "M2":
        return np.column_stack([M, T, M ** 2])
    if model == "M3":
        return np.column_stack([M, T, M ** 2, M * T])
    return np.column_stack([M, T])   # mistake: any other name silently gets M1, no ValueError
'''

FORGOT_TO_UNSCALE = '''
def unscale_params(w_norm, b_norm, mu, sigma):
    """Return (w, b) in the original feature units."""
    return w_norm, b_norm   # mistake: the standardized weights returned as they are
'''

SKLEARN_CHECK = '''
M_new, T_new = np.array([1.3]), np.array([6600.0])
L_new = {}
for model, fit in fits.items():
    L_new[model] = float(predict(build_features(M_new, T_new, model), fit["w"], fit["b"])[0])
    print(f"{model}: L = {L_new[model]:.2f} L_sun")
from sklearn.linear_model import LinearRegression   # mistake: a fitting library, which the lab does not allow
print(LinearRegression().fit(build_features(M, T, "M3"), L).predict(build_features(M_new, T_new, "M3")))
'''

LINEAR_CONVERGENCE_AXIS = '''
for model, fit in fits.items():
    plt.plot(np.arange(1, len(fit["J"]) + 1), fit["J"], label=model)   # mistake: the y axis left linear
plt.xlabel("iteration")
plt.ylabel("cost $J$")
plt.legend()
plt.show()
'''

# student id -> what the submission shows, the answer cells it replaces (None: leave the
# release's blank stubs), and the points it must lose per function.
STUDENTS = {
    "ada": {"about": "full marks", "answers": {}, "loses": {}},
    "bohr": {"about": "unscaled features (standardize returns X)", "answers": {"standardize": UNSCALED_FEATURES},
             "loses": {"standardize": 3}},
    "curie": {"about": "sample std (ddof=1)", "answers": {"standardize": SAMPLE_STD}, "loses": {"standardize": 3}},
    "dirac": {"about": "unattempted", "answers": None, "loses": "all"},
    "euler": {"about": "M3 columns in the wrong order", "answers": {"build_features": WRONG_FEATURE_ORDER},
              "loses": {"build_features": 3}},
    "fermi": {"about": "forgot to unscale", "answers": {"unscale_params": FORGOT_TO_UNSCALE},
              "loses": {"unscale_params": 3}},
    "gauss": {"about": "no ValueError for an unknown model", "answers": {"build_features": NO_VALUE_ERROR},
              "loses": {"build_features": 1}},
    "hilbert": {"about": "J_history of (iteration, cost) pairs",
                "answers": {"gradient_descent": _MISTAKES[("gradient_descent", "history_of_pairs")]},
                "loses": {"gradient_descent": 1}},
    "hopper": {"about": "checks the new star with scikit-learn", "answers": {"predict_new_star": SKLEARN_CHECK},
               "loses": {"compliance": 2}},
    "lovelace": {"about": "left out the prediction for the new star",
                 "answers": {"predict_new_star": "# YOUR CODE HERE\nraise NotImplementedError()"},
                 "loses": {"predict_new_star": 2}},
    "noether": {"about": "convergence plot on a linear y axis", "answers": {"plot_convergence": LINEAR_CONVERGENCE_AXIS},
                "loses": {"plot_convergence": 1}},
}
