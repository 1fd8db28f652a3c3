"""Hidden tests for Lab 1 (linear regression). Never released; run by ``autograder.judge``.

Points per function must add up to the ``points`` of the notebook's ``test_<function>`` cell
(the judge checks): plot_data 2, predict 2, compute_cost 4, compute_gradient_loop 4,
compute_gradient 4, cost_grid 3, plot_cost_surface 3, gradient_descent 5, plot_convergence 2,
compare_learning_rates 3, plot_fit 2, compliance 2.

Each function is judged on its own: where a function is meant to call another graded function
(gradient_descent calls compute_gradient, cost_grid may call compute_cost), the tests record
what those calls returned and accept values consistent with them, so one mistake costs the
points of the function that has it and no others.
"""

import ast

import numpy as np

from autograder.compliance import expect_compliant
from autograder.course import load_sibling
from autograder.figures import (expect_field, expect_labels, expect_legend, expect_series, figure_of, find_series,
                                match_points, plot_axes)
from autograder.kernel import CallProblem, CallTimeout, MissingFunction, StudentRaised
from autograder.suite import (Mismatch, as_number, expect, expect_array, expect_number, expect_pair,
                              expect_sequence, graded, own_result, record)

labels = load_sibling(__file__, "labels.py")


def _data(rng, m=None, scale=3.0):
    m = int(rng.integers(5, 40)) if m is None else m
    x = rng.uniform(0.2, scale, size=m)
    y = 4.0 * x ** 2 - 3.0 + rng.normal(0.0, 1.0, size=m)
    return x, y


def _params(rng):
    return float(rng.normal(0.0, 5.0)), float(rng.normal(0.0, 5.0))


def _expect_gradient(label, got, want, own=None):
    pair = expect_pair(label, got, labels.GRADIENT)
    expect_number(f"{label}[0] (dj_dw)", pair[0], want[0], also=None if own is None else own[0])
    expect_number(f"{label}[1] (dj_db)", pair[1], want[1], also=None if own is None else own[1])


# compute_cost and compute_gradient may call the student's own predict (the notebook's solution
# does): then a value consistent with what that predict returned counts as right too, so a wrong
# predict costs predict's points and no others.

def _own_predictions(student, spied, x, w, b):
    """What the student's predict returned inside the checked call, if that call was on the test's
    own (x, w, b): the same values the student's predict gives for them when asked directly."""
    pred = own_result(spied, "predict", np.shape(x))
    if pred is None:
        return None
    try:
        direct = student.predict(x, w, b)
    except Exception:  # noqa: BLE001 - a predict that fails on its own is predict's to pay for
        return None
    again = own_result({"predict": [{"result": direct}]}, "predict", pred.shape)
    if again is None or not np.allclose(again, pred, rtol=1e-9, atol=1e-12, equal_nan=True):
        return None  # predict was called on something else (arguments swapped, x negated, ...)
    return pred


def _expect_cost(student, ref, label, x, y, w, b):
    result = student.call("compute_cost", x, y, w, b, spy=("predict",))
    pred = _own_predictions(student, result.spied, x, w, b)
    own = None if pred is None else float(np.sum((pred - y) ** 2) / (2 * len(x)))
    expect_number(label, result.value, ref.compute_cost(x, y, w, b), also=own)


def _expect_vectorized_gradient(student, ref, label, x, y, w, b):
    result = student.call("compute_gradient", x, y, w, b, spy=("predict",))
    pred = _own_predictions(student, result.spied, x, w, b)
    own = None if pred is None else (float(np.dot(pred - y, x) / len(x)), float(np.sum(pred - y) / len(x)))
    _expect_gradient(label, result.value, ref.compute_gradient(x, y, w, b), own)


# --- predict (2) -------------------------------------------------------------------------

@graded("predict", points=1)
def test_predict_random(student, rng, ref):
    x, _ = _data(rng)
    w, b = _params(rng)
    expect_array("predict(x, w, b)", student.predict(x, w, b), ref.predict(x, w, b))


@graded("predict", points=1)
def test_predict_single_star_and_integers(student, ref):
    x = np.array([3])
    expect_array("predict([3], w=2, b=-1) with integer inputs", student.predict(x, 2, -1), ref.predict(x, 2, -1))
    x = np.arange(1, 7)
    expect_array("predict(x, w, b) with an integer array x", student.predict(x, 0.5, 0.25), ref.predict(x, 0.5, 0.25))


