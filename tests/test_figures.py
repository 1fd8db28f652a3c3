"""Figures as data: the kernel-side description of each artist kind, its bounds, the grader-side
reading of it, the figure checks' messages, and the capture through a real kernel."""

import json

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from autograder import figures as F  # noqa: E402
from autograder.kernel import figures as K  # noqa: E402
from autograder.suite import Mismatch  # noqa: E402


@pytest.fixture(autouse=True)
def _close_all():
    yield
    plt.close("all")


def _read(fig, cell=0, grade_id="plot"):
    return F.parse_description(K.describe_json(fig), cell=cell, grade_id=grade_id)


def test_lines_labels_scales_and_legend():
    fig, ax = plt.subplots()
    ax.plot([1, 2, 3], [10, 100, 1000], "r--o", label="alpha = 0.1")
    ax.plot([1, 2, 3], [5, 50, 500], label="alpha = 0.01")
    ax.set(xlabel="iteration", ylabel="cost J", title="Convergence", yscale="log")
    ax.legend()
    figure = _read(fig)
    (axes,) = figure.axes
    assert (axes.title, axes.xlabel, axes.ylabel, axes.yscale, axes.xscale) == \
        ("Convergence", "iteration", "cost J", "log", "linear")
    assert axes.legend == ("alpha = 0.1", "alpha = 0.01")
    first, second = axes.of_kind("line")
    assert first.label == "alpha = 0.1" and first.color == "#ff0000" and first.linestyle == "--" and first.marker == "o"
    assert first.x.tolist() == [1, 2, 3] and first.y.tolist() == [10, 100, 1000] and first.n == 3
    assert second.kept is None and second.label == "alpha = 0.01"


def test_scatter_with_colour_array_and_colorbar():
    fig, ax = plt.subplots()
    temperature = np.array([3000.0, 5800.0, 9000.0, 12000.0])
    points = ax.scatter([0.5, 1.0, 1.5, 2.0], [0.1, 1.0, 5.0, 20.0], c=temperature, cmap="plasma")
    fig.colorbar(points, ax=ax, label="T (K)")
    figure = _read(fig)
    (axes,) = figure.axes  # the colorbar's axes is not a plot
    assert figure.colorbars == ("T (K)",)
    (scatter,) = axes.of_kind("scatter")
    assert scatter.c.tolist() == temperature.tolist()
    assert (scatter.cmap, scatter.colorbar, scatter.n) == ("plasma", "T (K)", 4)
    assert scatter.x.tolist() == [0.5, 1.0, 1.5, 2.0]


def test_plain_scatter_has_no_colour_values():
    fig, ax = plt.subplots()
    ax.scatter([1, 2], [3, 4], color="k")
    (scatter,) = _read(fig).axes[0].of_kind("scatter")
    assert scatter.c is None and scatter.colorbar is None


def test_contours_filled_contours_and_their_grid():
    fig, (left, right) = plt.subplots(1, 2)
    z = np.add.outer(np.arange(6.0), np.arange(9.0))  # 6 rows (b), 9 columns (w)
    left.contour(np.arange(9), np.arange(6), z, levels=5)
    filled = right.contourf(np.arange(9), np.arange(6), z, levels=12, cmap="viridis")
    fig.colorbar(filled, ax=right, label="J(w, b)")
    figure = _read(fig)
    lines, fills = (a.fields[0] for a in figure.axes)
    assert lines.kind == "contour" and lines.grid == (6, 9) and lines.levels.size >= 3
    assert fills.kind == "contourf" and fills.grid == (6, 9) and fills.colorbar == "J(w, b)"
    assert fills.vmin == pytest.approx(0.0, abs=1e-9) and fills.vmax >= 13.0


def test_image_mesh_surface_and_bars():
    fig = plt.figure()
    image_ax = fig.add_subplot(2, 2, 1)
    image_ax.imshow(np.zeros((4, 7)), cmap="gray")
    mesh_ax = fig.add_subplot(2, 2, 2)
    mesh_ax.pcolormesh(np.arange(5.0 * 3).reshape(3, 5))
    surface_ax = fig.add_subplot(2, 2, 3, projection="3d")
    w, b = np.meshgrid(np.arange(4.0), np.arange(3.0))
    surface_ax.plot_surface(w, b, w * b, cmap="viridis")
    surface_ax.set_zlabel("cost")
    bars_ax = fig.add_subplot(2, 2, 4)
    bars_ax.bar(["M1", "M2", "M3"], [3.0, 2.0, 1.0], label="final cost")
    image, mesh, surface, bars = _read(fig).axes
    assert image.fields[0].kind == "image" and image.fields[0].grid == (4, 7) and image.fields[0].cmap == "gray"
    assert mesh.fields[0].kind == "mesh" and mesh.fields[0].vmax == 14.0
    assert surface.kind == "3d" and surface.zlabel == "cost" and surface.fields[0].kind == "surface"
    (group,) = bars.of_kind("bars")
    assert group.y.tolist() == [3.0, 2.0, 1.0] and group.x.tolist() == [0.0, 1.0, 2.0] and group.label == "final cost"


