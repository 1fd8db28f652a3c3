"""The figures a notebook showed, as typed values, and the checks a hidden suite makes of them.

While a notebook runs, the kernel describes every figure it shows as plain JSON
(:mod:`autograder.kernel.figures`); the run keeps those descriptions with the cell that showed
each one. This module reads them (bounded, validated: a description is the kernel's word, never
trusted to be well formed) into :class:`Figure` values, and gives the hidden suite its figure
checks. They are judged here, in the grader's process, and fail with a message in a student's
terms, like ``expect_*`` of :mod:`autograder.suite`::

    @graded("plot_convergence", points=1)
    def test_convergence_plot(figures, student, ref):
        ax = plot_axes(figure_of(figures, "plot_convergence", "your convergence plot"), "your convergence plot")
        expect_series(ax, "your convergence plot", kind="line", count=3, why="one line per learning rate in `rates`")
        expect_labels(ax, "your convergence plot", x=("iteration",), y=("cost", "j"))

A series' data is compared with values the test computes from the student's own functions, so a
wrong function costs its own points and not the plot's as well, and a kernel that forges a
description gains nothing its functions did not earn.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np

from .cells import grade_id
from .suite import Mismatch, record

MAX_DESCRIPTION = 1_000_000  # characters of JSON read per figure; longer ones are not read


# --- the values --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Series:
    """One plotted series: a line, a scatter's points, or a group of bars."""

    kind: str  # "line", "scatter" or "bars"
    label: str | None
    x: np.ndarray
    y: np.ndarray
    n: int  # how many points were drawn (x and y may hold fewer: see ``kept``)
    kept: np.ndarray | None = None  # indices of the drawn points that x and y hold; None: all
    z: np.ndarray | None = None
    c: np.ndarray | None = None  # the values mapped to colour (a scatter's ``c=``), when given
    cmap: str | None = None
    colorbar: str | None = None  # the label of its colorbar ("" unlabelled); None when there is none
    color: str | None = None
    linestyle: str | None = None
    marker: str | None = None

    def indices(self) -> np.ndarray:
        """Which of the drawn points ``x`` and ``y`` hold (all of them unless downsampled)."""
        return np.arange(self.n) if self.kept is None else self.kept


@dataclass(frozen=True)
class Field:
    """A plot of a function over a grid: contour lines, filled contours, a mesh, an image, a 3-D surface."""

    kind: str  # "contour", "contourf", "mesh", "image" or "surface"
    levels: np.ndarray | None = None
    grid: tuple[int, ...] | None = None  # the grid's shape (rows, columns), where known
    vmin: float | None = None
    vmax: float | None = None
    cmap: str | None = None
    colorbar: str | None = None


@dataclass(frozen=True)
class Axes:
    kind: str  # "rectilinear", "3d", "polar", ...
    title: str = ""
    xlabel: str = ""
    ylabel: str = ""
    zlabel: str = ""
    xscale: str = "linear"
    yscale: str = "linear"
    zscale: str = "linear"
    xlim: tuple[float, float] | None = None
    ylim: tuple[float, float] | None = None
    series: tuple[Series, ...] = ()
    fields: tuple[Field, ...] = ()
    legend: tuple[str, ...] | None = None  # the legend's entries; None when it has no legend
    texts: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def of_kind(self, *kinds: str) -> list[Series]:
        return [s for s in self.series if s.kind in kinds]

    @property
    def drawn(self) -> bool:
        return bool(self.series or self.fields)


@dataclass(frozen=True)
class Figure:
    """One figure as a cell showed it."""

    cell: int  # index of the cell in the executed notebook
    grade_id: str | None  # that cell's nbgrader grade id, if it has one
    axes: tuple[Axes, ...] = ()  # the plotting axes, colorbars left out
    suptitle: str = ""
    legends: tuple[tuple[str, ...], ...] = ()  # figure-level legends
    colorbars: tuple[str, ...] = ()  # labels of the colorbar axes
    notes: tuple[str, ...] = ()
    error: str | None = None  # the figure was shown but could not be described

    @property
    def plots(self) -> list[Axes]:
        """The axes that hold something drawn."""
        return [a for a in self.axes if a.drawn]