# --- compute_cost (4) ----------------------------------------------------------------------

@graded("compute_cost", points=2)
def test_cost_random(student, rng, ref):
    x, y = _data(rng)
    w, b = _params(rng)
    _expect_cost(student, ref, "compute_cost(x, y, w, b)", x, y, w, b)


@graded("compute_cost", points=1)
def test_cost_on_the_stars(student, rng, ref):
    w, b = _params(rng)
    _expect_cost(student, ref, "compute_cost(M, L, w, b)", ref.M, ref.L, w, b)


@graded("compute_cost", points=1)
def test_cost_single_star_and_integers(student, ref):
    x, y = np.array([2]), np.array([7])
    _expect_cost(student, ref, "compute_cost([2], [7], w=3, b=0) (one star, integers)", x, y, 3, 0)
    x, y = np.arange(1, 9), np.arange(2, 18, 2)
    _expect_cost(student, ref, "compute_cost(x, y, 1, 1) with integer arrays", x, y, 1, 1)


# --- compute_gradient_loop (4) --------------------------------------------------------------

@graded("compute_gradient_loop", points=2)
def test_gradient_loop_random(student, rng, ref):
    x, y = _data(rng)
    w, b = _params(rng)
    _expect_gradient("compute_gradient_loop(x, y, w, b)", student.compute_gradient_loop(x, y, w, b),
                     ref.compute_gradient(x, y, w, b))


@graded("compute_gradient_loop", points=1)
def test_gradient_loop_single_star(student, ref):
    x, y = np.array([1.5]), np.array([4.0])
    _expect_gradient("compute_gradient_loop([1.5], [4.0], w=2, b=0.5) (one star)",
                     student.compute_gradient_loop(x, y, 2.0, 0.5), ref.compute_gradient(x, y, 2.0, 0.5))


def _has_loop(source, function):
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == function:
            loops = (ast.For, ast.While, ast.ListComp, ast.GeneratorExp, ast.SetComp, ast.DictComp)
            return any(isinstance(n, loops) for n in ast.walk(node))
    return None


@graded("compute_gradient_loop", points=1)
def test_gradient_loop_is_a_loop(student, student_source, ref):
    found = _has_loop(student_source.get("compute_gradient_loop", ""), "compute_gradient_loop")
    expect(found is not None, "could not find `def compute_gradient_loop` in its answer cell")
    expect(found, "compute_gradient_loop should accumulate the gradient with an explicit Python loop")
    _expect_gradient("compute_gradient_loop(M, L, 10, -5)", student.compute_gradient_loop(ref.M, ref.L, 10.0, -5.0),
                     ref.compute_gradient(ref.M, ref.L, 10.0, -5.0))


# --- compute_gradient (4) -------------------------------------------------------------------

@graded("compute_gradient", points=2)
def test_gradient_random(student, rng, ref):
    x, y = _data(rng)
    w, b = _params(rng)
    _expect_vectorized_gradient(student, ref, "compute_gradient(x, y, w, b)", x, y, w, b)


@graded("compute_gradient", points=1)
def test_gradient_single_star_and_integers(student, ref):
    x, y = np.array([2]), np.array([5])
    _expect_vectorized_gradient(student, ref, "compute_gradient([2], [5], w=1, b=1) (one star, integers)",
                                x, y, 1, 1)
    x, y = np.arange(0, 10), np.arange(10, 0, -1)
    _expect_vectorized_gradient(student, ref, "compute_gradient(x, y, 2, 3) with integer arrays", x, y, 2, 3)


@graded("compute_gradient", points=1)
def test_gradient_large_values(student, rng, ref):
    x = rng.uniform(1e5, 1e6, size=2000)
    y = 3e5 * x + rng.normal(0.0, 1e9, size=2000)
    w, b = 1e4, -2e9
    _expect_vectorized_gradient(student, ref, "compute_gradient(x, y, w, b) with values near 1e6 and m = 2000",
                                x, y, w, b)


# --- cost_grid (3) ---------------------------------------------------------------------------

