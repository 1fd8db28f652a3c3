"""Exports and the class view, from the graded Lab 1 demo class (a copy of its results folder):
grades.csv, Gradescope results files validated against the format's rules, and the summary."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from pathlib import Path

import jsonschema
import pytest

from autograder.cli import main
from autograder.course import load_lab
from autograder.exports import gradescope_result
from autograder.results import SubmissionResult
from autograder.summary import score_bins, summarize, summary_figure

VISIBILITY = {"enum": ["hidden", "after_due_date", "after_published", "visible"]}
FORMAT = {"enum": ["text", "html", "simple_format", "md", "ansi"]}
# Gradescope's autograder results (results.json), as its specification describes it
# (https://gradescope-autograders.readthedocs.io/en/latest/specs/). A top-level score is
# required when a test lacks one; every test here carries both.
GRADESCOPE_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "score": {"type": "number"},
        "execution_time": {"type": "integer", "minimum": 0},
        "output": {"type": "string"},
        "output_format": FORMAT,
        "test_output_format": FORMAT,
        "test_name_format": FORMAT,
        "visibility": VISIBILITY,
        "stdout_visibility": VISIBILITY,
        "extra_data": {"type": "object"},
        "tests": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["score", "max_score", "name"],
                "properties": {
                    "score": {"type": "number", "minimum": 0},
                    "max_score": {"type": "number", "minimum": 0},
                    "status": {"enum": ["passed", "failed"]},
                    "name": {"type": "string", "minLength": 1},
                    "name_format": FORMAT,
                    "number": {"type": "string"},
                    "output": {"type": "string"},
                    "output_format": FORMAT,
                    "tags": {"type": "array", "items": {"type": "string"}},
                    "visibility": VISIBILITY,
                    "extra_data": {"type": "object"},
                },
            },
        },
        "leaderboard": {"type": "array"},
    },
    "anyOf": [{"required": ["score"]}, {"required": ["tests"]}],
}


@pytest.fixture(scope="module")
def exported(demo, course, tmp_path_factory):
    out = tmp_path_factory.mktemp("exports") / "autograded"
    shutil.copytree(demo.grading.out, out)
    graded_csv = (out / "grades.csv").read_text()
    (out / "grades.csv").unlink()
    assert main(["export", "linreg", "--results", str(out), "--course", str(course)]) == 0
    return out, graded_csv


def _results(out: Path) -> dict[str, dict]:
    return {p.parent.parent.name: json.loads(p.read_text()) for p in sorted(out.glob("*/linreg/result.json"))}


@pytest.mark.slow
def test_grades_csv_is_rewritten_as_grading_wrote_it(exported, course):
    out, graded_csv = exported
    text = (out / "grades.csv").read_text()
    assert text == graded_csv
    rows = list(csv.DictReader(io.StringIO(text)))
    functions = [f.name for f in load_lab("linreg", course).functions]
    assert list(rows[0]) == ["student", "lab", "status", "score", "max_score", *functions, "seed", "message"]
    results = _results(out)
    assert [r["student"] for r in rows] == sorted(results)
    for row in rows:
        result = results[row["student"]]
        assert float(row["score"]) == result["score"]
        assert sum(float(row[f]) for f in functions) == result["score"]
        for f in functions:
            assert float(row[f]) == result["functions"][f]["points"]
    bohr = next(r for r in rows if r["student"] == "bohr")
    assert (bohr["compute_gradient"], bohr["gradient_descent"], bohr["score"]) == ("0", "5", "32")


@pytest.mark.slow
def test_gradescope_files_follow_the_format_and_add_up(exported, course):
    out, _ = exported
    lab = load_lab("linreg", course)
    results = _results(out)
    assert sorted(p.parent.parent.name for p in out.glob("*/linreg/gradescope.json")) == sorted(results)
    for student, result in results.items():
        doc = json.loads((out / student / "linreg" / "gradescope.json").read_text())
        jsonschema.validate(doc, GRADESCOPE_SCHEMA)
        assert doc["score"] == result["score"] == sum(t["score"] for t in doc["tests"])
        assert sum(t["max_score"] for t in doc["tests"]) == lab.max_score == 36
        assert len(doc["tests"]) == len(result["tests"])
        assert len({t["number"] for t in doc["tests"]}) == len(doc["tests"])
        # Grouped by part in the lab's order (the suite's own order within a part).
        order = {name: i for i, name in enumerate(result["functions"])}
        rows = sorted(result["tests"], key=lambda t: order[t["function"]])
        for test, row in zip(doc["tests"], rows):
            assert test["tags"] == [row["function"]] and test["name"].startswith(f"{row['function']}: ")
            assert test["status"] == ("passed" if row["status"] == "passed" else "failed")
            assert (test["score"], test["max_score"]) == (row["points"], row["max_points"])
            assert test.get("output") == (None if row["status"] == "passed" else row["message"])
            assert test["visibility"] == "visible"
            assert "test_" not in test["name"]  # readable names, not the hidden suite's function names
        per_function = {}
        for t in doc["tests"]:
            per_function[t["tags"][0]] = per_function.get(t["tags"][0], 0) + t["score"]
        assert per_function == {f: v["points"] for f, v in result["functions"].items()}
    bohr = json.loads((out / "bohr" / "linreg" / "gradescope.json").read_text())
    failed = [t for t in bohr["tests"] if t["status"] == "failed"]
    assert [t["tags"] for t in failed] == [["compute_gradient"]] * 3
    assert bohr["score"] == 32


@pytest.mark.slow
def test_visibility_option_and_a_submission_that_was_not_graded(exported, course, tmp_path):
    out, _ = exported
    lab = load_lab("linreg", course)
    dest = tmp_path / "autograded"
    shutil.copytree(out / "ada", dest / "ada")
    shutil.copytree(out / "ada", dest / "zed")
    path = dest / "zed" / "linreg" / "result.json"
    missing = json.loads(path.read_text())
    missing.update(student="zed", status="missing", message="no linreg.ipynb in the submission", score=0.0,
                   tests=[], functions={f: {"points": 0.0, "max_points": p} for f, p in lab.function_points().items()})
    path.write_text(json.dumps(missing))
    assert main(["export", "linreg", "--results", str(dest), "--course", str(course),
                 "--visibility", "after_published"]) == 0
    for student in ("ada", "zed"):
        doc = json.loads((dest / student / "linreg" / "gradescope.json").read_text())
        jsonschema.validate(doc, GRADESCOPE_SCHEMA)
        assert doc["visibility"] == "after_published"
        assert {t["visibility"] for t in doc["tests"]} == {"after_published"}
    zed = json.loads((dest / "zed" / "linreg" / "gradescope.json").read_text())
    assert zed["score"] == 0 and sum(t["max_score"] for t in zed["tests"]) == 36
    assert len(zed["tests"]) == len(lab.functions)
    assert all(t["output"] == "no linreg.ipynb in the submission" for t in zed["tests"])
    assert "missing: no linreg.ipynb in the submission" in zed["output"]
    assert gradescope_result(SubmissionResult.from_json(missing), lab)["tests"] == [{**t, "visibility": "visible"} for t in zed["tests"]]


@pytest.mark.slow
def test_summary_counts_what_the_results_say(exported, course, capsys):
    out, _ = exported
    assert main(["summary", "linreg", "--results", str(out), "--course", str(course)]) == 0
    text = capsys.readouterr().out
    results = list(_results(out).values())
    lab = load_lab("linreg", course)
    n = len(results)
    for fn in lab.functions:
        passed = sum(r["functions"][fn.name]["points"] == fn.points for r in results)
        row = re.search(rf"^{fn.name}\s+(\S+)\s+(\d+)/(\d+)\s+(\d+)%\s+(\S+)$", text, re.M)
        assert row, fn.name
        assert (float(row[1]), int(row[2]), int(row[3]), int(row[4])) == (fn.points, passed, n, round(100 * passed / n))
    # The demo class of 8: each seeded mistake costs its parts only, dirac has nothing.
    assert re.search(r"^predict\s+2\s+7/8\s+88%", text, re.M)
    assert re.search(r"^compute_gradient\s+4\s+6/8\s+75%", text, re.M)
    assert re.search(r"^plot_convergence\s+2\s+6/8\s+75%", text, re.M)  # gauss drew none, dirac nothing
    # 36 points: bins four points wide, counted down from full marks.
    histogram = {m[1]: int(m[2]) for m in re.finditer(r"^\s+(\d+(?:-\d+)?) \| #*\s?(\d+)$", text, re.M)}
    assert histogram == {"33-36": 2, "29-32": 5, "25-28": 0, "21-24": 0, "17-20": 0, "13-16": 0, "9-12": 0,
                         "5-8": 0, "1-4": 0, "0": 1}
    assert sum(histogram.values()) == n
    assert histogram["33-36"] == sum(33 <= r["score"] <= 36 for r in results)
    # The misconceptions: bohr's doubled gradient and curie's 1/m cost are the lab's named mistakes.
    assert "misconceptions (failed tests explained by the lab's named mistakes)" in text
    assert re.search(r"^  compute_cost: 1 of 8 used 1/m instead of 1/\(2m\)$", text, re.M)
    assert re.search(r"^  compute_gradient: 1 of 8 used 2/m \(the gradient of a 1/m cost\)$", text, re.M)
    png = out / "summary-linreg.png"
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") and png.stat().st_size > 10_000
    assert f"figure: {png}" in text


@pytest.mark.slow
def test_summary_figure_draws_the_same_numbers(exported, course):
    out, _ = exported
    summary = summarize("linreg", results=out, course_root=course)
    results = list(_results(out).values())
    fig = summary_figure(summary)
    histogram, rates = fig.axes[0], fig.axes[1]
    heights = {round(bar.get_x() + bar.get_width() / 2): bar.get_height() for bar in histogram.patches}
    bins = score_bins([r["score"] for r in results], 36.0)
    assert heights == {round((low + high) / 2): count for low, high, count in bins}
    assert sum(heights.values()) == len(results) and heights[round((33 + 36) / 2)] == 2
    widths = {bar.get_y() + bar.get_height() / 2: bar.get_width() for bar in rates.patches}
    labels = [t.get_text() for t in rates.get_yticklabels()]
    drawn = dict(zip(labels, [widths[y] for y in sorted(widths)]))
    for fn in load_lab("linreg", course).functions:
        passed = sum(r["functions"][fn.name]["points"] == fn.points for r in results)
        assert drawn[fn.name] == pytest.approx(100 * passed / len(results))


@pytest.mark.parametrize("command", ["export", "summary", "feedback"])
def test_bad_input_is_one_line_and_exit_2(command, course, tmp_path, capsys):
    missing = tmp_path / "nowhere"
    assert main([command, "linreg", "--results", str(missing), "--course", str(course)]) == 2
    err = capsys.readouterr().err
    assert err == (f"autograder: error: results folder {missing} does not exist (grade first: "
                   f"autograder grade linreg --submissions DIR --out {missing})\n")

    empty = tmp_path / "empty"
    (empty / "ada" / "linreg").mkdir(parents=True)
    assert main([command, "linreg", "--results", str(empty), "--course", str(course)]) == 2
    assert capsys.readouterr().err == (f"autograder: error: no results of lab linreg in {empty} "
                                       f"(expected {empty}/<student>/linreg/result.json)\n")

    assert main([command, "nolab", "--results", str(empty), "--course", str(course)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("autograder: error: unknown lab 'nolab' (labs in this course: linreg, ")
    assert err.count("\n") == 1 and err.endswith(")\n")