def test_long_series_are_downsampled_with_their_true_size():
    fig, ax = plt.subplots()
    x = np.arange(100_000)
    ax.plot(x, np.sqrt(x))
    text = K.describe_json(fig)
    assert len(text) < K.MAX_BYTES
    (line,) = F.parse_description(text, cell=0).axes[0].of_kind("line")
    assert line.n == 100_000 and line.x.size <= K.MAX_POINTS and line.x[0] == 0 and line.x[-1] == 99_999
    assert np.array_equal(line.x, line.indices()) and np.allclose(line.y, np.sqrt(line.indices()))
    F.expect_data(line, "the curve", x=x, y=np.sqrt(x))  # judged at the kept points


def test_many_series_stay_within_the_byte_bound():
    fig, ax = plt.subplots()
    for k in range(K.MAX_SERIES + 10):
        ax.plot(np.arange(5000), np.arange(5000) * k)
    text = K.describe_json(fig)
    assert len(text) <= K.MAX_BYTES
    axes = F.parse_description(text, cell=0).axes[0]
    assert len(axes.of_kind("line")) == K.MAX_SERIES
    assert any("first 40" in note for note in axes.notes)


def test_unreadable_descriptions_are_refused_not_crashed():
    for text in ("", "not json", "[1, 2]", json.dumps({"schema": "other"}), "x" * (F.MAX_DESCRIPTION + 1)):
        with pytest.raises(F.Unreadable):
            F.parse_description(text, cell=0)
    forged = json.dumps({"schema": "autograder.figure/1", "axes": [{"lines": [{"x": "abc", "y": [1]}]}]})
    with pytest.raises(F.Unreadable, match="x is not a list"):
        F.parse_description(forged, cell=0)
    too_large = F.read_figures([(0, None)])
    assert too_large.figures[0].error == "its description was too large to keep"
    bad = F.read_figures([(3, "garbage")])
    assert bad.figures == [] and bad.notes == ["a figure shown by cell 3 could not be read: not JSON "
                                               "(Expecting value: line 1 column 1 (char 0))"]


def test_a_figure_that_cannot_be_described_is_a_note(monkeypatch):
    fig, ax = plt.subplots()
    ax.plot([1, 2], [3, 4])
    monkeypatch.setattr(K, "_line", lambda line, limit: 1 / 0)
    axes = _read(fig).axes[0]
    assert axes.series == () and axes.notes == ("a line (Line2D) could not be described: ZeroDivisionError",)


# --- checks and their messages --------------------------------------------------------------------

def _figures(*figs, grade_ids=("plot",)):
    shown = [(i, K.describe_json(f)) for i, f in enumerate(figs)]
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(metadata={"nbgrader": {"grade_id": g}}) for g in grade_ids]
    return F.read_figures(shown, nb)


def test_no_figure_in_the_cell():
    with pytest.raises(Mismatch) as err:
        F.figure_of(F.Figures(), "plot_convergence", "your convergence plot")
    assert str(err.value) == ("your convergence plot: no figure was shown by its cell (plot_convergence); draw it "
                              "there, and do not close it before it is shown")


def test_series_count_labels_and_scale_messages():
    fig, ax = plt.subplots()
    ax.plot([1, 2, 3], [3, 2, 1])
    figures = _figures(fig)
    ax_ = F.plot_axes(F.figure_of(figures, "plot", "your convergence plot"), "your convergence plot")
    with pytest.raises(Mismatch) as err:
        F.expect_series(ax_, "your convergence plot", count=3, why="draw one per learning rate in `rates`")
    assert str(err.value) == "your convergence plot has 1 line; expected 3; draw one per learning rate in `rates`"
    with pytest.raises(Mismatch) as err:
        F.expect_labels(ax_, "your convergence plot", x=("iteration",), y=False)
    assert str(err.value) == "your convergence plot has no x-axis label; label it (for example one that says 'iteration')"
    with pytest.raises(Mismatch) as err:
        F.expect_scale(ax_, "your convergence plot", "y", "log")
    assert str(err.value) == "your convergence plot's y axis is on a linear scale; use a log scale (ax.set_yscale('log'))"


def test_mislabelled_axis_is_named():
    fig, ax = plt.subplots()
    ax.plot([1, 2], [3, 4])
    ax.set(xlabel="w", ylabel="luminosity")
    ax_ = F.plot_axes(F.figure_of(_figures(fig), "plot", "your plot"), "your plot")
    with pytest.raises(Mismatch) as err:
        F.expect_labels(ax_, "your plot", x=("iteration",), y=("cost", "J"))
    assert str(err.value) == ("your plot's x-axis label is 'w'; it should say what is on that axis ('iteration')")