def _own_costs(spied):
    """The student's own compute_cost results, keyed by (w, b), where cost_grid called it."""
    own = {}
    for call in spied.get("compute_cost", []):
        args = call["args"]
        if len(args) >= 4:
            try:
                own[(float(args[2]), float(args[3]))] = float(as_number("compute_cost", call["result"]))
            except (Mismatch, TypeError, ValueError):
                pass
    return own


@graded("cost_grid", points=1)
def test_cost_grid_shape(student, rng):
    x, y = _data(rng, m=6)
    w_values, b_values = np.linspace(-2, 4, 7), np.linspace(-1, 1, 4)
    grid = student.cost_grid(x, y, w_values, b_values)
    expect(isinstance(grid, np.ndarray), f"cost_grid returned {type(grid).__name__}; expected a numpy array")
    expect(grid.shape == (4, 7), f"cost_grid with 7 w values and 4 b values returned shape {grid.shape}; "
                                 "expected (len(b_values), len(w_values)) = (4, 7)")


def _expect_grid(student, ref, label, x, y, w_values, b_values):
    result = student.call("cost_grid", x, y, w_values, b_values, spy=("compute_cost",))
    own = _own_costs(result.spied)
    expected = np.array([[own.get((float(w), float(b)), ref.compute_cost(x, y, w, b)) for w in w_values]
                         for b in b_values])
    expect_array(label, result.value, expected)


@graded("cost_grid", points=1)
def test_cost_grid_values(student, rng, ref):
    x, y = _data(rng, m=9)
    w_values = np.sort(rng.uniform(-5, 10, size=6))
    b_values = np.sort(rng.uniform(-10, 5, size=5))
    _expect_grid(student, ref, "cost_grid(x, y, w_values, b_values)", x, y, w_values, b_values)


@graded("cost_grid", points=1)
def test_cost_grid_integer_axes(student, rng, ref):
    # The notebook allows axes of integers (np.arange(-5, 6)); the costs are still real numbers.
    x, y = _data(rng, m=7)
    w_values, b_values = np.arange(-2, 5), np.arange(-3, 1)
    _expect_grid(student, ref, "cost_grid(x, y, np.arange(-2, 5), np.arange(-3, 1)) with integer axes",
                 x, y, w_values, b_values)


# --- gradient_descent (5) --------------------------------------------------------------------

def _run_gd(student, x, y, w0, b0, alpha, iters, *, history=True):
    """Run the student's gradient_descent. With ``history=False`` a J_history in the wrong form is
    returned as ``None`` instead of failing, so a test of the updates does not also charge for it
    (that is the history test's to judge)."""
    result = student.call("gradient_descent", x, y, w0, b0, alpha, iters, spy=("compute_gradient", "compute_cost"))
    value = result.value
    if not (isinstance(value, (tuple, list)) and len(value) == 3):
        raise Mismatch(f"gradient_descent returned {type(value).__name__}"
                       f"{' of ' + str(len(value)) + ' items' if isinstance(value, (tuple, list)) else ''}; "
                       "expected (w, b, J_history)")
    w = as_number("gradient_descent's w", value[0])
    b = as_number("gradient_descent's b", value[1])
    try:
        costs = expect_sequence("gradient_descent's J_history", value[2], iters)
    except Mismatch:
        if history:
            raise
        costs = None
    return w, b, costs, result.spied


def _trajectory(spied, w, b):
    """Points where the student's compute_gradient was evaluated, then the returned (w, b)."""
    points = []
    for call in spied.get("compute_gradient", []):
        args = call["args"]
        points.append((float(args[2]), float(args[3])) if len(args) >= 4 else (np.nan, np.nan))
    return points + [(w, b)]


# Iterations at which the convergence curve is kept for the feedback page (a record holds at
# most 64 values in full): every one of the first ten, then every fifth.
CURVE_ITERATIONS = np.array([*range(1, 11), *range(15, 201, 5)])


def _record_for_feedback(w, b, history, ref_history):
    """What the feedback page draws (``feedback.py``): the student's fit and convergence curve
    on the stars, and the reference's curve on the same run. Recorded, never judged."""
    record(labels.FIT, np.array([w, b]))
    record(labels.ITERATIONS, CURVE_ITERATIONS)
    record(labels.CURVE,
           history[CURVE_ITERATIONS - 1], np.asarray(ref_history, dtype=float)[CURVE_ITERATIONS - 1])


