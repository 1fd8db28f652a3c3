"""Stage 6 of the flow: report. ``grades.csv`` for the class and the score table the CLI prints."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Iterable

from .record import write_atomic


def grades_csv(results: Iterable[dict], functions: list[str]) -> str:
    """One row per student: status, score, max score, then points per graded function."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student", "lab", "status", "score", "max_score", *functions, "seed", "message"])
    for r in sorted(results, key=lambda r: r["student"]):
        points = [f"{r['functions'].get(f, {}).get('points', 0.0):g}" for f in functions]
        writer.writerow([r["student"], r["lab"], r["status"], f"{r['score']:g}", f"{r['max_score']:g}",
                         *points, r.get("seed", ""), r.get("message", "")])
    return buffer.getvalue()


def write_grades(out: Path, results: list[dict], functions: list[str]) -> Path:
    path = Path(out) / "grades.csv"
    write_atomic(path, grades_csv(results, functions))
    return path


def score_table(results: Iterable[dict], functions: list[str]) -> str:
    """A plain-text table: one line per student, points per function, status."""
    rows = sorted(results, key=lambda r: r["student"])
    short = [f.replace("compute_", "") for f in functions]
    name_w = max([len("student"), *(len(r["student"]) for r in rows)])
    widths = [max(len(s), 5) for s in short]
    header = f"{'student':<{name_w}}  " + "  ".join(f"{s:>{w}}" for s, w in zip(short, widths)) + "   score  status"
    lines = [header, "-" * len(header)]
    for r in rows:
        cells = []
        for f, w in zip(functions, widths):
            fn = r["functions"].get(f, {})
            cells.append(f"{fn.get('points', 0):g}/{fn.get('max_points', 0):g}".rjust(w))
        score = f"{r['score']:g}/{r['max_score']:g}"
        status = r["status"] if not r.get("message") else f"{r['status']}: {r['message']}"
        lines.append(f"{r['student']:<{name_w}}  " + "  ".join(cells) + f"  {score:>6}  {status}")
    return "\n".join(lines)
