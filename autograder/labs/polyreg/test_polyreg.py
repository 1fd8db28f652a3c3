"""Hidden tests for Lab 2 (polynomial regression with an interaction feature). Never released;
run by ``autograder.judge``.

Points per function must add up to the ``points`` of the notebook's ``test_<function>`` cell
(the judge checks): plot_data 2, build_features 3, standardize 3, predict 2, compute_cost 2,
compute_gradient 3, gradient_descent 4, train_models 3, plot_convergence 2, unscale_params 3,
interaction_sweep 3, predict_new_star 2, compliance 2.

Each function is judged on its own. gradient_descent is judged on the update rule applied to what
the student's own compute_gradient returned, and its J_history against the student's own
compute_cost where it called it. unscale_params is judged with the reference's mu and sigma, so a
mistake in standardize costs only standardize's points.

The spy records an array argument only by its shape, so the w at which gradient_descent called
compute_gradient is not recorded: it is rebuilt here from w_init and the gradients the student's
compute_gradient returned (b, a number, is recorded), and checked against the student's own
compute_gradient at two of those points.
"""

import numbers

import numpy as np

from autograder.compliance import expect_compliant
from autograder.course import load_sibling
from autograder.figures import (expect_data, expect_labels, expect_legend, expect_scale, expect_series, figure_of,
                                find_series, match_points, mentions, plot_axes)
from autograder.kernel import CallProblem, CallTimeout, MissingFunction, StudentRaised
from autograder.suite import (Mismatch, as_number, expect, expect_array, expect_number, expect_sequence,
                              graded, own_result, record)

labels = load_sibling(__file__, "labels.py")

MODELS = ("M1", "M2", "M3")


# --- helpers -----------------------------------------------------------------------------

def _stars(rng, m=None):
    """m random main-sequence-like stars: mass, temperature, luminosity."""
    m = int(rng.integers(5, 40)) if m is None else m
    M = rng.uniform(0.3, 3.0, size=m)
    T = rng.uniform(3000.0, 12000.0, size=m)
    L = M ** 3.5 * (1.0 + 0.05 * rng.normal(size=m))
    return M, T, L


def _data(rng, m=None, n=None, scale=3.0):
    """A random regression problem: X of shape (m, n), y of shape (m,)."""
    m = int(rng.integers(5, 40)) if m is None else m
    n = int(rng.integers(2, 5)) if n is None else n
    X = rng.uniform(-scale, scale, size=(m, n))
    y = X @ rng.normal(0.0, 2.0, size=n) + rng.normal(0.0, 1.0) + rng.normal(0.0, 0.5, size=m)
    return X, y


def _params(rng, n):
    return rng.normal(0.0, 3.0, size=n), float(rng.normal(0.0, 3.0))


def _describe(value):
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} items"
    if isinstance(value, numbers.Number):
        return f"the number {value:.6g}"
    if value is None:
        return "None"
    return f"a {getattr(value, 'type_name', type(value).__name__)}"  # an object the grader cannot read


def _items(label, got, names):
    """``got`` as a tuple of len(names) items, or a mismatch naming what was expected."""
    if isinstance(got, (tuple, list)) and len(got) == len(names):
        return tuple(got)
    raise Mismatch(f"{label} returned {_describe(got)}; expected a tuple ({', '.join(names)})")


def _vector(label, got, n):
    """``got`` as a float array of shape (n,), or a mismatch in the student's terms."""
    if not isinstance(got, np.ndarray) or got.dtype.kind not in "biuf":
        raise Mismatch(f"{label} is {_describe(got)}; expected a numpy array of shape ({n},)")
    if got.shape != (n,):
        raise Mismatch(f"{label} is an array of shape {got.shape}; expected shape ({n},)")
    return got.astype(float)


def _expect_gradient(label, got, want, own=None):
    dj_dw, dj_db = _items(label, got, ("dj_dw", "dj_db"))
    expect_array(f"{label}[0] (dj_dw)", dj_dw, want[0], also=None if own is None else own[0])
    expect_number(f"{label}[1] (dj_db)", dj_db, want[1], also=None if own is None else own[1])


# compute_cost and compute_gradient may call the student's own predict (the notebook's solution
# does): then a value consistent with what that predict returned counts as right too, so a wrong
# predict costs predict's points and no others.

def _own_predictions(student, spied, X, w, b):
    """What the student's predict returned inside the checked call, if that call was on the test's
    own (X, w, b): the same values the student's predict gives for them when asked directly."""
    pred = own_result(spied, "predict", (np.shape(X)[0],))
    if pred is None:
        return None
    try:
        direct = student.predict(X, w, b)
    except Exception:  # noqa: BLE001 - a predict that fails on its own is predict's to pay for
        return None
    again = own_result({"predict": [{"result": direct}]}, "predict", pred.shape)
    if again is None or not np.allclose(again, pred, rtol=1e-9, atol=1e-12, equal_nan=True):
        return None  # predict was called on something else (arguments swapped, x negated, ...)
    return pred