@graded("gradient_descent", points=1)
def test_gd_calls_compute_gradient_each_iteration(student, ref):
    w, b, history, spied = _run_gd(student, ref.M, ref.L, 0.0, 0.0, 0.1, 200, history=False)
    if history is not None:  # in the wrong form it is only not drawn: the history test charges for it
        record("J_history on the stars (alpha=0.1, 200 iterations)", history)
        _record_for_feedback(w, b, history, ref.gradient_descent(ref.M, ref.L, 0.0, 0.0, 0.1, 200)[2])
    calls = len(spied.get("compute_gradient", []))
    expect(calls == 200, f"gradient_descent called compute_gradient {calls} times for 200 iterations; "
                         "it should call your compute_gradient once per iteration")


@graded("gradient_descent", points=2)
def test_gd_update_rule(student, rng, ref):
    x, y = _data(rng, m=12)
    w0, b0 = _params(rng)
    alpha, iters = 0.01, 40
    w, b, _, spied = _run_gd(student, x, y, w0, b0, alpha, iters, history=False)
    grads = spied.get("compute_gradient", [])
    if len(grads) != iters:
        # Not using compute_gradient: judge the whole run against the reference instead.
        w_ref, b_ref, _ = ref.gradient_descent(x, y, w0, b0, alpha, iters)
        expect_number("gradient_descent's final w", w, w_ref)
        expect_number("gradient_descent's final b", b, b_ref)
        return
    points = _trajectory(spied, w, b)
    expect_number("the (w, b) of the first compute_gradient call: w", points[0][0], w0)
    expect_number("the (w, b) of the first compute_gradient call: b", points[0][1], b0)
    for k, call in enumerate(grads):
        try:
            dw, db = (float(as_number("compute_gradient", v)) for v in expect_pair("compute_gradient", call["result"], labels.GRADIENT))
        except Mismatch:
            raise Mismatch("compute_gradient did not return a pair of numbers inside gradient_descent") from None
        (wk, bk), (wn, bn) = points[k], points[k + 1]
        expect_number(f"w after update {k}", wn, wk - alpha * dw)
        expect_number(f"b after update {k}", bn, bk - alpha * db)


@graded("gradient_descent", points=1)
def test_gd_history_is_cost_after_each_update(student, rng, ref):
    x, y = _data(rng, m=10)
    w0, b0 = _params(rng)
    iters = 25
    w, b, history, spied = _run_gd(student, x, y, w0, b0, 0.02, iters)
    own = _own_costs(spied)
    points = _trajectory(spied, w, b)
    if len(points) != iters + 1:
        _, _, ref_history = ref.gradient_descent(x, y, w0, b0, 0.02, iters)
        expect_array("J_history", history, ref_history)
        return
    expected = [own.get(p, ref.compute_cost(x, y, *p)) for p in points[1:]]
    expect_array("J_history (J_history[i] is the cost after update i)", history, expected)


@graded("gradient_descent", points=1)
def test_gd_diverging_learning_rate(student, rng, ref):
    x, y = _data(rng, m=8, scale=3.0)
    alpha, iters = 1.5, 20
    w, b, _, spied = _run_gd(student, x, y, 0.0, 0.0, alpha, iters, history=False)
    _, _, ref_history = ref.gradient_descent(x, y, 0.0, 0.0, alpha, iters)
    expect(ref_history[-1] > ref_history[0], "internal: this learning rate should diverge")
    # Judged on where it went (reference cost), not on J_history, which a wrong compute_cost
    # may have computed: that mistake is compute_cost's to pay for.
    start, end = ref.compute_cost(x, y, 0.0, 0.0), ref.compute_cost(x, y, w, b)
    expect(end > start,
           f"with alpha = {alpha} gradient descent diverges, so the cost at the returned (w, b) should be far "
           f"above the start's; it is {end:.6g} against {start:.6g} (do not clip or stop early)")
    calls = len(spied.get("compute_gradient", []))
    expect(calls in (0, iters), f"with alpha = {alpha} gradient_descent called compute_gradient {calls} times for "
                                f"{iters} iterations; it should take every step even when the cost grows")


# --- figures and experiments -----------------------------------------------------------------
# Each is judged from the figure its cell showed (described as data while the notebook ran) and
# the variables the notebook asks the cell to keep, against what the student's *own* functions
# give: a wrong gradient_descent costs gradient_descent's points, not the plots' as well.

