"""The class view of one lab: the score histogram and, per graded function, how many students
earned all its points (its pass rate) and the mean points. Drawn as a PNG (matplotlib, Agg) and
as text for the terminal, both from the same figures.

Every result counts, graded or not (a missing notebook scores 0 like an unattempted one): the
summary is of the class, not of the submissions that ran. It also lists the misconceptions the
class shows: per function, how many students' failed tests were explained by each of the lab's
named mistakes ("<function>: 4 of 9 used 1/m instead of 1/(2m)").
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from .results import Status, load_lab_results, write_atomic

BAR = "#"


@dataclass
class FunctionSummary:
    name: str
    max_points: float
    passed: int          # students with all of the function's points
    students: int
    mean_points: float

    @property
    def pass_rate(self) -> float:
        return self.passed / self.students if self.students else 0.0


@dataclass
class Misconception:
    function: str
    mistake: str         # the named mistake's id
    summary: str         # what the students did, in a few words
    students: list[str]  # whose failed tests it explained
    of: int              # the class size


@dataclass
class ClassSummary:
    lab: str
    title: str
    max_score: float
    students: int
    graded: int
    scores: list[float]                     # by student, sorted by student id
    bins: list[tuple[float, float, int]]    # (low, high, count); the last bin includes its high end
    functions: list[FunctionSummary]
    misconceptions: list[Misconception] = field(default_factory=list)  # most common first
    png: Path | None = None

    @property
    def mean_score(self) -> float:
        return sum(self.scores) / len(self.scores) if self.scores else 0.0


def whole_points(scores: list[float], max_score: float) -> bool:
    return all(float(s).is_integer() for s in scores) and float(max_score).is_integer()


def score_bins(scores: list[float], max_score: float) -> list[tuple[float, float, int]]:
    """Bins of the score histogram as ``(low, high, count)``, lowest first.

    Whole-number scores: one bin per point up to a maximum of 25; above that, about ten bins of
    whole points with both ends included, counted down from the maximum (so ``(91, 100, n)`` is the
    top bin). Otherwise ten equal bins over [0, max], half-open except the last, which holds full marks.
    """
    if whole_points(scores, max_score):
        top = int(max_score)
        width = 1 if top <= 25 else math.ceil(top / 10)
        bins = []
        high = top
        while high >= 0:
            low = max(0, high - width + 1)
            bins.append((float(low), float(high), sum(1 for s in scores if low <= s <= high)))
            high = low - 1
        return bins[::-1]
    width = max_score / 10 if max_score > 0 else 1.0
    bins = []
    for i in range(10):
        low, high = i * width, (i + 1) * width
        last = i == 9
        bins.append((low, high, sum(1 for s in scores if low <= s < high or (last and s == high))))
    return bins


def summarize(lab_name: str, *, results: Path, course_root: Path | None = None) -> ClassSummary:
    """Read the results of ``lab_name`` under ``results`` and count them (nothing is written)."""
    found = load_lab_results(lab_name, results, course_root=course_root)
    lab, rows = found.lab, found.results
    functions = []
    for fn in lab.functions:
        points = [float(r.points(fn.name)) for r in rows]
        functions.append(FunctionSummary(
            name=fn.name, max_points=fn.points, students=len(rows),
            passed=sum(1 for p in points if p >= fn.points - 1e-9),
            mean_points=sum(points) / len(points)))
    scores = [float(r.score) for r in rows]
    misconceptions = _misconceptions(lab, rows)
    return ClassSummary(lab=lab.name, title=lab.title, max_score=lab.max_score, students=len(rows),
                        graded=sum(1 for r in rows if r.status == Status.GRADED), scores=scores,
                        bins=score_bins(scores, lab.max_score), functions=functions, misconceptions=misconceptions)


def _misconceptions(lab, rows) -> list[Misconception]:
    from .diagnose import load_mistakes

    words = {(m.function, m.name): m.summary for m in load_mistakes(lab)}
    order = {f.name: i for i, f in enumerate(lab.functions)}
    who: dict[tuple[str, str], list[str]] = {}
    for r in rows:
        for test in r.tests:
            if test.diagnosis and r.student not in who.setdefault((test.function, test.diagnosis["mistake"]), []):
                who[(test.function, test.diagnosis["mistake"])].append(r.student)
    found = [Misconception(function=f, mistake=m, summary=words.get((f, m), m), students=sorted(s), of=len(rows))
             for (f, m), s in who.items()]
    return sorted(found, key=lambda c: (-len(c.students), order.get(c.function, 99), c.mistake))


def misconception_lines(summary: "ClassSummary") -> list[str]:
    """``<function>: 4 of 9 <what they did>``, most common first."""
    return [f"{c.function}: {len(c.students)} of {c.of} {c.summary}" for c in summary.misconceptions]


def _bin_label(low: float, high: float) -> str:
    return f"{low:g}" if low == high else f"{low:.3g}-{high:.3g}"


def summary_text(summary: ClassSummary, *, width: int = 40) -> str:
    """The histogram (one line per bin) and the table of functions, for a terminal."""
    lines = [f"{summary.title}: {summary.students} student(s), {summary.graded} graded, "
             f"mean {summary.mean_score:.3g} of {summary.max_score:g}", "", "score histogram"]
    most = max((c for _, _, c in summary.bins), default=0)
    label_w = max(len(_bin_label(lo, hi)) for lo, hi, _ in summary.bins)
    for low, high, count in reversed(summary.bins):  # high scores on top, like a leaderboard
        bar = BAR * (math.ceil(width * count / most) if most and count else 0)
        lines.append(f"  {_bin_label(low, high):>{label_w}} | {bar}{' ' if bar else ''}{count}")
    lines.append("")
    name_w = max(len("function"), *(len(f.name) for f in summary.functions))
    header = f"{'function':<{name_w}}  {'points':>6}  {'full marks':>10}  {'pass rate':>9}  {'mean':>6}"
    lines += [header, "-" * len(header)]
    for f in summary.functions:
        lines.append(f"{f.name:<{name_w}}  {f.max_points:>6g}  {f'{f.passed}/{f.students}':>10}  "
                     f"{f.pass_rate:>9.0%}  {f.mean_points:>6.3g}")
    if summary.misconceptions:
        lines += ["", "misconceptions (failed tests explained by the lab's named mistakes)"]
        lines += [f"  {line}" for line in misconception_lines(summary)]
    return "\n".join(lines)


def summary_figure(summary: ClassSummary):
    """The histogram and the pass rates as one matplotlib figure (no pyplot)."""
    from matplotlib.figure import Figure

    notes = misconception_lines(summary)
    fig = Figure(figsize=(11, 4.2 + 0.22 * len(notes[:12]) + (0.4 if notes else 0)), layout="constrained")
    if notes:
        top, bottom = fig.subfigures(2, 1, height_ratios=[4.2, 0.22 * len(notes[:12]) + 0.4])
        bottom.text(0.01, 0.98, "Misconceptions (failed tests explained by the lab's named mistakes):\n"
                    + "\n".join(notes[:12]) + ("\n..." if len(notes) > 12 else ""),
                    va="top", ha="left", fontsize=9, family="monospace")
    else:
        top = fig
    left, right = top.subplots(1, 2, width_ratios=[1.1, 1])
    centers = [(lo + hi) / 2 for lo, hi, _ in summary.bins]
    whole = whole_points(summary.scores, summary.max_score)
    # Whole-point bins include both ends: (18, 20) is three points wide.
    widths = [((hi - lo + 1) if whole else (hi - lo)) * 0.9 for lo, hi, _ in summary.bins]
    counts = [c for _, _, c in summary.bins]
    left.bar(centers, counts, width=widths, color="C0")
    left.set_xlabel(f"score (of {summary.max_score:g} autograded points)")
    left.set_ylabel("students")
    left.set_title(f"Scores: {summary.students} student(s), mean {summary.mean_score:.3g}")
    left.yaxis.get_major_locator().set_params(integer=True)
    left.grid(axis="y", alpha=0.3)

    names = [f.name for f in summary.functions][::-1]
    rates = [100 * f.pass_rate for f in summary.functions][::-1]
    bars = right.barh(names, rates, color="C2")
    for bar, f in zip(bars, summary.functions[::-1]):
        right.text(min(bar.get_width() + 1, 101), bar.get_y() + bar.get_height() / 2,
                   f"{f.passed}/{f.students}", va="center", fontsize=9)
    right.set_xlim(0, 112)
    right.set_xlabel("students with all of the function's points (%)")
    right.set_title("Pass rate per function")
    right.grid(axis="x", alpha=0.3)
    fig.suptitle(summary.title)
    return fig


def write_summary(lab_name: str, *, results: Path, course_root: Path | None = None) -> ClassSummary:
    """Count the class and write ``OUT/summary-<lab>.png``."""
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg

    summary = summarize(lab_name, results=results, course_root=course_root)
    fig = summary_figure(summary)
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    path = Path(results) / f"summary-{summary.lab}.png"
    write_atomic(path, buffer.getvalue())
    summary.png = path
    return summary
