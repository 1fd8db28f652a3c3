"""Feedback pages for students: one self-contained HTML page per result, written beside it at
``OUT/<student>/<lab>/feedback.html``.

A page shows the score per graded function, the message of every test that did not pass, what
went wrong while the notebook ran, and pictures where a lab draws some. It is built from
``result.json`` alone (plus what a lab's picture hook reads): no hidden test code, and no value
of the reference beyond what the failed tests' messages already say. Every string that came
from a result (student id, messages, error values) is HTML-escaped. Pictures are PNGs drawn with
matplotlib's Agg canvas and inlined as base64, so the page needs nothing else to display.

Pictures are lab content, not engine: a lab may ship ``autograder/labs/<lab>/feedback.py``
defining ::

    def pictures(result: SubmissionResult, *, ref, notebook: pathlib.Path | None) -> list[Picture]

``result`` is the student's result (``autograder.results.SubmissionResult``; the values each test
compared are in ``result.tests[i].values``; :func:`recorded` and :func:`as_array` read them), ``ref`` the
lab's reference module (run in the grader's process, like the hidden suite) and ``notebook`` the
executed notebook saved beside the result, if any (student output: read it as untrusted data,
never run it). Return ``Picture(figure, caption, function)`` objects, the figure made with
``matplotlib.figure.Figure`` (not pyplot); ``function`` puts it in that function's section. Draw
only what the student's own values show; return no picture where they are missing.
"""

from __future__ import annotations

import base64
import html
import io
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from .course import Lab, load_content_module
from .errors import AutograderError, CourseError
from .exports import readable_name
from .results import Status, SubmissionResult, TestResult, load_lab_results, write_atomic

log = logging.getLogger(__name__)

FEEDBACK_FILE = "feedback.html"
HOOK_FILE = "feedback.py"


@dataclass
class Picture:
    """One picture on a feedback page.

    Attributes:
        figure: a ``matplotlib.figure.Figure`` (drawn with the Agg canvas when the page is written).
        caption: one or two sentences under the picture, in the student's terms.
        function: the graded function whose section shows it (``None``: after the functions).
    """

    figure: Any
    caption: str
    function: str | None = None


@dataclass
class FeedbackReport:
    lab: str
    pages: list[Path]
    pictures: int
    problems: list[str] = field(default_factory=list)  # "student: why their pictures are missing"
    unreadable: list[Path] = field(default_factory=list)


# --- helpers for a lab's picture hook -------------------------------------------------------------

def recorded(result: SubmissionResult, test: str, label: str) -> dict | None:
    """The value entry a hidden test recorded under ``label`` (exact), or ``None``."""
    return result.recorded(test, label)


def as_array(summary: Any):
    """A recorded value (``{"shape", "values"}`` or a number) as a float numpy array; ``None`` when
    only statistics were kept. ``"nan"``/``"inf"`` strings (JSON has no literal for them) become floats."""
    import numpy as np

    def number(v):
        if isinstance(v, str):
            return float(v)  # "nan", "inf", "-inf"
        return float(v)

    try:
        if isinstance(summary, (int, float)) and not isinstance(summary, bool):
            return np.array([float(summary)])
        if isinstance(summary, str):
            return np.array([number(summary)])
        if isinstance(summary, dict) and "values" in summary:
            return np.array([number(v) for v in summary["values"]], dtype=float).reshape(summary["shape"])
    except (TypeError, ValueError):
        return None
    return None


def convergence_figure(iterations, yours, reference, *, title: str, function: str):
    """A student's cost curve (red) against the reference's on the same run (grey, dashed); a log
    scale when the costs span more than a factor of 20. For labs whose students write an
    optimiser (``function``, named in the legend)."""
    import numpy as np
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    yours = np.asarray(yours, dtype=float)
    reference = np.asarray(reference, dtype=float)
    fig = Figure(figsize=(6.4, 3.8), layout="constrained")
    ax = fig.add_subplot()
    ax.plot(iterations, reference, color="0.45", linestyle="--", linewidth=2, label="reference")
    shown = np.where(np.isfinite(yours), yours, np.nan)
    ax.plot(iterations, shown, color="C3", marker="o", markersize=3, linewidth=1.5, label=f"your {function}")
    positive = np.concatenate([v[np.isfinite(v) & (v > 0)] for v in (shown, reference)])
    if positive.size and positive.max() / positive.min() > 20:
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        if positive.max() / positive.min() < 1000:  # over a few decades only: label 2, 3 and 5 times 10^k too

            def minor(v, _):
                digit = v / 10 ** np.floor(np.log10(v))
                return f"{v:g}" if np.isclose(digit, np.round(digit)) and round(digit) in (2, 3, 5) else ""

            ax.yaxis.set_minor_formatter(FuncFormatter(minor))
    ax.set_xlabel("iteration")
    ax.set_ylabel("cost $J$ after the iteration")
    ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3)
    return fig


