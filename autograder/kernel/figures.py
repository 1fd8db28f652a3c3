"""Figures as data: what a matplotlib figure shows, described as plain JSON in the kernel.

This module's text is executed in the student's kernel before the notebook runs (``install``):
it registers an IPython display formatter for matplotlib figures, so every time a figure is
shown (``plt.show()``, the inline backend's flush at the end of a cell, ``display(fig)``, a
figure as a cell's last value) the display message carries, beside the PNG, a JSON description
under :data:`MIME`. The grader's papermill client takes that description off the output (it never
reaches the saved notebook) and notes which cell showed it; ``autograder.figures`` reads it.

The description is data, never code: the worst a hostile kernel can do is describe a figure it
did not draw, and figure checks compare what is drawn with values computed from the student's own
functions, so that gains nothing. Long series are downsampled (true sizes and the kept indices
recorded) and the whole description is bounded, so a figure of a million points costs kilobytes.

Nothing here may raise into the student's cell: an artist it cannot describe becomes a note.
It is also importable in the grader's process (the tests describe figures directly).
"""

MIME = "application/x-autograder-figure+json"
SCHEMA = "autograder.figure/1"
MAX_POINTS = 400  # values kept per series (evenly spaced, first and last always kept)
MAX_SERIES = 40  # lines, collections, images or bar groups kept per axes
MAX_AXES = 24
MAX_TEXT = 200  # characters kept of a title, label or legend entry
MAX_BYTES = 400_000  # a description longer than this is redescribed with fewer points, then refused


def _text(value):
    try:
        text = str(value if value is not None else "")
    except Exception:  # noqa: BLE001 - a label whose __str__ raises
        return ""
    return text[:MAX_TEXT]


def _label(artist):
    label = _text(artist.get_label())
    return None if label.startswith("_") or not label else label  # "_child0", "_nolegend_": unlabelled


def _number(value):
    try:
        number = float(value)
    except Exception:  # noqa: BLE001
        return None
    return number


def _pair(values):
    return [_number(v) for v in values]


def _series(values, keep):
    """``values`` (any array-like) flattened to floats, cut to the indices ``keep``."""
    import numpy as np

    try:
        array = np.ma.filled(np.ma.asarray(values, dtype=float), np.nan).ravel()
    except Exception:  # noqa: BLE001 - dates, strings, objects: described by size only
        return None
    if keep is not None:
        array = array[keep[keep < array.size]]
    return [float(v) for v in array.tolist()]


def _keep(n, limit):
    """Indices kept of a series of ``n`` values: all of them, or ``limit`` evenly spaced."""
    import numpy as np

    if n <= limit:
        return None
    return np.unique(np.linspace(0, n - 1, limit).round().astype(int))


def _sampled(entry, n, keep):
    entry["n"] = int(n)
    if keep is not None:
        entry["kept"] = [int(i) for i in keep.tolist()]
    return entry


def _colour(value):
    from matplotlib.colors import to_hex

    try:
        return to_hex(value, keep_alpha=False)
    except Exception:  # noqa: BLE001
        return None


def _cmap(mappable):
    try:
        return mappable.get_cmap().name
    except Exception:  # noqa: BLE001
        return None


def _colorbar(mappable):
    """The label of the colorbar drawn for ``mappable``; "" for one without a label; None for none."""
    bar = getattr(mappable, "colorbar", None)
    if bar is None:
        return None
    try:
        axis = bar.ax.yaxis if getattr(bar, "orientation", "vertical") == "vertical" else bar.ax.xaxis
        return _text(axis.get_label_text())
    except Exception:  # noqa: BLE001
        return ""


def _line(line, limit):
    import numpy as np

    if hasattr(line, "get_data_3d"):
        xs, ys, zs = line.get_data_3d()
    else:
        xs, ys = line.get_data()
        zs = None
    n = max(np.size(xs), np.size(ys))
    keep = _keep(n, limit)
    entry = {"label": _label(line), "x": _series(xs, keep), "y": _series(ys, keep),
             "color": _colour(line.get_color()), "linestyle": _text(line.get_linestyle()),
             "marker": _text(line.get_marker()), "visible": bool(line.get_visible())}
    if zs is not None:
        entry["z"] = _series(zs, keep)
    return _sampled(entry, n, keep)