def test_data_and_colour_checks():
    fig, ax = plt.subplots()
    ax.scatter([1.0, 2.0, 3.0], [2.0, 4.0, 7.0], c=[10.0, 20.0, 30.0])
    (points,) = F.expect_series(F.plot_axes(F.figure_of(_figures(fig), "plot", "p"), "p"), "your scatter",
                                kind="scatter", count=1)
    F.expect_data(points, "your scatter", x=[1, 2, 3], y=[2, 4, 7], c=[10, 20, 30])
    with pytest.raises(Mismatch) as err:
        F.expect_data(points, "your scatter", y=[2, 4, 6])
    assert str(err.value) == ("your scatter: point 2 has y = 7; expected 6 (the y values should be the ones the "
                              "notebook asks for on the vertical axis)")
    with pytest.raises(Mismatch) as err:
        F.expect_data(points, "your scatter", y=[2, 4])
    assert str(err.value) == "your scatter plots 3 points; expected 2"


def test_field_check_names_what_was_drawn_instead():
    fig, ax = plt.subplots()
    ax.plot([1, 2], [1, 2])
    ax_ = F.plot_axes(F.figure_of(_figures(fig), "plot", "p"), "p")
    with pytest.raises(Mismatch) as err:
        F.expect_field(ax_, "your cost surface", kinds=("contour", "contourf", "surface"))
    assert str(err.value) == ("your cost surface: expected contour lines or filled contours or a 3-D surface; "
                              "the plot shows 1 line")


# --- through a real kernel --------------------------------------------------------------------------

def test_capture_in_a_real_kernel(tmp_path):
    from autograder.config import GradingConfig
    from autograder.kernel import KernelSession

    cells = [
        ("setup", "import numpy as np\nimport matplotlib.pyplot as plt\n%matplotlib inline"),
        ("shown", "plt.plot([1, 2, 3], [1, 4, 9], label='J'); plt.xlabel('iteration'); plt.legend(); plt.show()\n"
                  "plt.scatter([1, 2], [3, 4], c=[5, 6]); plt.colorbar(label='T')"),
        ("closed", "fig, ax = plt.subplots(); ax.plot([0, 1], [0, 1]); plt.close(fig)"),
        ("started", "fig, ax = plt.subplots()"),
        ("finished", "ax.set_title('drawn over two cells'); ax.plot([5, 6], [7, 8]); fig"),
        ("none", "print('no figure here')"),
    ]
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src, metadata={"nbgrader": {"grade_id": gid}}) for gid, src in cells]
    with KernelSession(GradingConfig()) as session:
        execution = session.run(nb)
    assert execution.problems == [] and execution.figures_described
    figures = F.read_figures(execution.figures, execution.notebook)
    assert [f.grade_id for f in figures] == ["shown", "shown", "started", "finished"]
    line_plot, scatter_plot = figures.in_cell("shown")
    assert line_plot.axes[0].xlabel == "iteration" and line_plot.axes[0].legend == ("J",)
    assert scatter_plot.colorbars == ("T",) and scatter_plot.axes[0].of_kind("scatter")[0].c.tolist() == [5, 6]
    assert figures.in_cell("closed") == [] and figures.in_cell("none") == []
    (later,) = figures.in_cell("finished")
    assert later.axes[0].title == "drawn over two cells" and later.axes[0].of_kind("line")[0].y.tolist() == [7, 8]
    # The descriptions are the grader's: the saved notebook keeps the PNG and nothing else of them.
    for cell in execution.notebook.cells:
        for out in cell.outputs:
            assert K.MIME not in out.get("data", {})
    assert any("image/png" in out.get("data", {}) for out in execution.notebook.cells[1].outputs)


def test_experiment_results_are_read_from_the_kernel_as_values():
    from autograder.config import GradingConfig
    from autograder.kernel import KernelBridge, KernelSession, MissingFunction

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import numpy as np\nrates = [0.01, 0.1]\n"
                                          "histories = {0.01: np.array([3.0, 2.0]), 0.1: np.array([3.0, 1.0])}\n"
                                          "L_new = np.float64(2.5)")]
    with KernelSession(GradingConfig()) as session:
        session.run(nb)
        bridge = KernelBridge(session.connection_info(), interrupt=session.interrupt,
                              is_alive=session.kernel_alive, call_timeout=10)
        try:
            assert bridge.value("rates") == [0.01, 0.1]
            histories = bridge.value("histories")
            assert sorted(histories) == [0.01, 0.1] and histories[0.1].tolist() == [3.0, 1.0]
            assert bridge.value("L_new") == 2.5
            with pytest.raises(MissingFunction) as err:
                bridge.value("w_sweep")
        finally:
            bridge.close()
    assert str(err.value) == ("w_sweep is not defined: the notebook asks you to leave this result in a variable "
                              "named `w_sweep`; run the cell that sets it")


def test_points_are_matched_as_pairs_and_swapped_axes_are_told_apart():
    x, y = np.array([0.6, 1.0, 2.4]), np.array([0.15, 1.0, 35.0])
    fig, (a, b) = plt.subplots(1, 2)
    a.scatter(x[::-1], y[::-1])  # the same stars, drawn in another order
    b.scatter(y, x)  # axes swapped
    shown = _read(fig)
    drawn, swapped = shown.axes[0].of_kind("scatter"), shown.axes[1].of_kind("scatter")
    assert F.match_points(drawn, x, y) == (drawn[0], None)
    assert F.match_points(swapped, x, y) == (None, swapped[0])
    assert F.match_points(drawn, x, y * 2) == (None, None)