def _expect_cost(student, ref, label, X, y, w, b):
    result = student.call("compute_cost", X, y, w, b, spy=("predict",))
    pred = _own_predictions(student, result.spied, X, w, b)
    own = None if pred is None else float(np.sum((pred - y) ** 2) / (2 * np.shape(X)[0]))
    expect_number(label, result.value, ref.compute_cost(X, y, w, b), also=own)


def _expect_gradient_of(student, ref, label, X, y, w, b):
    result = student.call("compute_gradient", X, y, w, b, spy=("predict",))
    pred = _own_predictions(student, result.spied, X, w, b)
    m = np.shape(X)[0]
    own = None if pred is None else (np.asarray(X, dtype=float).T @ (pred - y) / m, float(np.sum(pred - y) / m))
    _expect_gradient(label, result.value, ref.compute_gradient(X, y, w, b), own)


def _expect_standardized(label, got, want):
    X_norm, mu, sigma = _items(label, got, ("X_norm", "mu", "sigma"))
    expect_array(f"{label}[1] (mu)", mu, want[1])
    expect_array(f"{label}[2] (sigma)", sigma, want[2])
    expect_array(f"{label}[0] (X_norm)", X_norm, want[0])


def _expect_unscaled(label, got, want):
    w, b = _items(label, got, ("w", "b"))
    expect_array(f"{label}[0] (w)", w, want[0])
    expect_number(f"{label}[1] (b)", b, want[1])


# --- build_features (3) ----------------------------------------------------------------------

@graded("build_features", points=2)
def test_build_features_random(student, rng, ref):
    M, T, _ = _stars(rng)
    for model in MODELS:
        expect_array(f"build_features(M, T, {model!r})", student.build_features(M, T, model),
                     ref.build_features(M, T, model))


@graded("build_features", points=1)
def test_build_features_single_star_integers_and_unknown_model(student, ref):
    M, T = np.array([2]), np.array([5000])
    for model in MODELS:
        expect_array(f"build_features([2], [5000], {model!r}) (one star, integers)",
                     student.build_features(M, T, model), ref.build_features(M, T, model))
    for model in ("M4", "quadratic"):
        label = f"build_features(M, T, {model!r})"
        try:
            got = student.build_features(ref.M, ref.T, model)
        except StudentRaised as exc:
            expect(exc.ename == "ValueError",
                   f"{label} raised {exc.ename or 'an error'}; an unknown model should raise ValueError")
        else:
            raise Mismatch(f"{label} returned {_describe(got)}; an unknown model should raise ValueError")


# --- standardize (3) ---------------------------------------------------------------------------

@graded("standardize", points=2)
def test_standardize_random(student, rng, ref):
    m, n = int(rng.integers(5, 30)), int(rng.integers(2, 5))
    scales = 10.0 ** rng.uniform(-1, 4, size=n)
    X = rng.normal(rng.normal(0, 5, size=n) * scales, scales, size=(m, n))
    _expect_standardized("standardize(X)", student.standardize(X), ref.standardize(X))


@graded("standardize", points=1)
def test_standardize_single_row_constant_column_and_integers(student, rng, ref):
    X = np.array([[1.5, 6600.0, 3.0]])
    _expect_standardized("standardize(X) for a single row (m = 1: every column is constant, so sigma should be 1)",
                         student.standardize(X), ref.standardize(X))
    X = np.column_stack([rng.integers(0, 100, size=6), np.full(6, 7), rng.integers(-50, 50, size=6)])
    label = "standardize(X) (integers; column 1 is constant, so its sigma should be 1)"
    _expect_standardized(label, student.standardize(X), ref.standardize(X))


# --- predict (2) -------------------------------------------------------------------------------

@graded("predict", points=1)
def test_predict_random(student, rng, ref):
    X, _ = _data(rng)
    w, b = _params(rng, X.shape[1])
    expect_array("predict(X, w, b)", student.predict(X, w, b), ref.predict(X, w, b))


@graded("predict", points=1)
def test_predict_single_star_one_feature_and_integers(student, ref):
    X, w = np.array([[2, 3, 4]]), np.array([1, -1, 2])
    expect_array("predict(X, w, b=5) (one star, integers)", student.predict(X, w, 5), ref.predict(X, w, 5))
    X, w = np.arange(1, 7).reshape(6, 1), np.array([0.5])
    expect_array("predict(X, w, b=0.25) (one feature, X of shape (6, 1))", student.predict(X, w, 0.25),
                 ref.predict(X, w, 0.25))


# --- compute_cost (2) ---------------------------------------------------------------------------

@graded("compute_cost", points=1)
def test_cost_random(student, rng, ref):
    X, y = _data(rng)
    w, b = _params(rng, X.shape[1])
    _expect_cost(student, ref, "compute_cost(X, y, w, b)", X, y, w, b)


@graded("compute_cost", points=1)
def test_cost_on_the_stars_single_star_and_integers(student, rng, ref):
    X_norm = ref.standardize(ref.build_features(ref.M, ref.T, "M3"))[0]
    w, b = _params(rng, 4)
    _expect_cost(student, ref, "compute_cost(X_norm, L, w, b) for the stars' standardized M3 features",
                 X_norm, ref.L, w, b)
    X, y, w = np.array([[1, 2]]), np.array([7]), np.array([2, 1])
    _expect_cost(student, ref, "compute_cost(X, y, w, b=0) (one star, integers)", X, y, w, 0)