def _scatter(collection, limit):
    import numpy as np

    offsets = np.asarray(collection.get_offsets())
    n = len(offsets) if offsets.ndim == 2 else 0
    keep = _keep(n, limit)
    entry = {"kind": "scatter", "label": _label(collection),
             "x": _series(offsets[:, 0], keep) if n else [], "y": _series(offsets[:, 1], keep) if n else []}
    offsets3d = getattr(collection, "_offsets3d", None)
    if offsets3d is not None:
        entry["z"] = _series(offsets3d[2], keep)
    mapped = collection.get_array()
    if mapped is not None and np.size(mapped) == n and n:
        entry["c"] = _series(mapped, keep)
        entry["cmap"] = _cmap(collection)
        entry["colorbar"] = _colorbar(collection)
    else:
        faces = collection.get_facecolors()
        entry["colors"] = sorted({c for c in (_colour(f) for f in faces[:limit]) if c})[:16]
    return _sampled(entry, n, keep)


def _contour(contours):
    import numpy as np

    grid = None
    generator = getattr(contours, "_contour_generator", None)
    try:  # one chunk (matplotlib's default): the chunk is the whole grid, less one each way
        if generator is not None and tuple(generator.chunk_count) == (1, 1):
            grid = [int(s) + 1 for s in generator.chunk_size]
    except Exception:  # noqa: BLE001
        grid = None
    levels = np.asarray(contours.levels, dtype=float)
    return {"kind": "contourf" if contours.filled else "contour", "label": _label(contours),
            "levels": [float(v) for v in levels[:MAX_POINTS].tolist()], "n_levels": int(levels.size),
            "zmin": _number(contours.zmin), "zmax": _number(contours.zmax), "grid": grid,
            "cmap": _cmap(contours), "colorbar": _colorbar(contours)}


def _mesh(collection):
    import numpy as np

    array = collection.get_array()
    shape = list(np.shape(array)) if array is not None else None
    values = np.ma.filled(np.ma.asarray(array, dtype=float), np.nan) if array is not None else None
    finite = values[np.isfinite(values)] if values is not None else None
    return {"kind": "mesh", "shape": shape,
            "vmin": float(finite.min()) if finite is not None and finite.size else None,
            "vmax": float(finite.max()) if finite is not None and finite.size else None,
            "cmap": _cmap(collection), "colorbar": _colorbar(collection)}


def _surface(collection):
    import numpy as np

    array = collection.get_array()
    values = np.ma.filled(np.ma.asarray(array, dtype=float), np.nan).ravel() if array is not None else None
    finite = values[np.isfinite(values)] if values is not None else None
    return {"kind": "surface", "polygons": len(collection.get_paths()),
            "cmap": _cmap(collection) if array is not None else None,
            "vmin": float(finite.min()) if finite is not None and finite.size else None,
            "vmax": float(finite.max()) if finite is not None and finite.size else None,
            "colorbar": _colorbar(collection)}


def _collection(collection, limit):
    from matplotlib.collections import PathCollection, QuadMesh
    from matplotlib.contour import ContourSet

    if isinstance(collection, ContourSet):
        return _contour(collection)
    if isinstance(collection, QuadMesh):
        return _mesh(collection)
    kind = type(collection).__name__
    if kind == "Poly3DCollection":
        return _surface(collection)
    if isinstance(collection, PathCollection) or kind == "Path3DCollection":
        return _scatter(collection, limit)
    return {"kind": "other", "type": kind, "label": _label(collection)}


def _image(image):
    import numpy as np

    array = image.get_array()
    return {"kind": "image", "shape": list(np.shape(array)) if array is not None else None,
            "extent": _pair(image.get_extent()), "cmap": _cmap(image), "colorbar": _colorbar(image)}


def _bars(container, limit):
    patches = list(container.patches)
    n = len(patches)
    keep = _keep(n, limit)
    chosen = patches if keep is None else [patches[i] for i in keep]
    vertical = getattr(container, "orientation", "vertical") != "horizontal"
    entry = {"kind": "bars", "label": _label(container), "orientation": "vertical" if vertical else "horizontal",
             "x": [_number(p.get_x() + p.get_width() / 2) if vertical else _number(p.get_y() + p.get_height() / 2)
                   for p in chosen],
             "heights": [_number(p.get_height() if vertical else p.get_width()) for p in chosen]}
    return _sampled(entry, n, keep)


def _title(ax):
    for loc in ("center", "left", "right"):
        title = _text(ax.get_title(loc))
        if title:
            return title
    return ""


def _legend(legend):
    if legend is None:
        return None
    try:
        return [_text(t.get_text()) for t in legend.get_texts()][:MAX_SERIES]
    except Exception:  # noqa: BLE001
        return []


def _each(items, describe, notes, what):
    """Describe up to MAX_SERIES of ``items``; an item that cannot be described becomes a note."""
    out = []
    for item in list(items)[:MAX_SERIES]:
        try:
            out.append(describe(item))
        except Exception as exc:  # noqa: BLE001 - never a crash: the note says what was skipped
            notes.append(f"a {what} ({type(item).__name__}) could not be described: {type(exc).__name__}")
    if len(items) > MAX_SERIES:
        notes.append(f"{len(items)} {what}s; the first {MAX_SERIES} are described")
    return out