def convergence_picture(result: SubmissionResult, test: str, curve: str, iterations: str, *, title: str,
                        caption: str, function: str) -> Picture | None:
    """The convergence picture from what hidden test ``test`` recorded: the student's curve
    (``got``) and the reference's (``expected``) under label ``curve``, sampled at the iterations
    recorded under label ``iterations``; None where they were not recorded or do not line up."""
    curve_entry, x_entry = recorded(result, test, curve), recorded(result, test, iterations)
    if not (curve_entry and x_entry and "expected" in curve_entry):
        return None
    x, yours, theirs = as_array(x_entry["got"]), as_array(curve_entry["got"]), as_array(curve_entry["expected"])
    if x is None or yours is None or theirs is None or not len(x) == len(yours) == len(theirs):
        return None
    return Picture(convergence_figure(x, yours, theirs, title=title, function=function), caption, function)


# --- the engine -------------------------------------------------------------------------------------

def load_picture_hook(lab: Lab) -> ModuleType | None:
    """The lab's ``feedback.py`` content module, or ``None`` when the lab draws no pictures."""
    if not (lab.content_dir / HOOK_FILE).is_file():
        return None
    module = load_content_module(lab, HOOK_FILE, what="picture hook")
    if not callable(getattr(module, "pictures", None)):
        raise CourseError(f"lab {lab.name}: {HOOK_FILE} defines no pictures(result, *, ref, notebook)", lab=lab.name)
    return module


def png_data(figure) -> str:
    """The figure as a base64 PNG, drawn with matplotlib's Agg canvas."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _points(x: float) -> str:
    return f"{x:g}" if math.isfinite(x) else "?"


_STATUS_WORDS = {"failed": "wrong value", "error": "raised an error", "timeout": "ran out of time",
                 "missing": "not found", "kernel_died": "the kernel died", "not_run": "not run",
                 "skipped": "skipped", "grader_error": "grader error"}

_CELL_WORDS = {"error": "raised", "timeout": "ran out of time and was interrupted",
               "skipped": "was not run (the notebook's time was up)", "output_cut": "printed too much:",
               "kernel_died": "stopped the kernel:"}

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 60rem; margin: 2rem auto;
       padding: 0 1rem; color: #1b1f23; line-height: 1.45; }
h1 { font-size: 1.5rem; margin-bottom: 0.2rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
.subtitle { color: #57606a; margin-top: 0; }
.score { font-size: 1.25rem; font-weight: 600; }
table { border-collapse: collapse; margin: 1rem 0; } th, td { padding: 0.3rem 0.8rem; text-align: left; }
th { border-bottom: 2px solid #d0d7de; } td { border-bottom: 1px solid #eaeef2; }
td.points { text-align: right; font-variant-numeric: tabular-nums; }
.full { color: #1a7f37; } .partial { color: #9a6700; } .none { color: #cf222e; }
.test { border-left: 4px solid #cf222e; background: #fff8f8; padding: 0.4rem 0.8rem; margin: 0.5rem 0; }
.test .name { font-weight: 600; } .message { font-family: ui-monospace, monospace; white-space: pre-wrap;
  overflow-wrap: anywhere; margin: 0.2rem 0 0 0; }
.passed { color: #1a7f37; } .note { color: #57606a; }
figure { margin: 1rem 0; } figure img { max-width: 100%; border: 1px solid #eaeef2; }
figcaption { color: #57606a; font-size: 0.92rem; }
"""


def _function_class(points: float, max_points: float) -> str:
    if max_points and points >= max_points:
        return "full"
    return "partial" if points > 0 else "none"


def _figure_html(picture: Picture) -> str:
    return (f'<figure><img alt="{_e(picture.caption)}" src="data:image/png;base64,{png_data(picture.figure)}">'
            f"<figcaption>{_e(picture.caption)}</figcaption></figure>")


MAX_SHOWN_PNG = 4 * 2**20  # base64 characters of one student figure put on a page
_PNG = b"\x89PNG\r\n\x1a\n"