# --- compute_gradient (3) -----------------------------------------------------------------------

@graded("compute_gradient", points=2)
def test_gradient_random(student, rng, ref):
    X, y = _data(rng)
    w, b = _params(rng, X.shape[1])
    _expect_gradient_of(student, ref, "compute_gradient(X, y, w, b)", X, y, w, b)


@graded("compute_gradient", points=1)
def test_gradient_single_star_one_feature_and_integers(student, ref):
    X, y, w = np.array([[2, 1]]), np.array([5]), np.array([1, 1])
    _expect_gradient_of(student, ref, "compute_gradient(X, y, w, b=1) (one star, integers)", X, y, w, 1)
    X, y, w = np.arange(0, 10).reshape(10, 1), np.arange(10, 0, -1), np.array([2.0])
    _expect_gradient_of(student, ref, "compute_gradient(X, y, w, b=3) (one feature, X of shape (10, 1))",
                        X, y, w, 3.0)


# --- gradient_descent (4) -----------------------------------------------------------------------

def _run_gd(student, X, y, w0, b0, alpha, iters, *, history=True):
    """Run the student's gradient_descent. With ``history=False`` a J_history in the wrong form is
    returned as ``None`` instead of failing, so a test of the updates does not also charge for it
    (that is the history test's to judge)."""
    result = student.call("gradient_descent", X, y, w0, b0, alpha, iters, spy=("compute_gradient", "compute_cost"))
    w, b, costs = _items("gradient_descent", result.value, ("w", "b", "J_history"))
    w = _vector("gradient_descent's w", w, X.shape[1])
    b = as_number("gradient_descent's b", b)
    try:
        costs = expect_sequence("gradient_descent's J_history", costs, iters)
    except Mismatch:
        if history:
            raise
        costs = None
    return w, b, costs, result.spied


def _own_gradients(spied, n):
    """What the student's compute_gradient returned at each call inside gradient_descent."""
    grads = []
    for call in spied.get("compute_gradient", []):
        result = call["result"]
        if not (isinstance(result, (tuple, list)) and len(result) == 2):
            raise Mismatch(f"inside gradient_descent, compute_gradient returned {_describe(result)}; "
                           "expected a tuple (dj_dw, dj_db)")
        grads.append((_vector("inside gradient_descent, compute_gradient's dj_dw", result[0], n),
                       as_number("inside gradient_descent, compute_gradient's dj_db", result[1])))
    return grads


def _trajectory(spied, grads, w0, w, b, alpha):
    """The (w, b) of each compute_gradient call, then the returned (w, b).

    b is the one recorded in the call; w (recorded only by its shape) is rebuilt from w0 and the
    student's own gradients, w_{k+1} = w_k - alpha * dj_dw_k.
    """
    ws = [np.asarray(w0, dtype=float)]
    for dw, _ in grads:
        ws.append(ws[-1] - alpha * dw)
    bs = []
    for call in spied.get("compute_gradient", []):
        args = call["args"]
        try:
            bs.append(float(as_number("b", args[3])) if len(args) >= 4 else np.nan)
        except Mismatch:
            bs.append(np.nan)
    return list(zip(ws[:-1], bs)) + [(w, b)], ws[-1]


def _own_costs(spied):
    """The student's own compute_cost results inside gradient_descent, keyed by the b of the call."""
    own = {}
    for call in spied.get("compute_cost", []):
        args = call["args"]
        if len(args) >= 4:
            try:
                own[float(as_number("b", args[3]))] = float(as_number("compute_cost", call["result"]))
            except (Mismatch, TypeError, ValueError):
                pass
    return own


# Iterations at which the convergence curve is kept for the feedback page (a record holds at
# most 64 values in full): every one of the first ten, then every fifth.
CURVE_ITERATIONS = np.array([*range(1, 11), *range(15, 201, 5)])


def _record_for_feedback(w, b, history, ref_history):
    """What the feedback page draws (``feedback.py``): the student's fitted (w, b) on the stars'
    standardized M3 features and convergence curve, and the reference's curve on the same run.
    Recorded, never judged."""
    record(labels.W, w)
    record(labels.B, b)
    record(labels.ITERATIONS, CURVE_ITERATIONS)
    record(labels.CURVE,
           history[CURVE_ITERATIONS - 1], np.asarray(ref_history, dtype=float)[CURVE_ITERATIONS - 1])


@graded("gradient_descent", points=1)
def test_gd_calls_compute_gradient_each_iteration(student, ref):
    X_norm = ref.standardize(ref.build_features(ref.M, ref.T, "M3"))[0]
    w, b, history, spied = _run_gd(student, X_norm, ref.L, np.zeros(4), 0.0, 0.1, 200, history=False)
    if history is not None:  # in the wrong form it is only not drawn: the history test charges for it
        record("J_history on the stars' standardized M3 features (alpha=0.1, 200 iterations)", history)
        _record_for_feedback(w, b, history, ref.gradient_descent(X_norm, ref.L, np.zeros(4), 0.0, 0.1, 200)[2])
    calls = len(spied.get("compute_gradient", []))
    expect(calls == 200, f"gradient_descent called compute_gradient {calls} times for 200 iterations; "
                         "it should call your compute_gradient once per iteration")


