"""Hidden tests for Lab 2 (polynomial regression with an interaction feature). Never released;
run by ``autograder.judge``.

Points per function must add up to the ``points`` of the notebook's ``test_<function>`` cell
(the judge checks): build_features 3, standardize 3, predict 2, compute_cost 2,
compute_gradient 3, gradient_descent 4, unscale_params 3.

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

from autograder.course import load_sibling
from autograder.kernel import StudentRaised
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