def shown_figures(lab: Lab, result: SubmissionResult, notebook: Path | None) -> dict[str, str]:
    """The student's own figure (base64 PNG, as their cell showed it) for each figure or experiment
    part that lost points, read from the executed notebook. Student output is untrusted: only a
    bounded, well-formed PNG is kept."""
    if notebook is None or not notebook.is_file():
        return {}
    lost = {name for name, score in result.functions.items()
            if lab.kind_of(name) in ("figure", "experiment") and float(score.points) < float(score.max_points)}
    if not lost:
        return {}
    import nbformat

    from .cells import grade_id

    try:
        nb = nbformat.read(str(notebook), as_version=4)
    except Exception:  # an unreadable executed notebook: the page goes out without the figures
        return {}
    shown = {}
    for cell in nb.cells:
        part = grade_id(cell)
        if part not in lost or cell.get("cell_type") != "code":
            continue
        for output in cell.get("outputs", []):
            data = output.get("data", {}) if isinstance(output, dict) else {}
            png = data.get("image/png") if isinstance(data, dict) else None
            if not isinstance(png, str) or len(png) > MAX_SHOWN_PNG:
                continue
            text = "".join(png.split())
            try:
                if base64.b64decode(text[:24], validate=True).startswith(_PNG):
                    base64.b64decode(text, validate=True)
                    shown[part] = text
            except (ValueError, TypeError):
                continue
    return shown


def render_page(lab: Lab, result: SubmissionResult, pictures: list[Picture], picture_problem: str | None = None,
                shown: dict[str, str] | None = None) -> str:
    """The feedback page of one result, as a complete HTML document. ``shown``: the student's own
    figures of the parts that lost points (``shown_figures``), put beside what was expected."""
    shown = shown or {}
    functions = {name: (score.points, score.max_points) for name, score in result.functions.items()} \
        or {f.name: (0.0, f.points) for f in lab.functions}
    tests_by_function: dict[str, list[TestResult]] = {}
    for test in result.tests:
        tests_by_function.setdefault(test.function, []).append(test)
    placed: dict[str | None, list[Picture]] = {}
    for picture in pictures:
        placed.setdefault(picture.function if picture.function in functions else None, []).append(picture)

    student = result.student
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(lab.title)}: feedback for {_e(student)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{_e(lab.title)}</h1>",
        f'<p class="subtitle">Feedback for <span class="student">{_e(student)}</span></p>',
        f'<p class="score" id="score">{_points(result.score)} of {_points(result.max_score)} '
        "autograded points</p>",
    ]
    if result.manual_max_score:
        parts.append(f'<p class="note">The written answers ({_points(result.manual_max_score)} points) are graded '
                     "by hand and are not included here.</p>")
    if result.status != Status.GRADED:
        parts.append(f'<p class="none" id="status">Your notebook was not graded ({_e(result.status)}): '
                     f'{_e(result.message)}</p>')

    parts.append('<table id="functions"><thead><tr><th>function</th><th>points</th><th></th></tr></thead><tbody>')
    for name, (got, most) in functions.items():
        got, most = float(got), float(most)
        bad = [t for t in tests_by_function.get(name, []) if not t.passed]
        word = "all tests passed" if most and got >= most and not bad else \
            f"{len(bad)} test{'s' if len(bad) != 1 else ''} did not pass" if bad else "not graded"
        parts.append(f'<tr data-function="{_e(name)}" class="{_function_class(got, most)}">'
                     f'<td><code>{_e(name)}</code></td><td class="points">{_points(got)} / {_points(most)}</td>'
                     f"<td>{_e(word)}</td></tr>")
    parts.append("</tbody></table>")

    problems = result.execution.get("problems") or []
    if problems:
        parts.append('<h2>While your notebook ran</h2><ul id="notebook-problems">')
        for p in problems:
            kind = p.get("kind", "")
            what = _CELL_WORDS.get(kind, kind)
            detail = "" if kind in ("timeout", "skipped") else \
                ": ".join(str(x) for x in (p.get("ename"), p.get("evalue")) if x)
            parts.append(f"<li>cell {_e(p.get('cell', '?'))} {_e(what)}{(' ' + _e(detail)) if detail else ''}</li>")
        parts.append("</ul>")

    for name, (got, most) in functions.items():
        got, most = float(got), float(most)
        parts.append(f'<section class="function" data-function="{_e(name)}">')
        parts.append(f"<h2><code>{_e(name)}</code>: {_points(got)} / {_points(most)}</h2>")
        bad = [t for t in tests_by_function.get(name, []) if not t.passed]
        if not bad and tests_by_function.get(name):
            parts.append('<p class="passed">Every hidden test of this function passed.</p>')
        for test in bad:
            status = _STATUS_WORDS.get(test.status, test.status)
            got, most = float(test.points), float(test.max_points)
            parts.append(f'<div class="test"><span class="name">{_e(readable_name(test.name))}</span> '
                         f'<span class="lost">({_points(got)} of {_points(most)} '
                         f"point{'s' if most != 1 else ''}, {_e(status)})</span>"
                         f'<p class="message">{_e(test.message)}</p></div>')
        if name in shown:
            caption = ("Your figure, as your cell showed it. The messages above say what was expected "
                       "and what the grader found in it.")
            parts.append(f'<figure class="yours"><img alt="{_e(caption)}" src="data:image/png;base64,{shown[name]}">'
                         f"<figcaption>{_e(caption)}</figcaption></figure>")
        for picture in placed.get(name, []):
            parts.append(_figure_html(picture))
        parts.append("</section>")

    if placed.get(None):
        parts.append('<section class="pictures"><h2>Pictures</h2>')
        parts.extend(_figure_html(p) for p in placed[None])
        parts.append("</section>")
    if picture_problem:
        parts.append(f'<p class="note" id="picture-problem">{_e(picture_problem)}</p>')
    for note in result.notes:
        parts.append(f'<p class="note">{_e(note)}</p>')
    finished = result.finished_at
    if finished:
        parts.append(f'<p class="note">Graded {_e(finished)}.</p>')
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def draw_pictures(hook: ModuleType | None, result: SubmissionResult, *, ref: ModuleType | None,
                  notebook: Path | None) -> list[Picture]:
    """Call the lab's hook; a picture that is not a ``Picture`` is a fault of the lab's content."""
    if hook is None:
        return []
    pictures = list(hook.pictures(result, ref=ref, notebook=notebook) or [])
    for picture in pictures:
        if not isinstance(picture, Picture):
            raise TypeError(f"pictures() returned {type(picture).__name__}, expected autograder.feedback.Picture")
    return pictures