@graded("gradient_descent", points=1)
def test_gd_update_rule(student, rng, ref):
    X, y = _data(rng, m=12, n=3)
    w0, b0 = _params(rng, 3)
    alpha, iters = 0.01, 40
    w, b, _, spied = _run_gd(student, X, y, w0, b0, alpha, iters, history=False)
    grads = _own_gradients(spied, 3)
    if len(grads) != iters:
        # Not using compute_gradient: judge the whole run against the reference instead.
        w_ref, b_ref, _ = ref.gradient_descent(X, y, w0, b0, alpha, iters)
        expect_array("gradient_descent's final w", w, w_ref)
        expect_number("gradient_descent's final b", b, b_ref)
        return
    points, w_rebuilt = _trajectory(spied, grads, w0, w, b, alpha)
    expect_number("the b of the first compute_gradient call inside gradient_descent", points[0][1], b0)
    for k, (_, db) in enumerate(grads):
        expect_number(f"b after update {k} (b - alpha * dj_db, with your compute_gradient's dj_db)",
                      points[k + 1][1], points[k][1] - alpha * db)
    expect_array(f"gradient_descent's final w (after {iters} updates w - alpha * dj_dw, with your "
                 "compute_gradient's dj_dw)", w, w_rebuilt)
    for k in (1, iters - 1):
        # Was compute_gradient called at the w after k updates? Ask the student's own function there.
        wk, bk = points[k]
        again = student.compute_gradient(X, y, wk, bk)
        dj_dw = _items("compute_gradient", again, ("dj_dw", "dj_db"))[0]
        expect_array(f"inside gradient_descent, the dj_dw of compute_gradient call {k} (it should be evaluated "
                     f"at the w after {k} updates)", grads[k][0], dj_dw)


@graded("gradient_descent", points=1)
def test_gd_history_is_cost_after_each_update(student, rng, ref):
    X, y = _data(rng, m=10, n=2)
    w0, b0 = _params(rng, 2)
    alpha, iters = 0.02, 25
    w, b, history, spied = _run_gd(student, X, y, w0, b0, alpha, iters)
    grads = _own_gradients(spied, 2)
    if len(grads) != iters:
        _, _, ref_history = ref.gradient_descent(X, y, w0, b0, alpha, iters)
        expect_array("J_history", history, ref_history)
        return
    points, _ = _trajectory(spied, grads, w0, w, b, alpha)
    own = _own_costs(spied)
    expected = [own.get(float(bk), ref.compute_cost(X, y, wk, bk)) for wk, bk in points[1:]]
    expect_array("J_history (J_history[i] is the cost after update i)", history, expected)


@graded("gradient_descent", points=1)
def test_gd_diverging_learning_rate(student, rng, ref):
    m, n = 8, 3
    X = rng.uniform(0.5, 3.0, size=(m, n))
    y = X @ rng.normal(0.0, 2.0, size=n) + rng.normal(0.0, 0.5, size=m)
    alpha, iters = 1.0, 20
    # Integer initial values, as the notebook allows (np.zeros(n, dtype=int), 0): the weights must
    # still move by real-valued steps.
    w0 = np.zeros(n, dtype=int)
    w, b, _, spied = _run_gd(student, X, y, w0, 0, alpha, iters, history=False)
    _, _, ref_history = ref.gradient_descent(X, y, np.zeros(n), 0.0, alpha, iters)
    expect(ref_history[-1] > ref_history[0], "internal: this learning rate should diverge")
    # Judged on where it went (the reference's cost), not on J_history, which a wrong compute_cost
    # may have computed: that mistake is compute_cost's to pay for.
    start, end = ref.compute_cost(X, y, np.zeros(n), 0.0), ref.compute_cost(X, y, w, b)
    expect(end > start,
           f"with alpha = {alpha} on unscaled features, from integer w_init = np.zeros({n}, dtype=int) and b_init = 0, "
           f"gradient descent diverges, so the cost at the returned (w, b) should be far above the start's; it is "
           f"{end:.6g} against {start:.6g} (do not clip or stop early)")
    calls = len(spied.get("compute_gradient", []))
    expect(calls in (0, iters), f"with alpha = {alpha} gradient_descent called compute_gradient {calls} times for "
                                f"{iters} iterations; it should take every step even when the cost grows")


# --- unscale_params (3) -------------------------------------------------------------------------

@graded("unscale_params", points=1)
def test_unscale_random(student, rng, ref):
    n = int(rng.integers(2, 5))
    w_norm, b_norm = _params(rng, n)
    mu = rng.normal(0.0, 100.0, size=n)
    sigma = 10.0 ** rng.uniform(-1, 3, size=n)
    _expect_unscaled("unscale_params(w_norm, b_norm, mu, sigma)", student.unscale_params(w_norm, b_norm, mu, sigma),
                     ref.unscale_params(w_norm, b_norm, mu, sigma))


