"""``autograder parity A B``: passes on identical runs and names each injected difference
(a changed score, a changed compared value, another numpy version, a missing student)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from autograder.cli import main
from autograder.parity import compare, format_report

DEMO = ("ada", "bohr", "curie", "dirac", "euler", "fermi", "gauss", "hopper")  # Lab 1's demo class


def _copy(results: Path, dest: Path) -> Path:
    shutil.copytree(results, dest)
    return dest


def _edit(folder: Path, student: str, change) -> None:
    path = folder / student / "linreg" / "result.json"
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def test_identical_runs_agree(demo, tmp_path, capsys):
    b = _copy(demo.grading.out, tmp_path / "b")
    assert main(["parity", str(demo.grading.out), str(b), "--json", str(tmp_path / "r.json")]) == 0
    out = capsys.readouterr().out
    assert "parity: OK: 8 submission(s)" in out
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["ok"] is True and report["mismatches"] == []
    assert report["environment"]["numpy"][0] == report["environment"]["numpy"][1]
    assert {row["student"] for row in report["submissions"]} == set(DEMO)


def test_a_changed_score_is_named(demo, tmp_path, capsys):
    b = _copy(demo.grading.out, tmp_path / "b")

    def bump(data):
        test = next(t for t in data["tests"] if t["function"] == "compute_gradient" and t["status"] == "failed")
        test["points"], test["status"] = test["max_points"], "passed"
        data["score"] += test["max_points"]

    _edit(b, "bohr", bump)
    assert main(["parity", str(demo.grading.out), str(b)]) == 1
    out = capsys.readouterr().out
    assert "bohr/linreg" in out and "MISMATCH" in out
    report = compare(demo.grading.out, b)
    kinds = {(m.where.split("::")[0], m.what) for m in report.mismatches}
    assert kinds == {("bohr/linreg", "score"), ("bohr/linreg", "status"), ("bohr/linreg", "points")}


def test_a_changed_value_beyond_tolerance_is_named(demo, tmp_path):
    b = _copy(demo.grading.out, tmp_path / "b")
    name = {}

    def nudge(data):
        test = next(t for t in data["tests"] if t["values"] and isinstance(t["values"][0]["got"], dict))
        name["test"] = test["name"]
        test["values"][0]["got"]["values"][3] *= 1 + 1e-6

    _edit(b, "ada", nudge)
    report = compare(demo.grading.out, b)
    assert [(m.where, m.what) for m in report.mismatches] == [(f"ada/linreg::{name['test']}", "value")]
    assert ".values[3]" in report.mismatches[0].detail and "[got]" in report.mismatches[0].detail
    # Within a looser stated tolerance the same difference passes.
    assert compare(demo.grading.out, b, rtol=1e-5).ok


def test_another_numpy_version_is_named(demo, tmp_path):
    b = _copy(demo.grading.out, tmp_path / "b")
    for student in DEMO:
        _edit(b, student, lambda data: data["environment"].update(numpy="1.26.4"))
    report = compare(demo.grading.out, b)
    assert [(m.where, m.what) for m in report.mismatches] == [("environment", "environment")]
    assert "numpy" in report.mismatches[0].detail and "1.26.4" in report.mismatches[0].detail
    assert "<- differs" in format_report(report)


def test_platform_differences_are_shown_not_compared(demo, tmp_path):
    b = _copy(demo.grading.out, tmp_path / "b")
    for student in DEMO:
        _edit(b, student, lambda data: data["environment"].update(platform="Linux-container", kernel_python="/opt/venv/bin/python3"))
    report = compare(demo.grading.out, b)
    assert report.ok
    assert "(not compared)" in format_report(report)


def test_a_missing_student_is_named(demo, tmp_path):
    b = _copy(demo.grading.out, tmp_path / "b")
    shutil.rmtree(b / "euler")
    report = compare(demo.grading.out, b)
    assert [(m.where, m.what, m.detail) for m in report.mismatches] == [("euler/linreg", "missing", "result only in A")]


def test_bad_folders_are_one_line_errors(tmp_path, capsys):
    assert main(["parity", str(tmp_path / "nope"), str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "does not exist" in err
    (tmp_path / "empty").mkdir()
    assert main(["parity", str(tmp_path / "empty"), str(tmp_path / "empty")]) == 2
    assert "no results" in capsys.readouterr().err


@pytest.mark.parametrize("x, y, ok", [(1.0, 1.0 + 1e-12, True), (float("nan"), float("nan"), True),
                                      (float("inf"), float("inf"), True), (1.0, 1.001, False), (True, 1, False),
                                      ([1, 2], [1, 2, 3], False), ({"a": 1}, {"b": 1}, False)])
def test_number_comparison_rules(x, y, ok):
    from autograder.parity import _numbers_close

    assert _numbers_close(x, y, 1e-9, 1e-12) is ok


def test_python_is_compared_by_feature_release(demo, tmp_path):
    """The image's Debian Python (3.11.2) and a laptop's (3.11.7) run the same locked wheels:
    shown side by side, not a mismatch; 3.12 against 3.11 is."""
    b = _copy(demo.grading.out, tmp_path / "b")
    major_minor = ".".join(json.loads((demo.grading.out / "ada" / "linreg" / "result.json").read_text())
                           ["environment"]["python"].split(".")[:2])
    for student in DEMO:
        _edit(b, student, lambda data: data["environment"].update(python=f"{major_minor}.99"))
    report = compare(demo.grading.out, b)
    assert report.ok and "(patch level only: not compared)" in format_report(report)
    for student in DEMO:
        _edit(b, student, lambda data: data["environment"].update(python="2.7.18"))
    report = compare(demo.grading.out, b)
    assert [(m.where, m.what) for m in report.mismatches] == [("environment", "environment")]
    assert "python" in report.mismatches[0].detail