@dataclass
class Figures:
    """Every figure a notebook showed, in order, and what kept any from being described."""

    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    described: bool = True  # False: the kernel could not be set up to describe figures

    def __iter__(self):
        return iter(self.figures)

    def __len__(self) -> int:
        return len(self.figures)

    def in_cell(self, grade_id: str) -> list[Figure]:
        return [f for f in self.figures if f.grade_id == grade_id]


# --- reading descriptions -------------------------------------------------------------------------

class Unreadable(ValueError):
    """A description that is not one (malformed, forged, or cut short)."""


def _str(value: Any) -> str:
    return value[:500] if isinstance(value, str) else ""


def _optional_str(value: Any) -> str | None:
    return value[:500] if isinstance(value, str) else None


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _floats(value: Any, what: str) -> np.ndarray:
    if value is None:
        return np.zeros(0)
    if not isinstance(value, list):
        raise Unreadable(f"{what} is not a list of numbers")
    return np.array([v if isinstance(v, (int, float)) and not isinstance(v, bool) else math.nan for v in value],
                    dtype=float)


def _limits(value: Any) -> tuple[float, float] | None:
    if isinstance(value, list) and len(value) == 2:
        low, high = _float(value[0]), _float(value[1])
        if low is not None and high is not None:
            return low, high
    return None


def _series(entry: dict, kind: str) -> Series:
    x, y = _floats(entry.get("x"), "x"), _floats(entry.get("y"), "y")
    n = entry.get("n")
    n = int(n) if isinstance(n, int) and not isinstance(n, bool) and n >= 0 else max(x.size, y.size)
    kept = entry.get("kept")
    kept = np.array([int(i) for i in kept if isinstance(i, int)], dtype=int) if isinstance(kept, list) else None
    if kept is not None and kept.size != max(x.size, y.size):
        kept = None if max(x.size, y.size) == n else kept[: max(x.size, y.size)]
    c = entry.get("c")
    return Series(kind=kind, label=_optional_str(entry.get("label")), x=x, y=y, n=n, kept=kept,
                  z=_floats(entry["z"], "z") if isinstance(entry.get("z"), list) else None,
                  c=_floats(c, "c") if isinstance(c, list) else None, cmap=_optional_str(entry.get("cmap")),
                  colorbar=_optional_str(entry.get("colorbar")), color=_optional_str(entry.get("color")),
                  linestyle=_optional_str(entry.get("linestyle")), marker=_optional_str(entry.get("marker")))


def _field(entry: dict) -> Field:
    kind = entry.get("kind")
    grid = entry.get("grid") if kind in ("contour", "contourf") else entry.get("shape")
    grid = tuple(int(g) for g in grid if isinstance(g, int)) if isinstance(grid, list) else None
    levels = entry.get("levels")
    vmin, vmax = (entry.get("zmin"), entry.get("zmax")) if kind in ("contour", "contourf") else \
        (entry.get("vmin"), entry.get("vmax"))
    return Field(kind=kind, levels=_floats(levels, "levels") if isinstance(levels, list) else None, grid=grid,
                 vmin=_float(vmin), vmax=_float(vmax), cmap=_optional_str(entry.get("cmap")),
                 colorbar=_optional_str(entry.get("colorbar")))


def _axes(entry: dict) -> Axes:
    series: list[Series] = []
    fields: list[Field] = []
    for line in entry.get("lines") or []:
        if isinstance(line, dict) and line.get("visible", True) is not False:
            series.append(_series(line, "line"))
    for item in entry.get("collections") or []:
        if not isinstance(item, dict):
            continue
        if item.get("kind") == "scatter":
            series.append(_series(item, "scatter"))
        elif item.get("kind") in ("contour", "contourf", "mesh", "surface"):
            fields.append(_field(item))
    for item in entry.get("images") or []:
        if isinstance(item, dict):
            fields.append(_field({**item, "kind": "image"}))
    for item in entry.get("bars") or []:
        if isinstance(item, dict):
            series.append(_series({**item, "y": item.get("heights")}, "bars"))
    legend = entry.get("legend")
    return Axes(kind=_str(entry.get("kind")) or "rectilinear", title=_str(entry.get("title")),
                xlabel=_str(entry.get("xlabel")), ylabel=_str(entry.get("ylabel")), zlabel=_str(entry.get("zlabel")),
                xscale=_str(entry.get("xscale")) or "linear", yscale=_str(entry.get("yscale")) or "linear",
                zscale=_str(entry.get("zscale")) or "linear", xlim=_limits(entry.get("xlim")),
                ylim=_limits(entry.get("ylim")), series=tuple(series), fields=tuple(fields),
                legend=tuple(_str(t) for t in legend) if isinstance(legend, list) else None,
                texts=tuple(_str(t) for t in entry.get("texts") or [] if isinstance(t, str)),
                notes=tuple(_str(t) for t in entry.get("notes") or [] if isinstance(t, str)))