def _axes(ax, limit):
    from matplotlib.container import BarContainer

    notes = []
    name = getattr(ax, "name", "rectilinear")
    entry = {"kind": "colorbar" if getattr(ax, "_colorbar", None) is not None else name,
             "title": _title(ax), "xlabel": _text(ax.get_xlabel()), "ylabel": _text(ax.get_ylabel()),
             "xscale": _text(ax.get_xscale()), "yscale": _text(ax.get_yscale()),
             "xlim": _pair(ax.get_xlim()), "ylim": _pair(ax.get_ylim())}
    if name == "3d":
        entry.update(zlabel=_text(ax.get_zlabel()), zscale=_text(ax.get_zscale()), zlim=_pair(ax.get_zlim()))
    bar_patches = {id(p) for c in ax.containers if isinstance(c, BarContainer) for p in c.patches}
    entry["lines"] = _each(ax.get_lines(), lambda line: _line(line, limit), notes, "line")
    entry["collections"] = _each(ax.collections, lambda c: _collection(c, limit), notes, "collection")
    entry["images"] = _each(ax.get_images(), _image, notes, "image")
    entry["bars"] = _each([c for c in ax.containers if isinstance(c, BarContainer)],
                          lambda c: _bars(c, limit), notes, "bar group")
    entry["patches"] = sum(1 for p in ax.patches if id(p) not in bar_patches)
    entry["texts"] = [_text(t.get_text()) for t in ax.texts[:MAX_SERIES]]
    entry["legend"] = _legend(ax.get_legend())
    entry["notes"] = notes
    return entry


def describe(figure, *, limit=MAX_POINTS):
    """A plain-JSON description of a matplotlib ``figure`` (see the module's docstring)."""
    axes = list(figure.axes)
    suptitle = getattr(figure, "_suptitle", None)
    description = {"schema": SCHEMA, "number": getattr(figure, "number", None),
                   "size": _pair(figure.get_size_inches()),
                   "suptitle": _text(suptitle.get_text()) if suptitle is not None else "",
                   "legends": [_legend(legend) for legend in figure.legends][:MAX_SERIES],
                   "axes": [], "notes": []}
    for ax in axes[:MAX_AXES]:
        try:
            description["axes"].append(_axes(ax, limit))
        except Exception as exc:  # noqa: BLE001
            description["notes"].append(f"an axes could not be described: {type(exc).__name__}: {_text(exc)}")
    if len(axes) > MAX_AXES:
        description["notes"].append(f"{len(axes)} axes; the first {MAX_AXES} are described")
    return description


def describe_json(figure):
    """``describe(figure)`` as JSON text of at most MAX_BYTES; never raises."""
    import json

    try:
        for limit in (MAX_POINTS, MAX_POINTS // 8, 8):
            text = json.dumps(describe(figure, limit=limit), allow_nan=True)
            if len(text) <= MAX_BYTES:
                return text
        return json.dumps({"schema": SCHEMA, "error": f"the figure's description is larger than {MAX_BYTES} bytes "
                                                      "even with 8 points per series"})
    except Exception as exc:  # noqa: BLE001 - never into the student's cell
        return json.dumps({"schema": SCHEMA, "error": f"the figure could not be described: "
                                                      f"{type(exc).__name__}: {_text(exc)}"})


def install(shell, mime=MIME):
    """Register the figure formatter with IPython ``shell``'s display formatter."""
    from IPython.core.formatters import BaseFormatter
    from matplotlib.figure import Figure

    formatter = BaseFormatter(parent=shell.display_formatter)
    formatter.format_type = mime
    # Found as a method of the figure, not registered for its type: `%matplotlib inline` clears
    # every formatter's printers for Figure (IPython's select_figure_formats), and would drop ours.
    formatter.print_method = "_repr_autograder_figure_"  # not __repr__: only figures are described
    Figure._repr_autograder_figure_ = describe_json
    shell.display_formatter.formatters[mime] = formatter


def install_code() -> str:
    """Code that installs this module's formatter in a kernel, leaving its namespace as it was."""
    from pathlib import Path

    source = Path(__file__).read_text(encoding="utf-8")
    return ("def _autograder_figures(source):\n"
            "    namespace = {'__name__': 'autograder_figures'}\n"
            "    exec(compile(source, '<autograder figures>', 'exec'), namespace)\n"
            "    namespace['install'](get_ipython())\n"
            f"_autograder_figures({source!r})\n"
            "del _autograder_figures\n")