@graded("unscale_params", points=1)
def test_unscale_on_the_stars(student, rng, ref):
    _, mu, sigma = ref.standardize(ref.build_features(ref.M, ref.T, "M3"))
    w_norm, b_norm = _params(rng, 4)
    _expect_unscaled("unscale_params(w_norm, b_norm, mu, sigma) with the stars' M3 mu and sigma",
                     student.unscale_params(w_norm, b_norm, mu, sigma), ref.unscale_params(w_norm, b_norm, mu, sigma))


@graded("unscale_params", points=1)
def test_unscale_gives_the_same_predictions(student, rng, ref):
    M, T, _ = _stars(rng, m=12)
    X = ref.build_features(M, T, "M3")
    X[:, 2] = 2.0  # a constant column: its sigma is 1
    X_norm, mu, sigma = ref.standardize(X)
    w_norm, b_norm = _params(rng, 4)
    w, b = _items("unscale_params(w_norm, b_norm, mu, sigma)", student.unscale_params(w_norm, b_norm, mu, sigma),
                  ("w", "b"))
    w = _vector("unscale_params(w_norm, b_norm, mu, sigma)[0] (w)", w, 4)
    b = as_number("unscale_params(w_norm, b_norm, mu, sigma)[1] (b)", b)
    expect_array("predict(X, w, b) with your unscaled (w, b), compared with predict(X_norm, w_norm, b_norm)",
                 ref.predict(X, w, b), ref.predict(X_norm, w_norm, b_norm))


# --- figures and experiments -----------------------------------------------------------------
# Each is judged from the figure its cell showed (described as data while the notebook ran) and
# the variables the notebook asks the cell to keep, against what the student's *own* functions
# give on the same settings: a wrong gradient_descent costs gradient_descent's points, not the
# experiments' as well. Where the student's own functions cannot give a value (one raises or
# hangs), the reference's is accepted instead.

MASS, LUMINOSITY, TEMPERATURE = ("mass", "M"), ("luminosity", "L"), ("temperature", "T", "kelvin", "K")
ITERATION, COST = ("iteration", "step", "epoch", "iter"), ("cost", "J", "loss", "error")
FIT_KEYS = ("w_norm", "b_norm", "J", "mu", "sigma")
N_FEATURES = {"M1": 2, "M2": 3, "M3": 4}


def _kept(student, name, what):
    try:
        return student.value(name)
    except CallProblem as exc:
        raise Mismatch(f"{what}: {exc}") from None


def _own(compute_own, compute_ref):
    """What the student's own functions give (``compute_own``), or the reference's when they cannot."""
    try:
        return compute_own()
    except (StudentRaised, MissingFunction, CallTimeout):
        return compute_ref()


def _stars_plotted(figures, ref, what):
    """The scatter of the figure in plot_data that shows the ten stars (M across, L up)."""
    figure = figure_of(figures, "plot_data", what)
    for ax in figure.plots:
        found, _ = match_points(ax.of_kind("scatter"), ref.M, ref.L)
        if found is not None:
            return ax, found
    scatters = [s for ax in figure.plots for s in ax.of_kind("scatter")]
    if match_points(scatters, ref.M, ref.L)[1] is not None:
        raise Mismatch(f"{what} has mass on the y axis and luminosity on the x axis; "
                       "put M on the x axis and L on the y axis")
    sizes = ", ".join(str(s.n) for s in scatters) or "none"
    raise Mismatch(f"{what} should show the ten stars as points with plt.scatter (M on the x axis, L on the "
                   f"y axis); the scatters it shows have {sizes} points")


@graded("plot_data", points=1)
def test_plot_data_colours_the_stars_by_temperature(figures, ref):
    what = "your plot of the data"
    _, stars = _stars_plotted(figures, ref, what)
    if stars.c is None:
        raise Mismatch(f"{what}: the points are not coloured by temperature; pass c=T to plt.scatter")
    # The temperature of each star as drawn (the points may be drawn in any order).
    order = [int(np.argmin(np.abs(ref.M - x) + np.abs(ref.L - y))) for x, y in zip(stars.x, stars.y)]
    expect_data(stars, what, c=ref.T[order].astype(float))


@graded("plot_data", points=1)
def test_plot_data_labels_and_colorbar(figures, ref):
    what = "your plot of the data"
    ax, stars = _stars_plotted(figures, ref, what)
    expect_labels(ax, what, x=MASS, y=LUMINOSITY)
    if stars.colorbar is None:
        raise Mismatch(f"{what} has no colorbar for the temperature; add plt.colorbar(points, label=...)")
    label = stars.colorbar.strip()
    expect(bool(label), f"{what}'s colorbar has no label; label it with the temperature (for example 'T [K]')")
    expect(mentions(label, TEMPERATURE), f"{what}'s colorbar label is {label!r}; it should say it shows the "
                                         "temperature ('temperature' or 'T')")


def _entry(fits, model, what):
    """``fits[model]``, a dict with the keys the notebook asks for, or a mismatch naming what is not."""
    entry = fits[model]
    expect(isinstance(entry, dict), f"{what}: fits[{model!r}] should be a dict with the keys {', '.join(FIT_KEYS)}; "
                                    f"it is {_describe(entry)}")
    lacking = [k for k in FIT_KEYS if k not in entry]
    expect(not lacking, f"{what}: fits[{model!r}] has no {', '.join(repr(k) for k in lacking)}")
    return entry