def parse_description(text: str | None, *, cell: int, grade_id: str | None = None) -> Figure:
    """A :class:`Figure` from the kernel's JSON description of it.

    Raises:
        Unreadable: the text is not a figure description (a figure that could not be described
            is a Figure with ``error`` set, not this).
    """
    if text is None:
        return Figure(cell=cell, grade_id=grade_id, error="its description was too large to keep")
    if not isinstance(text, str) or len(text) > MAX_DESCRIPTION:
        raise Unreadable("not a description of a bounded size")
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise Unreadable(f"not JSON ({exc})") from None
    if not isinstance(data, dict) or not str(data.get("schema", "")).startswith("autograder.figure/"):
        raise Unreadable("not a figure description")
    if data.get("error"):
        return Figure(cell=cell, grade_id=grade_id, error=_str(data["error"]))
    try:
        axes = [_axes(a) for a in data.get("axes") or [] if isinstance(a, dict)]
    except (Unreadable, TypeError, ValueError, OverflowError) as exc:
        raise Unreadable(f"its axes are malformed ({exc})") from None
    return Figure(cell=cell, grade_id=grade_id, axes=tuple(a for a in axes if a.kind != "colorbar"),
                  suptitle=_str(data.get("suptitle")),
                  legends=tuple(tuple(_str(t) for t in legend) for legend in data.get("legends") or []
                                if isinstance(legend, list)),
                  colorbars=tuple(a.ylabel or a.xlabel for a in axes if a.kind == "colorbar"),
                  notes=tuple(_str(t) for t in data.get("notes") or [] if isinstance(t, str)))


def read_figures(shown: Iterable[tuple[int, str | None]], notebook=None, *, described: bool = True) -> Figures:
    """The figures of one run: ``shown`` is ``Execution.figures`` ((cell index, JSON) pairs)."""
    cells = notebook.cells if notebook is not None else []
    out = Figures(described=described)
    if not described:
        out.notes.append("the grader could not describe this notebook's figures")
    for index, text in shown:
        gid = grade_id(cells[index]) if 0 <= index < len(cells) else None
        try:
            out.figures.append(parse_description(text, cell=index, grade_id=gid))
        except Unreadable as exc:
            out.notes.append(f"a figure shown by cell {index} could not be read: {exc}")
    return out


# --- checks ------------------------------------------------------------------------------------------

def figure_of(figures: Figures, cell: str, what: str, *, where: str | None = None) -> Figure:
    """The last figure the answer cell with grade id ``cell`` showed.

    ``what`` names the figure as the notebook does ("your convergence plot"); ``where`` says where
    the student draws it, if not the cell of that grade id ("the cell under 3.2").
    """
    shown = figures.in_cell(cell)
    if not shown:
        place = where or f"its cell ({cell})"
        other = f" (the grader could not describe figures: {figures.notes[0]})" if not figures.described else ""
        raise Mismatch(f"{what}: no figure was shown by {place}; draw it there, and do not close it "
                       f"before it is shown{other}")
    figure = shown[-1]
    record(f"{what}: figure", np.array([len(figure.plots)]))
    if figure.error:
        raise Mismatch(f"{what}: the figure could not be read by the grader ({figure.error})")
    return figure