def _points(ax, what):
    """The series of ``ax`` drawn as points: a scatter, or a line drawn with markers only."""
    return [s for s in ax.series
            if s.kind == "scatter" or (s.kind == "line" and s.marker not in (None, "None", "none", "", " "))]


def _stars_drawn(ax, ref, what):
    """Fail unless ``ax`` shows the ten stars as points, mass on x and luminosity on y."""
    drawn = _points(ax, what)
    found, swapped = match_points(drawn, ref.M, ref.L)
    if found is not None:
        return found
    if swapped is not None:
        raise Mismatch(f"{what} has mass on the y axis and luminosity on the x axis; "
                       "put M on the x axis and L on the y axis")
    sizes = ", ".join(str(s.n) for s in drawn) or "none"
    raise Mismatch(f"{what} should show the ten stars as points (M on the x axis, L on the y axis); "
                   f"the point series it shows have {sizes} points")


MASS, LUMINOSITY = ("mass", "M"), ("luminosity", "L")
ITERATION, COST = ("iteration", "step", "epoch", "iter"), ("cost", "J", "loss", "error")


@graded("plot_data", points=1)
def test_plot_data_shows_the_stars(figures, ref):
    what = "your plot of the data"
    _stars_drawn(plot_axes(figure_of(figures, "plot_data", what), what), ref, what)


@graded("plot_data", points=1)
def test_plot_data_axes_are_labelled(figures):
    what = "your plot of the data"
    expect_labels(plot_axes(figure_of(figures, "plot_data", what), what), what, x=MASS, y=LUMINOSITY)


def _kept(student, name, what):
    try:
        return student.value(name)
    except CallProblem as exc:
        raise Mismatch(f"{what}: {exc}") from None


def _surface(figures, what):
    figure = figure_of(figures, "plot_cost_surface", what)
    ax = plot_axes(figure, what, has=("contour", "contourf", "mesh", "image", "surface"))
    return ax, expect_field(ax, what, why="draw grid = cost_grid(M, L, w_values, b_values) over w and b")


@graded("plot_cost_surface", points=1)
def test_cost_surface_is_drawn(figures):
    _surface(figures, "your cost surface")


@graded("plot_cost_surface", points=1)
def test_cost_surface_draws_the_grid(student, figures, ref):
    what = "your cost surface"
    w_values = np.asarray(_kept(student, "w_values", what), dtype=float)
    b_values = np.asarray(_kept(student, "b_values", what), dtype=float)
    grid = _kept(student, "grid", what)
    expect(w_values.ndim == 1 and b_values.ndim == 1 and w_values.size >= 2 and b_values.size >= 2,
           f"{what}: w_values and b_values should be 1-D arrays of at least two values each")
    # The grid is what the student's own cost_grid gives on the stars (judged there, not here).
    expect_array("grid (your cost_grid(M, L, w_values, b_values))", np.asarray(grid, dtype=float),
                 np.asarray(student.cost_grid(ref.M, ref.L, w_values, b_values), dtype=float))
    grid = np.asarray(grid, dtype=float)
    _, field = _surface(figures, what)
    if field.kind == "surface":
        finite = grid[np.isfinite(grid)]
        expect(field.vmin is None or (field.vmin >= finite.min() - 1e-6 * abs(finite.min()) - 1e-9 and
                                      field.vmax <= finite.max() + 1e-6 * abs(finite.max()) + 1e-9),
               f"{what}: the surface's heights run from {field.vmin:.6g} to {field.vmax:.6g}, outside the costs in "
               f"`grid` ({finite.min():.6g} to {finite.max():.6g}); draw grid itself")
    else:
        # Transposed is the orientation test's to judge (w across, b up), not this one's.
        expect(field.grid in (None, grid.shape, grid.shape[::-1]),
               f"{what} draws a grid of shape {field.grid}; `grid` has shape {grid.shape} "
               "(len(b_values), len(w_values)): draw it as it is")


