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
from dataclasses import dataclass, field
from pathlib import Path

from .course import Lab, load_lab
from .errors import AutograderError
from .record import GRADED, read_result, result_paths, write_json
from .report import write_grades

log = logging.getLogger(__name__)

VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")
GRADESCOPE_FILE = "gradescope.json"


@dataclass
class ResultSet:
    """The results of one lab found under a results folder."""

    lab: Lab
    out: Path
    results: list[dict]                 # sorted by student
    folders: dict[str, Path]            # student -> OUT/<student>/<lab>
    unreadable: list[Path] = field(default_factory=list)


def load_results(lab_name: str, out: Path, *, course_root: Path | None = None) -> ResultSet:
    """Read every ``OUT/<student>/<lab>/result.json`` written by ``autograder grade``.

    A result file that cannot be read (or belongs to another lab) is listed in ``unreadable``
    and left out; the caller says so.

    Raises:
        CourseError: unknown lab.
        AutograderError: the results folder is missing or holds no result of this lab.
    """
    lab = load_lab(lab_name, course_root)
    out = Path(out)
    if not out.is_dir():
        raise AutograderError(f"results folder {out} does not exist (grade first: "
                              f"autograder grade {lab.name} --submissions DIR --out {out})")
    results, folders, unreadable = [], {}, []
    for path in result_paths(out, lab.name):
        data = read_result(path)
        if data is None or data.get("lab") != lab.name or not isinstance(data.get("student"), str):
            log.warning("unreadable result %s", path)
            unreadable.append(path)
            continue
        results.append(data)
        folders[data["student"]] = path.parent
    if not results:
        raise AutograderError(f"no results of lab {lab.name} in {out} (expected {out}/<student>/{lab.name}/result.json"
                              f"{'; unreadable: ' + ', '.join(str(p) for p in unreadable) if unreadable else ''})")
    results.sort(key=lambda r: r["student"])
    return ResultSet(lab=lab, out=out, results=results, folders=folders, unreadable=unreadable)


def readable_name(test_name: str) -> str:
    """A hidden test's name as a student reads it: ``test_gd_update_rule`` -> ``gd update rule``."""
    name = test_name[5:] if test_name.startswith("test_") else test_name
    return name.replace("_", " ")


def gradescope_result(result: dict, lab: Lab, *, visibility: str = "visible") -> dict:
    """One student's result in Gradescope's results format.

    One Gradescope test per hidden test, numbered ``<function>.<test>`` in the lab's order and
    tagged with its function. A submission that was not graded (missing, invalid, ...) gets one
    zero-score test per function, so the maximum is the lab's whatever happened.
    """
    if visibility not in VISIBILITIES:
        raise AutograderError(f"unknown visibility {visibility!r} (one of {', '.join(VISIBILITIES)})")
    order = [f.name for f in lab.functions]
    tests = []
    by_function: dict[str, list[dict]] = {name: [] for name in order}
    for test in result.get("tests", []):
        by_function.setdefault(test["function"], []).append(test)
    for i, function in enumerate(by_function, start=1):
        rows = by_function[function]
        if not rows:
            points = float(result.get("functions", {}).get(function, {}).get("max_points",
                           lab.function_points().get(function, 0.0)))
            tests.append({"name": f"{function}: not graded", "number": f"{i}.1", "score": 0.0,
                          "max_score": points, "status": "failed",
                          "output": result.get("message") or f"status: {result.get('status')}",
                          "tags": [function], "visibility": visibility})
            continue
        for j, test in enumerate(rows, start=1):
            passed = test["status"] == "passed"
            entry = {"name": f"{function}: {readable_name(test['name'])}", "number": f"{i}.{j}",
                     "score": float(test["points"]), "max_score": float(test["max_points"]),
                     "status": "passed" if passed else "failed", "tags": [function], "visibility": visibility}
            if not passed:
                entry["output"] = test.get("message") or test["status"]
            tests.append(entry)
    lines = [f"{lab.title}: {result['score']:g} of {result['max_score']:g} autograded points"
             + (f" (+ {result['manual_max_score']:g} for written answers, graded by hand)"
                if result.get("manual_max_score") else "")]
    if result.get("status") != GRADED or result.get("message"):
        lines.append(f"{result.get('status')}: {result.get('message', '')}".rstrip(": "))
    lines.extend(result.get("notes", []))
    document = {
        "score": float(result["score"]),
        "output": "\n".join(lines),
        "visibility": visibility,
        "stdout_visibility": "hidden",
        "tests": tests,
    }
    total = result.get("timings", {}).get("total")
    if isinstance(total, (int, float)):
        document["execution_time"] = int(round(total))
    document["extra_data"] = {"student": result["student"], "lab": lab.name, "seed": result.get("seed"),
                              "status": result.get("status")}
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
    found = load_results(lab_name, results, course_root=course_root)
    functions = [f.name for f in found.lab.functions]
    grades = write_grades(found.out, found.results, functions)
    written = []
    for result in found.results:
        path = found.folders[result["student"]] / GRADESCOPE_FILE
        write_json(path, gradescope_result(result, found.lab, visibility=visibility))
        written.append(path)
    return ExportReport(lab=found.lab.name, grades_csv=grades, gradescope=written, unreadable=found.unreadable)