def _fit_of(student, model, what):
    """``fits[model]`` with the keys the notebook asks for (the other models are not needed)."""
    fits = _kept(student, "fits", what)
    if not isinstance(fits, dict) or model not in fits:
        raise Mismatch(f"{what}: `fits` should be a dict with an entry for {model!r} (section 9)")
    return _entry(fits, model, what)


def _fits(student, what):
    fits = _kept(student, "fits", what)
    if not isinstance(fits, dict):
        raise Mismatch(f"{what}: `fits` should be a dict keyed by 'M1', 'M2' and 'M3'; it is {_describe(fits)}")
    missing = [m for m in MODELS if m not in fits]
    expect(not missing, f"{what}: `fits` has no entry for {', '.join(repr(m) for m in missing)}; it holds "
                        f"{sorted(map(str, fits))}")
    for model in MODELS:
        _entry(fits, model, what)
    return fits


def _numbers(value, name, n):
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise Mismatch(f"{name} should be an array of {n} numbers; it is {_describe(value)}") from None
    expect(arr.shape == (n,), f"{name} should have shape ({n},), one entry per feature; it has shape {arr.shape}")
    return arr


def _own_fit(student, ref, model):
    """(w_norm, b_norm, J, mu, sigma) of the student's own functions on the notebook's settings."""
    def own():
        X_norm, mu, sigma = student.standardize(student.build_features(ref.M, ref.T, model))
        w, b, J = student.gradient_descent(X_norm, ref.L, np.zeros(N_FEATURES[model]), 0.0,
                                           ref.FINAL_ALPHA, ref.FINAL_ITERS)
        return w, b, J, mu, sigma

    def reference():
        X_norm, mu, sigma = ref.standardize(ref.build_features(ref.M, ref.T, model))
        w, b, J = ref.gradient_descent(X_norm, ref.L, np.zeros(N_FEATURES[model]), 0.0,
                                       ref.FINAL_ALPHA, ref.FINAL_ITERS)
        return w, b, J, mu, sigma
    return _own(own, reference)


def _own_statistics(student, ref, model):
    """(mu, sigma) of the student's own build_features and standardize on the model's features
    (no training run: the statistics come before it)."""
    def own():
        _, mu, sigma = student.standardize(student.build_features(ref.M, ref.T, model))
        return mu, sigma

    def reference():
        _, mu, sigma = ref.standardize(ref.build_features(ref.M, ref.T, model))
        return mu, sigma
    return _own(own, reference)


@graded("train_models", points=1)
def test_fits_hold_the_three_models(student):
    what = "your three models"
    fits = _fits(student, what)
    for model in MODELS:
        n = N_FEATURES[model]
        _numbers(fits[model]["w_norm"], f"fits[{model!r}]['w_norm']", n)
        as_number(f"fits[{model!r}]['b_norm']", fits[model]["b_norm"])
        history = fits[model]["J"]
        length = len(history) if hasattr(history, "__len__") else 0
        expect(length == 20_000, f"fits[{model!r}]['J'] should hold the 20000 costs of its run; it holds {length}")


@graded("train_models", points=1)
def test_fits_are_the_runs_asked(student, ref):
    what = "your three models"
    fits = _fits(student, what)
    for model in MODELS:
        w, b, J, _, _ = _own_fit(student, ref, model)
        run = (f"your gradient_descent on the standardized {model} features, from zeros, alpha = "
               f"{ref.FINAL_ALPHA:g}, {ref.FINAL_ITERS} iterations")
        expect_array(f"fits[{model!r}]['w_norm'] ({run})", _numbers(fits[model]["w_norm"], f"fits[{model!r}]['w_norm']",
                                                                   N_FEATURES[model]), np.asarray(w, dtype=float))
        expect_number(f"fits[{model!r}]['b_norm'] ({run})", as_number("b_norm", fits[model]["b_norm"]),
                      as_number("b", b))
        expect_number(f"the final cost fits[{model!r}]['J'][-1] ({run})",
                      float(np.asarray(fits[model]["J"], dtype=float).ravel()[-1]),
                      float(np.asarray(J, dtype=float).ravel()[-1]))


@graded("train_models", points=1)
def test_fits_keep_the_training_statistics(student, ref):
    what = "your three models"
    fits = _fits(student, what)
    for model in MODELS:
        mu, sigma = _own_statistics(student, ref, model)
        # What the student's own standardize returned, whatever its shape (a wrong shape is
        # standardize's mistake, charged there).
        for key, own in (("mu", mu), ("sigma", sigma)):
            own = np.asarray(own, dtype=float)
            got = np.asarray(fits[model][key], dtype=float) if not isinstance(fits[model][key], (str, dict)) else None
            expect(got is not None and got.shape == own.shape,
                   f"fits[{model!r}][{key!r}] should be what your standardize returned for the {model} features "
                   f"(shape {own.shape}); it is {_describe(fits[model][key])}")
            expect_array(f"fits[{model!r}][{key!r}] (your standardize of the {model} features)", got, own)