def plot_axes(figure: Figure, what: str, *, kind: str | None = None, has: Sequence[str] = (), index: int | None = None) -> Axes:
    """The axes of ``figure`` that holds the plot: the only one with something drawn, or the one
    of ``kind`` (``"3d"``), or holding a series or field of one of the kinds in ``has``, or the
    ``index``-th plot."""
    plots = figure.plots
    if kind is not None:
        plots = [a for a in plots if a.kind == kind]
    if has:
        plots = [a for a in plots if a.of_kind(*has) or any(f.kind in has for f in a.fields)]
    if index is not None:
        if index >= len(plots):
            raise Mismatch(f"{what}: expected at least {index + 1} plots in the figure; it has {len(plots)}")
        return plots[index]
    if not plots:
        drawn = ", ".join(sorted({s.kind for a in figure.plots for s in a.series} |
                                 {f.kind for a in figure.plots for f in a.fields})) or "nothing"
        want = " ".join(x for x in (f"a {kind} plot" if kind else "", " or ".join(has)) if x) or "a plot"
        raise Mismatch(f"{what}: expected {want} in the figure; it shows {drawn}")
    return plots[0]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def expect_series(ax: Axes, what: str, *, kind: str | Sequence[str] = "line", count: int | None = None,
                  at_least: int | None = None, why: str = "") -> list[Series]:
    """The series of ``kind`` in ``ax``; exactly ``count`` of them, or ``at_least`` that many."""
    kinds = (kind,) if isinstance(kind, str) else tuple(kind)
    found = ax.of_kind(*kinds)
    record(f"{what}: {'/'.join(kinds)} series", np.array([len(found)]))
    noun = {"line": "line", "scatter": "scatter of points", "bars": "group of bars"}.get(kinds[0], kinds[0])
    reason = f"; {why}" if why else ""
    if count is not None and len(found) != count:
        raise Mismatch(f"{what} has {_plural(len(found), noun)}; expected {count}{reason}")
    if at_least is not None and len(found) < at_least:
        raise Mismatch(f"{what} has {_plural(len(found), noun)}; expected at least {at_least}{reason}")
    return found


def expect_field(ax: Axes, what: str, *, kinds: Sequence[str] = ("contour", "contourf", "mesh", "image", "surface"),
                 why: str = "") -> Field:
    """The first contour, mesh, image or surface in ``ax`` of one of ``kinds``."""
    for f in ax.fields:
        if f.kind in kinds:
            record(f"{what}: {f.kind}", np.array(f.grid or (), dtype=float))
            return f
    names = {"contour": "contour lines", "contourf": "filled contours", "mesh": "a colour mesh",
             "image": "an image", "surface": "a 3-D surface"}
    shown = ", ".join(names.get(f.kind, f.kind) for f in ax.fields) or \
        ", ".join(sorted({_plural(len(ax.of_kind(k)), k) for k in ("line", "scatter", "bars") if ax.of_kind(k)})) or \
        "nothing"
    raise Mismatch(f"{what}: expected {' or '.join(names.get(k, k) for k in kinds)}; the plot shows {shown}"
                   + (f" ({why})" if why else ""))


def mentions(label: str, words: Sequence[str]) -> bool:
    """Whether ``label`` names one of ``words``: a word anywhere (any case), a one-letter symbol
    ("w", "M") only standing alone ("$w$", "w [L_sun]", "M_star"), in its own case."""
    for word in words:
        if len(word) == 1:
            if re.search(rf"(?<![A-Za-z\\]){re.escape(word)}(?![A-Za-z])", label):
                return True
        elif word.lower() in label.lower():
            return True
    return False


def expect_labels(ax: Axes, what: str, *, x: Sequence[str] | bool = True, y: Sequence[str] | bool = True,
                  z: Sequence[str] | bool = False, title: bool = False) -> None:
    """Axis labels present (``True``) or naming one of the given words (case-insensitive)."""
    for axis, want, label in (("x", x, ax.xlabel), ("y", y, ax.ylabel), ("z", z, ax.zlabel)):
        if want is False:
            continue
        if not label.strip():
            hint = f" (for example one that says {want[0]!r})" if not isinstance(want, bool) and want else ""
            raise Mismatch(f"{what} has no {axis}-axis label; label it{hint}")
        if not isinstance(want, bool) and want and not mentions(label, want):
            options = " or ".join(repr(w) for w in want)
            raise Mismatch(f"{what}'s {axis}-axis label is {label!r}; it should say what is on that axis "
                           f"({options})")
    if title and not ax.title.strip():
        raise Mismatch(f"{what} has no title; give it one")


