"""What leaves the kit after grading: the class's ``grades.csv`` and one Gradescope results file per
student, both rebuilt from the ``result.json`` files on disk (nothing is re-graded).

Gradescope's autograder results format (``results.json``, see
https://gradescope-autograders.readthedocs.io/en/latest/specs/): a top-level ``score`` (which
overrides the sum of the tests' scores when given), ``output``, ``visibility``,
``stdout_visibility``, ``execution_time`` (seconds), ``extra_data`` and ``tests``; each test has
``name``, ``number``, ``score``, ``max_score``, ``status`` (``passed``/``failed``), ``output``,
``tags`` and ``visibility``. Visibility is one of ``visible`` (the default), ``hidden``,
``after_due_date`` and ``after_published``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from .course import Lab
from .errors import AutograderError
from .report import write_grades
from .results import Status, SubmissionResult, TestResult, load_lab_results, write_json

log = logging.getLogger(__name__)

VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")
GRADESCOPE_FILE = "gradescope.json"


def readable_name(test_name: str) -> str:
    """A hidden test's name as a student reads it: ``test_gd_update_rule`` -> ``gd update rule``."""
    name = test_name[5:] if test_name.startswith("test_") else test_name
    return name.replace("_", " ")


def gradescope_result(result: SubmissionResult, lab: Lab, *, visibility: str = "visible") -> dict:
    """One student's result in Gradescope's results format.

    One Gradescope test per hidden test, numbered ``<function>.<test>`` in the lab's order and
    tagged with its function. A submission that was not graded (missing, invalid, ...) gets one
    zero-score test per function, so the maximum is the lab's whatever happened.
    """
    if visibility not in VISIBILITIES:
        raise AutograderError(f"unknown visibility {visibility!r} (one of {', '.join(VISIBILITIES)})")
    tests = []
    by_function: dict[str, list[TestResult]] = {f.name: [] for f in lab.functions}
    for test in result.tests:
        by_function.setdefault(test.function, []).append(test)
    for i, function in enumerate(by_function, start=1):
        rows = by_function[function]
        if not rows:
            score = result.functions.get(function)
            points = float(score.max_points if score else lab.function_points().get(function, 0.0))
            tests.append({"name": f"{function}: not graded", "number": f"{i}.1", "score": 0.0,
                          "max_score": points, "status": "failed",
                          "output": result.message or f"status: {result.status}",
                          "tags": [function], "visibility": visibility})
            continue
        for j, test in enumerate(rows, start=1):
            entry = {"name": f"{function}: {readable_name(test.name)}", "number": f"{i}.{j}",
                     "score": float(test.points), "max_score": float(test.max_points),
                     "status": "passed" if test.passed else "failed", "tags": [function], "visibility": visibility}
            if not test.passed:
                entry["output"] = test.message or str(test.status)
            tests.append(entry)
    lines = [f"{lab.title}: {result.score:g} of {result.max_score:g} autograded points"
             + (f" (+ {result.manual_max_score:g} for written answers, graded by hand)"
                if result.manual_max_score else "")]
    if result.status != Status.GRADED or result.message:
        lines.append(f"{result.status}: {result.message}".rstrip(": "))
    lines.extend(result.notes)
    document = {
        "score": float(result.score),
        "output": "\n".join(lines),
        "visibility": visibility,
        "stdout_visibility": "hidden",
        "tests": tests,
    }
    total = result.timings.get("total")
    if isinstance(total, (int, float)):
        document["execution_time"] = int(round(total))
    document["extra_data"] = {"student": result.student, "lab": lab.name, "seed": result.seed,
                              "status": str(result.status)}
    return document


@dataclass
class ExportReport:
    lab: str
    grades_csv: Path
    gradescope: list[Path]
    unreadable: list[Path]


def export_lab(lab_name: str, *, results: Path, course_root: Path | None = None,
               visibility: str = "visible") -> ExportReport:
    """Re-write ``OUT/grades.csv`` and write ``OUT/<student>/<lab>/gradescope.json`` for every result."""
    found = load_lab_results(lab_name, results, course_root=course_root)
    functions = [f.name for f in found.lab.functions]
    grades = write_grades(found.out, found.results, functions)
    written = []
    for result in found.results:
        path = found.folders[result.student] / GRADESCOPE_FILE
        write_json(path, gradescope_result(result, found.lab, visibility=visibility))
        written.append(path)
    return ExportReport(lab=found.lab.name, grades_csv=grades, gradescope=written, unreadable=found.unreadable)