@graded("plot_cost_surface", points=1)
def test_cost_surface_has_w_across_and_b_up(student, figures):
    what = "your cost surface"
    ax, _ = _surface(figures, what)
    expect_labels(ax, what, x=("w", "weight", "slope"), y=("b", "bias", "intercept"))
    w_values = np.asarray(_kept(student, "w_values", what), dtype=float)
    b_values = np.asarray(_kept(student, "b_values", what), dtype=float)
    for axis, lim, values, name in (("x", ax.xlim, w_values, "w_values"), ("y", ax.ylim, b_values, "b_values")):
        low, high = float(np.nanmin(values)), float(np.nanmax(values))
        span = max(high - low, 1e-12)
        inside = lim is not None and min(lim) <= low + 0.02 * span and max(lim) >= high - 0.02 * span
        expect(inside and (max(lim) - min(lim)) <= 3 * span + 1e-9,
               f"{what}'s {axis} axis runs from {min(lim):.4g} to {max(lim):.4g}, not over {name} ({low:.4g} to "
               f"{high:.4g}): put w on the x axis and b on the y axis" if lim else f"{what} has no {axis} axis range")


def _drawn(history):
    """The lines matplotlib draws for ``history``: the array itself, or one line per column of a
    2-D one (a history of (iteration, cost) pairs is gradient_descent's mistake, not the plot's)."""
    arr = np.asarray(history, dtype=float)
    if arr.ndim == 2:
        return [arr[:, j] for j in range(arr.shape[1])] + [arr.ravel()]
    return [arr.ravel()]


def _line_of(ax, values, what, description):
    for candidate in _drawn(values):
        found = find_series(ax.of_kind("line", "scatter"), candidate, rtol=1e-6, atol=1e-9)
        if found is not None:
            return found
    raise Mismatch(f"{what} has no line showing {description}")


def _iterations(series, what):
    n = series.n
    x = series.x
    if not (np.allclose(x, series.indices()) or np.allclose(x, series.indices() + 1)):
        raise Mismatch(f"{what}: the x values should be the iteration numbers (0 to {n - 1} or 1 to {n}); "
                       f"they start {', '.join(f'{v:g}' for v in x[:3])}")


@graded("plot_convergence", points=1)
def test_convergence_plot_shows_the_run(student, figures, ref):
    what = "your convergence plot"
    history = np.asarray(_kept(student, "J_history", what), dtype=float)
    _, _, own = student.gradient_descent(ref.M, ref.L, 0.0, 0.0, 0.1, 1000)
    expect_array("J_history (your gradient_descent(M, L, 0, 0, 0.1, 1000)'s history)", history.ravel(),
                 np.asarray(own, dtype=float).ravel())
    ax = plot_axes(figure_of(figures, "plot_convergence", what), what)
    _line_of(ax, history, what, f"J_history (the {len(history)} costs of the run)")


@graded("plot_convergence", points=1)
def test_convergence_plot_axes(student, figures):
    what = "your convergence plot"
    history = np.asarray(_kept(student, "J_history", what), dtype=float)
    ax = plot_axes(figure_of(figures, "plot_convergence", what), what)
    _iterations(_line_of(ax, history, what, "J_history"), what)
    expect_labels(ax, what, x=ITERATION, y=COST)


def _rates_and_histories(student, what):
    rates = _kept(student, "rates", what)
    histories = _kept(student, "histories", what)
    if isinstance(histories, np.ndarray) and histories.ndim == 2:  # one row per rate
        histories = list(histories)
    if isinstance(histories, dict):  # keyed by rate: as good as a list in the order of rates
        try:
            histories = [histories[r] for r in rates]
        except (KeyError, TypeError):
            raise Mismatch(f"{what}: histories is a dict whose keys are not the rates in `rates`") from None
    try:
        rates = [float(as_number("a rate in `rates`", r)) for r in rates]
    except (TypeError, Mismatch):
        raise Mismatch(f"{what}: `rates` should be a list of learning rates (numbers)") from None
    # Comparing is the point of the part: fewer than three rates is no comparison, in any of its tests.
    expect(len(set(rates)) >= 3 and all(r > 0 for r in rates),
           f"{what}: `rates` should hold at least three different positive learning rates; it holds "
           f"{[float(f'{r:.6g}') for r in rates]}")
    expect(isinstance(histories, (list, tuple)) and len(histories) == len(rates),
           f"{what}: `histories` should hold one J_history per rate in `rates` ({len(rates)}), in the same order")
    return rates, [np.asarray(h, dtype=float) for h in histories]