def _convergence_axes(student, figures, what):
    fits = _fits(student, what)
    figure = figure_of(figures, "plot_convergence", what)
    ax = plot_axes(figure, what)
    lines = expect_series(ax, what, kind="line", at_least=len(MODELS), why="draw one per model")
    found = {}
    for model in MODELS:
        history = np.asarray(fits[model]["J"], dtype=float)
        # The lines matplotlib draws for it: the history, or one per column of a 2-D one (a history
        # of (iteration, cost) pairs is gradient_descent's mistake, not the plot's).
        drawn = [history[:, j] for j in range(history.shape[1])] if history.ndim == 2 else [history.ravel()]
        found[model] = next((s for s in (find_series(lines, d) for d in drawn) if s is not None), None)
        if found[model] is None:
            raise Mismatch(f"{what} has no line showing fits[{model!r}]['J']; draw one line per model")
    return figure, ax, found


@graded("plot_convergence", points=1)
def test_convergence_plot_has_a_line_per_model(student, figures):
    what = "your convergence plot"
    figure, ax, _ = _convergence_axes(student, figures, what)
    legend = expect_legend(ax, what, figure=figure)
    expect(len(legend) >= len(MODELS), f"{what}'s legend has {len(legend)} entries; name each of the three models")


@graded("plot_convergence", points=1)
def test_convergence_plot_axes_and_log_scale(student, figures):
    what = "your convergence plot"
    _, ax, found = _convergence_axes(student, figures, what)
    for model, line in found.items():
        x = line.x
        if not (np.allclose(x, line.indices()) or np.allclose(x, line.indices() + 1)):
            raise Mismatch(f"{what}: the x values of the {model} line should be the iteration numbers "
                           f"(0 to {line.n - 1} or 1 to {line.n}); they start {', '.join(f'{v:g}' for v in x[:3])}")
    expect_labels(ax, what, x=ITERATION, y=COST)
    expect_scale(ax, what, "y", "log", why="the costs span several orders of magnitude")


def _sweep(student, ref, what):
    fit = _fit_of(student, "M3", "your interaction sweep")
    w_norm = _numbers(fit["w_norm"], "fits['M3']['w_norm']", 4)
    b_norm = float(as_number("fits['M3']['b_norm']", fit["b_norm"]))
    w_mt_fit = float(as_number("w_mt_fit", _kept(student, "w_mt_fit", what)))
    expect_number("w_mt_fit (fits['M3']['w_norm'][3])", w_mt_fit, float(w_norm[3]))
    try:
        w_mt = np.asarray(_kept(student, "w_mt", what), dtype=float)
        costs = np.asarray(_kept(student, "costs", what), dtype=float).ravel()
    except (TypeError, ValueError):
        raise Mismatch(f"{what}: `w_mt` and `costs` should be arrays (or lists) of numbers") from None
    expect(w_mt.ndim == 1 and w_mt.size >= 50, f"{what}: `w_mt` should be a 1-D array of at least 50 weights; "
                                               f"it has shape {w_mt.shape}")
    expect(costs.size == w_mt.size, f"{what}: `costs` should hold one cost per weight in `w_mt` ({w_mt.size}); "
                                    f"it holds {costs.size}")
    return w_norm, b_norm, w_mt_fit, w_mt, costs


@graded("interaction_sweep", points=1)
def test_sweep_costs_are_m3_with_one_weight_varied(student, ref):
    what = "your interaction sweep"
    w_norm, b_norm, _, w_mt, costs = _sweep(student, ref, what)
    X3 = _own(lambda: student.standardize(student.build_features(ref.M, ref.T, "M3"))[0],
              lambda: ref.standardize(ref.build_features(ref.M, ref.T, "M3"))[0])
    X3 = np.asarray(X3, dtype=float)
    picks = {int(k) for k in np.linspace(0, w_mt.size - 1, 12).round()}
    if np.isfinite(costs).any():
        picks.add(int(np.nanargmin(costs)))
    picks = sorted(picks)
    for k in picks:
        w = w_norm.copy()
        w[3] = w_mt[k]
        want = _own(lambda: student.compute_cost(X3, ref.L, w, b_norm), lambda: ref.compute_cost(X3, ref.L, w, b_norm))
        expect_number(f"costs[{k}] (your compute_cost of M3 on its standardized features, with w_norm[3] = "
                      f"w_mt[{k}] = {w_mt[k]:.4g})", float(costs[k]), as_number("the cost", want))


@graded("interaction_sweep", points=1)
def test_sweep_spans_the_fit_and_no_interaction(student, ref):
    what = "your interaction sweep"
    w_norm, _, w_mt_fit, w_mt, costs = _sweep(student, ref, what)
    if not np.all(np.isfinite(w_norm)):
        # The student's own M3 fit diverged (a mistake in a function, which costs that function's
        # points): there is no fitted weight to sweep around, so only the sweep's own cell is judged.
        record(f"{what}: fitted weights are finite", np.array([False]))
        return
    low, high = float(np.nanmin(w_mt)), float(np.nanmax(w_mt))
    expect(low < min(w_mt_fit, 0.0) and high > max(w_mt_fit, 0.0),
           f"{what}: `w_mt` runs from {low:.4g} to {high:.4g}; it should run from below both the fitted weight "
           f"({w_mt_fit:.4g}) and 0 to above both")
    steps = np.diff(w_mt)
    expect(bool(np.all(steps > 0)) and np.allclose(steps, steps.mean(), rtol=1e-3),
           f"{what}: the weights in `w_mt` should be evenly spaced and increasing (np.linspace)")