def expect_scale(ax: Axes, what: str, axis: str, scale: str, *, why: str = "") -> None:
    got = {"x": ax.xscale, "y": ax.yscale, "z": ax.zscale}[axis]
    record(f"{what}: {axis} scale", np.array([got == scale]))
    if got != scale:
        raise Mismatch(f"{what}'s {axis} axis is on a {got} scale; use a {scale} scale"
                       + (f" ({why})" if why else "") + f" (ax.set_{axis}scale({scale!r}))")


def expect_legend(ax: Axes, what: str, *, entries: int | None = None, figure: Figure | None = None) -> tuple[str, ...]:
    """A legend on ``ax`` (or on the figure), with ``entries`` entries if given."""
    legend = ax.legend if ax.legend is not None else (figure.legends[0] if figure is not None and figure.legends else None)
    if legend is None:
        raise Mismatch(f"{what} has no legend; label each series and call legend()")
    if entries is not None and len(legend) != entries:
        raise Mismatch(f"{what}'s legend has {len(legend)} {'entry' if len(legend) == 1 else 'entries'}; "
                       f"expected {entries}, one per series")
    return legend


def _sampled(values: Any, series: Series, what: str, axis: str) -> np.ndarray:
    want = np.asarray(values, dtype=float).ravel()
    if want.size != series.n:
        raise Mismatch(f"{what} plots {_plural(series.n, 'point')}; expected {want.size}")
    return want[series.indices()]


def expect_data(series: Series, what: str, *, x: Any = None, y: Any = None, c: Any = None,
                rtol: float = 1e-6, atol: float = 1e-9, x_label: str = "x", y_label: str = "y") -> None:
    """The plotted values of ``series`` equal ``x``, ``y`` (and the colour values ``c``): compared at
    every point the description kept."""
    for axis, want, got, name in (("x", x, series.x, x_label), ("y", y, series.y, y_label), ("c", c, series.c, "colour")):
        if want is None:
            continue
        if got is None:
            raise Mismatch(f"{what}: the points are not coloured by a value; pass c=... to scatter")
        expected = _sampled(want, series, what, axis)
        if got.size != expected.size:
            raise Mismatch(f"{what} plots {_plural(series.n, 'point')} but the grader could read only {got.size}")
        close = np.isclose(got, expected, rtol=rtol, atol=atol, equal_nan=True)
        record(f"{what}: {name} values", got, expected, ok=bool(close.all()))
        if not close.all():
            i = int(np.argmin(close))
            point = int(series.indices()[i])
            raise Mismatch(f"{what}: point {point} has {name} = {got[i]:.6g}; expected {expected[i]:.6g} "
                           f"(the {name} values should be {_describe_expected(name)})")


def _describe_expected(name: str) -> str:
    return {"x": "the ones the notebook asks for on the horizontal axis",
            "y": "the ones the notebook asks for on the vertical axis",
            "colour": "the values the notebook asks the colour to encode"}.get(name, "as the notebook asks")


def match_points(candidates: Sequence[Series], x: Any, y: Any, *, rtol: float = 1e-6) -> tuple[Series | None, Series | None]:
    """Among ``candidates``, the series that draws the points (``x``, ``y``) as pairs, in any order;
    and, when none does, one that draws them with the axes swapped (``(None, swapped)``), so a suite
    can say which axis holds what. ``(None, None)``: no series shows those points."""
    points = sorted(zip(np.asarray(x, dtype=float).tolist(), np.asarray(y, dtype=float).tolist()))

    def draws(s: Series, swapped: bool) -> bool:
        if s.n != len(points) or s.x.size != s.n:
            return False
        pairs = zip(s.y.tolist(), s.x.tolist()) if swapped else zip(s.x.tolist(), s.y.tolist())
        return bool(np.allclose(sorted(pairs), points, rtol=rtol))

    for s in candidates:
        if draws(s, False):
            return s, None
    return None, next((s for s in candidates if draws(s, True)), None)


def find_series(candidates: Sequence[Series], y: Any, *, rtol: float = 1e-6, atol: float = 1e-9) -> Series | None:
    """The series among ``candidates`` whose y values are ``y`` (for plots drawn in any order)."""
    want = np.asarray(y, dtype=float).ravel()
    for s in candidates:
        if s.n == want.size and s.y.size == s.indices().size and \
                np.allclose(s.y, want[s.indices()], rtol=rtol, atol=atol, equal_nan=True):
            return s
    return None