def write_feedback(lab_name: str, *, results: Path, course_root: Path | None = None,
                   student: str | None = None) -> FeedbackReport:
    """Write ``OUT/<student>/<lab>/feedback.html`` for every result of ``lab_name`` under ``results``.

    A lab whose picture hook fails on one result still gets that page (without pictures, with a
    note); the failure is listed in the report's ``problems``.

    Raises:
        CourseError: unknown lab, or a picture hook that does not import.
        AutograderError: the results folder is missing or holds no result of this lab.
    """
    found = load_lab_results(lab_name, results, course_root=course_root)
    lab = found.lab
    hook = load_picture_hook(lab)
    ref = None
    if hook is not None:
        from .judge import load_reference

        ref = load_reference(lab)
    chosen = [r for r in found.results if student is None or r.student == student]
    if not chosen:
        raise AutograderError(f"no result of student {student!r} for lab {lab.name} in {found.out}")
    pages, count, problems = [], 0, []
    for result in chosen:
        folder = found.folders[result.student]
        notebook = folder / lab.notebook
        pictures: list[Picture] = []
        shown = shown_figures(lab, result, notebook)  # never raises: an unreadable notebook shows none
        try:
            pictures = draw_pictures(hook, result, ref=ref, notebook=notebook if notebook.is_file() else None)
            body = render_page(lab, result, pictures, shown=shown)
            count += len(pictures)
        except Exception as exc:  # a fault of the lab's drawing code: the page goes out without pictures
            log.warning("pictures for %s failed: %s: %s", result.student, type(exc).__name__, exc)
            problems.append(f"{result.student}: {type(exc).__name__}: {exc}")
            body = render_page(lab, result, [], "The pictures for this page could not be drawn; "
                                                "your instructor has been told.", shown=shown)
        finally:
            _close(pictures)
        write_atomic(folder / FEEDBACK_FILE, body)
        pages.append(folder / FEEDBACK_FILE)
    return FeedbackReport(lab=lab.name, pages=pages, pictures=count, problems=problems, unreadable=found.unreadable)


def _close(pictures: list[Picture]) -> None:
    for picture in pictures:
        try:
            picture.figure.clear()
        except Exception:  # noqa: BLE001 - freeing memory only
            pass