@graded("interaction_sweep", points=1)
def test_sweep_plot(student, figures, ref):
    what = "your interaction sweep plot"
    _, _, w_mt_fit, w_mt, costs = _sweep(student, ref, "your interaction sweep")
    ax = plot_axes(figure_of(figures, "interaction_sweep", what), what)
    line = find_series(ax.of_kind("line"), costs)
    if line is None or not np.allclose(line.x, w_mt[line.indices()], rtol=1e-6, atol=1e-9, equal_nan=True):
        raise Mismatch(f"{what} has no line of `costs` against `w_mt`; draw plt.plot(w_mt, costs)")
    marks = [s for s in ax.of_kind("line", "scatter")
             if s is not line and s.x.size and np.allclose(s.x, w_mt_fit, rtol=1e-6, atol=1e-9, equal_nan=True)]
    expect(bool(marks), f"{what} does not mark the fitted weight ({w_mt_fit:.4g}); draw plt.axvline(w_mt_fit)")
    expect_labels(ax, what, x=("weight", "interaction", "w"), y=COST)


def _new_star(student, what):
    L_new = _kept(student, "L_new", what)
    if not isinstance(L_new, dict):
        raise Mismatch(f"{what}: `L_new` should be a dict keyed by 'M1', 'M2' and 'M3'; it is {_describe(L_new)}")
    missing = [m for m in MODELS if m not in L_new]
    expect(not missing, f"{what}: `L_new` has no prediction for {', '.join(repr(m) for m in missing)}")
    return {m: float(as_number(f"L_new[{m!r}]", L_new[m])) for m in MODELS}


@graded("predict_new_star", points=1)
def test_new_star_has_a_prediction_per_model(student):
    what = "your prediction for the new star"
    predictions = _new_star(student, what)
    for model, value in predictions.items():
        if not np.isfinite(value):
            # Not finite because the student's own fit is not (diverged through a mistake in a
            # function, charged there), or through this cell's own doing.
            weights = _fit_of(student, model, what)
            diverged = not np.all(np.isfinite(np.asarray(weights["w_norm"], dtype=float)))
            expect(diverged, f"{what}: L_new[{model!r}] is {value}; it should be a finite luminosity")


@graded("predict_new_star", points=1)
def test_new_star_predictions_from_the_fits(student, ref):
    what = "your prediction for the new star"
    predictions = _new_star(student, what)
    fits = _fits(student, what)
    M_new, T_new = np.array([ref.NEW_STAR[0]]), np.array([ref.NEW_STAR[1]])
    for model in MODELS:
        n = N_FEATURES[model]
        w_norm = _numbers(fits[model]["w_norm"], f"fits[{model!r}]['w_norm']", n)
        b_norm = float(as_number(f"fits[{model!r}]['b_norm']", fits[model]["b_norm"]))
        try:  # as the student's standardize gave them (a scalar broadcasts as numpy does)
            mu = np.asarray(fits[model]["mu"], dtype=float)
            sigma = np.asarray(fits[model]["sigma"], dtype=float)
        except (TypeError, ValueError):
            raise Mismatch(f"{what}: fits[{model!r}]['mu'] and ['sigma'] should be arrays of numbers") from None
        X_new = ref.build_features(M_new, T_new, model)
        # The fitted model on the star, in physical units, however it is computed: through the
        # student's own unscale_params and predict (as the notebook asks), or straight from the
        # standardized weights.
        candidates = [float((((X_new - mu) / sigma) @ w_norm + b_norm)[0])]
        try:
            w, b = student.unscale_params(w_norm, b_norm, mu, sigma)
            own = student.predict(student.build_features(M_new, T_new, model), np.asarray(w, dtype=float), b)
            candidates.append(float(np.asarray(own, dtype=float).ravel()[0]))
        except (StudentRaised, MissingFunction, CallTimeout, TypeError, ValueError, IndexError):
            pass
        got = predictions[model]
        close = [np.isclose(got, c, rtol=1e-6, atol=1e-9, equal_nan=True) for c in candidates]
        record(f"L_new[{model!r}]", np.array([got]), np.array([candidates[-1]]), ok=any(close))
        expect(any(close), f"{what}: L_new[{model!r}] is {got:.6g}; your {model} fit predicts {candidates[-1]:.6g} "
                           f"L_sun for M = {ref.NEW_STAR[0]:g}, T = {ref.NEW_STAR[1]:g} K (build its raw features "
                           "and predict with fits[model]['w'] and fits[model]['b'])")


# --- compliance (2) --------------------------------------------------------------------------

@graded("compliance", points=2)
def test_only_numpy_and_matplotlib(executed, student, lab):
    expect_compliant(executed, student, lab.allowed_imports)
