"""Stage 6 of the flow: report. ``grades.csv`` for the class and the score table the CLI prints."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from .results import SubmissionResult, results_on_disk, write_atomic

if TYPE_CHECKING:
    from .grade import ClassGrading

GRADES_FILE = "grades.csv"


def grades_csv(results: Iterable[SubmissionResult], functions: list[str]) -> str:
    """One row per student: status, score, max score, then points per graded function."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student", "lab", "status", "score", "max_score", *functions, "seed", "message"])
    for r in sorted(results, key=lambda r: r.student):
        points = [f"{r.points(f):g}" for f in functions]
        writer.writerow([r.student, r.lab, r.status, f"{r.score:g}", f"{r.max_score:g}",
                         *points, r.seed, r.message])
    return buffer.getvalue()


def write_grades(out: Path, results: list[SubmissionResult], functions: list[str], *,
                 path: Path | None = None) -> Path:
    """Write the class file (``OUT/grades.csv`` unless ``path`` says otherwise)."""
    path = Path(path) if path is not None else Path(out) / GRADES_FILE
    write_atomic(path, grades_csv(results, functions))
    return path


def write_class_grades(grading: "ClassGrading", *, path: Path | None = None) -> Path:
    """The class file for a grading run: its rows, and where only one student was graded, every
    other student's row as their result on disk has it. Sets ``grading.grades_csv``."""
    rows = grading.results
    if grading.student is not None:
        everyone = {r.student: r for r in results_on_disk(grading.out, grading.lab)}
        everyone.update({r.student: r for r in grading.results})
        rows = list(everyone.values())
    grading.grades_csv = write_grades(grading.out, rows, grading.functions, path=path)
    return grading.grades_csv


def score_table(results: Iterable[SubmissionResult], functions: list[str],
                about: dict[str, str] | None = None) -> str:
    """A plain-text table: one line per student, points per function, status. ``about`` adds a
    description after a student's id (the demo's "(factor-of-2 gradient)")."""
    rows = sorted(results, key=lambda r: r.student)
    names = {r.student: f"{r.student} ({about.get(r.student, '')})" if about else r.student for r in rows}
    short = [f.replace("compute_", "") for f in functions]
    name_w = max([len("student"), *(len(n) for n in names.values())])
    widths = [max(len(s), 5) for s in short]
    header = f"{'student':<{name_w}}  " + "  ".join(f"{s:>{w}}" for s, w in zip(short, widths)) + "   score  status"
    lines = [header, "-" * len(header)]
    for r in rows:
        cells = []
        for f, w in zip(functions, widths):
            fn = r.functions.get(f)
            cells.append((fn.fraction() if fn else "0/0").rjust(w))
        score = f"{r.score:g}/{r.max_score:g}"
        status = r.status if not r.message else f"{r.status}: {r.message}"
        lines.append(f"{names[r.student]:<{name_w}}  " + "  ".join(cells) + f"  {score:>6}  {status}")
    return "\n".join(lines)