@graded("compare_learning_rates", points=1)
def test_learning_rates_experiment(student, ref):
    what = "your learning-rate experiment"
    rates, histories = _rates_and_histories(student, what)
    for rate, history in zip(rates, histories):
        _, _, own = student.gradient_descent(ref.M, ref.L, 0.0, 0.0, rate, 300)
        expect_array(f"histories entry for alpha = {rate:g} (your gradient_descent(M, L, 0, 0, {rate:g}, 300))",
                     history.ravel(), np.asarray(own, dtype=float).ravel())


@graded("compare_learning_rates", points=1)
def test_learning_rates_plot_has_a_line_per_rate(student, figures):
    what = "your learning-rate plot"
    rates, histories = _rates_and_histories(student, what)
    ax = plot_axes(figure_of(figures, "compare_learning_rates", what), what)
    lines = expect_series(ax, what, kind="line", at_least=len(rates),
                          why=f"draw one per learning rate in `rates` ({len(rates)})")
    for rate, history in zip(rates, histories):
        if all(find_series(lines, drawn) is None for drawn in _drawn(history)):
            raise Mismatch(f"{what} has no line showing the history of alpha = {rate:g}; draw one per rate")


@graded("compare_learning_rates", points=1)
def test_learning_rates_plot_legend_and_axes(student, figures):
    what = "your learning-rate plot"
    rates, _ = _rates_and_histories(student, what)
    figure = figure_of(figures, "compare_learning_rates", what)
    ax = plot_axes(figure, what)
    legend = expect_legend(ax, what, figure=figure)
    expect(len(legend) >= len(rates), f"{what}'s legend has {len(legend)} entries; name each of the "
                                      f"{len(rates)} learning rates in it")
    expect_labels(ax, what, x=ITERATION, y=COST)


@graded("plot_fit", points=1)
def test_fit_is_the_run_and_shows_the_stars(student, figures, ref):
    what = "your plot of the fit"
    w_fit = as_number("w_fit", _kept(student, "w_fit", what))
    b_fit = as_number("b_fit", _kept(student, "b_fit", what))
    w_own, b_own, _ = student.gradient_descent(ref.M, ref.L, 0.0, 0.0, 0.1, 10_000)
    expect_number("w_fit (your gradient_descent(M, L, 0, 0, 0.1, 10000)'s w)", w_fit, as_number("w", w_own))
    expect_number("b_fit (your gradient_descent(M, L, 0, 0, 0.1, 10000)'s b)", b_fit, as_number("b", b_own))
    _stars_drawn(plot_axes(figure_of(figures, "plot_fit", what), what), ref, what)


def _own_line(student, line, w_fit, b_fit):
    try:
        own = np.asarray(student.predict(np.asarray(line.x, dtype=float), w_fit, b_fit), dtype=float)
    except (StudentRaised, MissingFunction, CallTimeout, TypeError, ValueError):
        return False
    return own.shape == line.y.shape and bool(np.allclose(line.y, own, rtol=1e-6, atol=1e-9))


@graded("plot_fit", points=1)
def test_fit_line_is_drawn_over_the_stars(student, figures):
    what = "your plot of the fit"
    w_fit = float(as_number("w_fit", _kept(student, "w_fit", what)))
    b_fit = float(as_number("b_fit", _kept(student, "b_fit", what)))
    ax = plot_axes(figure_of(figures, "plot_fit", what), what)
    lines = [s for s in ax.of_kind("line") if s.n >= 2 and s not in _points(ax, what)]
    for line in lines:
        # The line the fit gives, or what the student's own predict gives for it (a mistake in
        # predict costs predict's points, not the plot's as well).
        if np.allclose(line.y, w_fit * line.x + b_fit, rtol=1e-6, atol=1e-9) or _own_line(student, line, w_fit, b_fit):
            expect_labels(ax, what, x=MASS, y=LUMINOSITY)
            return
    raise Mismatch(f"{what} has no line y = w_fit * M + b_fit (w_fit = {w_fit:.4g}, b_fit = {b_fit:.4g}); "
                   f"draw your fitted line over the stars ({len(lines)} other line{'s' if len(lines) != 1 else ''})")


# --- compliance (2) --------------------------------------------------------------------------

@graded("compliance", points=2)
def test_only_numpy_and_matplotlib(executed, student, lab):
    expect_compliant(executed, student, lab.allowed_imports)
