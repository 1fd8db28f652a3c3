"""The rest of the hostile and broken corpus for Lab 1 (issue 5), graded in one batch.

Every submission below goes through the full grade path (``grade_class``, two workers, the
FAST limits) once; each test then asserts the exact status, score per function, and message or
note that one submission must get. Broken files never start a kernel, so they cost nothing.
"""

import copy
import csv
import hashlib
import json
import logging
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from autograder.course import load_lab
from autograder.demo import build_submission, solutions
from autograder.errors import CourseError
from autograder.grade import grade_class
from autograder.report import write_class_grades

from conftest import FAST

pytestmark = pytest.mark.slow

FULL = {"plot_data": 2.0, "predict": 2.0, "compute_cost": 4.0, "compute_gradient_loop": 4.0, "compute_gradient": 4.0,
        "cost_grid": 3.0, "plot_cost_surface": 3.0, "gradient_descent": 5.0, "plot_convergence": 2.0,
        "compare_learning_rates": 3.0, "plot_fit": 2.0, "compliance": 2.0}
MAX = sum(FULL.values())  # 36

ONE_OVER_M_COST = ("def compute_cost(x, y, w, b):\n    x = np.asarray(x, dtype=float)\n"
                   "    return float(np.sum((w * x + b - y) ** 2) / x.shape[0])")

# 100 MiB printed in one cell, far past the output cap (FAST keeps the default 8 MB).
FLOOD = "for _ in range(100):\n    print('x' * 2**20)"

# Tries to leave a forged full-marks result wherever it can; prints what each attempt did.
FORGE = '''
import json, os
forged = {"schema": "autograder.result/1", "student": "forger", "lab": "linreg", "status": "graded",
          "score": 36.0, "max_score": 36.0, "tests": [], "submission_sha256": None}
attempts = {}
for target in TARGETS:
    try:
        os.makedirs(os.path.dirname(target) or ".", exist_ok=True)
        with open(target, "w") as handle:
            json.dump(forged, handle)
        attempts[target] = "written"
    except OSError as exc:
        attempts[target] = type(exc).__name__
print(json.dumps(attempts))
'''


def _gid(cell):
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _index(nb, gid):
    return next(i for i, c in enumerate(nb.cells) if _gid(c) == gid)


def _write(subs, student, nb, name="linreg.ipynb"):
    folder = subs / student / "linreg"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if isinstance(nb, (bytes, str)):
        path.write_bytes(nb if isinstance(nb, bytes) else nb.encode())
    else:
        nbformat.write(nb, str(path))
    return path


def _freeform(*sources):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


@pytest.fixture(scope="module")
def corpus(course, tmp_path_factory):
    """Build every corpus submission, grade them all in one batch, return results by student."""
    lab = load_lab("linreg", course)
    polyreg = load_lab("polyreg", course)
    root = tmp_path_factory.mktemp("corpus")
    subs, out = root / "submitted", root / "out"
    full = build_submission(lab, {})
    tmp_target = f"/tmp/autograder-forged-{secrets.token_hex(6)}/result.json"

    _write(subs, "top_level_loop", build_submission(lab, {}, {"data": "while True:\n    pass"}))
    _write(subs, "flood", build_submission(lab, {"compute_cost": ONE_OVER_M_COST}, {"data": FLOOD}))
    targets = ["result.json", "../result.json", str(out / "forger" / "linreg" / "result.json"),
               str(out / "honest" / "linreg" / "result.json"), str(out / "grades.csv"),
               str(subs / "forger" / "linreg" / "linreg.ipynb"), str(subs / "honest" / "linreg" / "linreg.ipynb"),
               tmp_target]
    _write(subs, "huge_exception", build_submission(lab, {}, {"data": "raise ValueError('x' * 30 * 2**20)"}))
    _write(subs, "forger", build_submission(lab, {"compute_cost": ONE_OVER_M_COST},
                                            {"data": FORGE.replace("TARGETS", repr(targets))}))
    _write(subs, "honest", full)

    edits = build_submission(lab, {})
    edits.cells[_index(edits, "intro")].source = "# My own lab"
    edits.cells[_index(edits, "data")].source = "M = np.zeros(10)\nL = np.zeros(10)"
    edits.cells[_index(edits, "test_predict")].source = "print('all visible checks passed')"
    test_gradient = edits.cells[_index(edits, "test_compute_gradient")]
    edits.cells[_index(edits, "test_compute_gradient")] = nbformat.v4.new_markdown_cell(
        "no test here", metadata=copy.deepcopy(test_gradient.metadata))
    del edits.cells[_index(edits, "test_compute_cost")]
    del edits.cells[_index(edits, "setup")]
    _write(subs, "edits_protected", edits)

    deleted = build_submission(lab, {})
    del deleted.cells[_index(deleted, "compute_gradient_loop")]
    _write(subs, "deletes_answer", deleted)
    renamed = solutions(lab)["compute_gradient_loop"].replace("def compute_gradient_loop", "def gradient_loop")
    _write(subs, "renames_function", build_submission(lab, {"compute_gradient_loop": renamed}))

    kernel = build_submission(lab, {})
    kernel.metadata["kernelspec"] = {"name": "evil", "display_name": "Evil", "language": "python"}
    kernel.metadata["language_info"] = {"name": "R"}
    _write(subs, "kernelspec", kernel)

    _write(subs, "nbformat3", nbformat.writes(nbformat.convert(copy.deepcopy(full), 3), version=3))

    def padded(megabytes):
        nb = build_submission(lab, {})
        blob = "A" * (megabytes * 2**20)
        nb.cells[_index(nb, "data")].outputs = [nbformat.v4.new_output(
            "display_data", data={"image/png": blob, "text/plain": "<Figure>"})]
        return nb

    _write(subs, "huge_50mb", padded(50))
    _write(subs, "big_15mb", padded(15))

    _write(subs, "polyreg_as_linreg", build_submission(polyreg, {}))
    _write(subs, "polyreg_file", build_submission(polyreg, {}), name="polyreg.ipynb")
    _write(subs, "freeform_functions", _freeform("import numpy as np", "\n\n".join(solutions(lab).values())))
    _write(subs, "freeform_nothing", _freeform("print('hello')"))
    malformed = {"metadata_nbgrader_str": ("nbgrader", "evil"), "metadata_tags_int": ("tags", 5)}
    for student, (key, value) in malformed.items():
        broken = build_submission(lab, {})
        broken.cells[_index(broken, "predict")].metadata[key] = value
        _write(subs, student, json.dumps(broken))  # nbformat.write would refuse to write it

    for name in ("ada lovelace", "zoë 学生", ".dotted"):
        _write(subs, name, full)
    (subs / ".git" / "objects").mkdir(parents=True)
    (subs / ".ipynb_checkpoints").mkdir()

    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in subs.rglob("*.ipynb")}
    warnings = _Collect()
    logging.getLogger("autograder.load").addHandler(warnings)
    started = time.monotonic()
    try:
        grading = grade_class("linreg", submissions=subs, out=out, seed=11, course_root=course, config=FAST,
                              workers=2)
    finally:
        logging.getLogger("autograder.load").removeHandler(warnings)
    write_class_grades(grading)
    yield {"results": {r.student: r.to_json() for r in grading.results}, "grading": grading, "subs": subs, "out": out,
           "before": before, "tmp_target": Path(tmp_target), "lab": lab, "warnings": warnings.lines,
           "seconds": time.monotonic() - started}
    shutil.rmtree(Path(tmp_target).parent, ignore_errors=True)


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def points(result):
    return {name: f["points"] for name, f in result["functions"].items()}


def failing(result):
    return {t["name"]: (t["status"], t["message"]) for t in result["tests"] if t["status"] != "passed"}


def executed(corpus, student):
    return nbformat.read(str(corpus["out"] / student / "linreg" / "linreg.ipynb"), as_version=4)


def graded_full_marks(result):
    assert (result["status"], result["score"]) == ("graded", MAX), (result["message"], failing(result))
    assert points(result) == FULL
    assert result["grader_errors"] == []


# --- runaway notebooks ------------------------------------------------------------------------

def test_infinite_loop_at_top_level_is_cut_at_the_cell_limit(corpus):
    result = corpus["results"]["top_level_loop"]
    graded_full_marks(result)  # every function defined after the loop still earns its points
    assert result["message"] == "1 cell ran out of time"
    assert result["execution"]["problems"] == [
        {"cell": 4, "kind": "timeout", "ename": "CellTimeoutError", "evalue": ""}]
    assert result["execution"]["kernel_alive"] is True
    assert FAST.cell_timeout <= result["timings"]["execute"] < FAST.notebook_timeout


def test_100_mb_of_output_is_cut_and_the_score_is_right(corpus):
    result = corpus["results"]["flood"]
    assert (result["status"], result["score"]) == ("graded", MAX - 4)
    assert points(result) == {**FULL, "compute_cost": 0.0}
    # The visible check that fails after the flood is still reported: errors pass the output cap.
    assert result["message"] == ("1 cell raised an error (first: cell 12, AssertionError); "
                                 "1 cell printed past the output limit (cut)")
    assert [(p["cell"], p["kind"]) for p in result["execution"]["problems"]] == [(4, "output_cut"), (12, "error")]
    folder = corpus["out"] / "flood" / "linreg"
    cap = FAST.max_output_mb * 2**20
    assert (folder / "linreg.ipynb").stat().st_size < cap + 2**20  # not 100 MB
    assert (folder / "result.json").stat().st_size < 100_000
    outputs = executed(corpus, "flood").cells[4].outputs
    assert sum(len(o.get("text", "")) for o in outputs) < cap + 200
    assert outputs[-1]["text"].startswith("[autograder: output cut here: the notebook printed more than 8 MB")
    assert sorted(p.name for p in folder.iterdir()) == ["linreg.ipynb", "result.json"]  # no partial left


def test_a_huge_exception_message_is_clipped_not_kept(corpus):
    result = corpus["results"]["huge_exception"]
    graded_full_marks(result)
    assert result["message"] == "1 cell raised an error (first: cell 4, ValueError)"
    assert result["execution"]["problems"][0]["evalue"] == "x" * 500
    error = executed(corpus, "huge_exception").cells[4].outputs[-1]
    assert (error["output_type"], error["ename"], len(error["evalue"])) == ("error", "ValueError", 2000)
    assert (corpus["out"] / "huge_exception" / "linreg" / "linreg.ipynb").stat().st_size < 2**20


# --- forging a result -------------------------------------------------------------------------

def test_forged_result_files_are_refused_or_never_read(corpus):
    out, subs = corpus["out"], corpus["subs"]
    forger, honest = corpus["results"]["forger"], corpus["results"]["honest"]
    # Its cell imports json and os, which the lab does not allow: the compliance points go too.
    assert (forger["status"], forger["score"]) == ("graded", MAX - 4 - 2)
    assert points(forger) == {**FULL, "compute_cost": 0.0, "compliance": 0.0}
    assert forger["message"] == "1 cell raised an error (first: cell 12, AssertionError)"
    graded_full_marks(honest)
    on_disk = {s: json.loads((out / s / "linreg" / "result.json").read_text()) for s in ("forger", "honest")}
    assert on_disk["forger"] == forger and on_disk["honest"] == honest  # what the grader wrote, nothing else
    rows = {r["student"]: r for r in csv.DictReader((out / "grades.csv").open(encoding="utf-8"))}
    assert (rows["forger"]["score"], rows["forger"]["compute_cost"]) == ("30", "0")
    assert {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in subs.rglob("*.ipynb")} == corpus["before"]
    assert not (out / "result.json").exists() and not (out.parent / "result.json").exists()

    attempts = json.loads("".join(o.get("text", "") for o in executed(corpus, "forger").cells[4].outputs))
    assert attempts["result.json"] == attempts["../result.json"] == "written"  # its own scratch folder
    sandbox = forger["execution"]["sandbox"]
    if sandbox.get("unprivileged_uid"):
        refused = {t: why for t, why in attempts.items() if t.startswith((str(out), str(subs)))}
        assert len(refused) == 5, refused
        if not (sandbox.get("tmp") == "private" and str(out).startswith("/tmp/")):
            assert "written" not in refused.values(), refused
        # else: under /tmp these paths exist only in the kernel's own private /tmp, where its
        # writes land; the real files are the grader's, as checked above.
    # Wherever a forged file did land (its scratch folder, /tmp), the grader never reads it back:
    # the result above is the one the hidden suite produced (compute_cost's 4 points lost).
    assert [t["status"] for t in forger["tests"] if t["function"] == "compute_cost"] == ["failed"] * 3


# --- the notebook's shape changed ------------------------------------------------------------

def test_edited_and_deleted_protected_cells_are_restored_from_the_release(corpus):
    result = corpus["results"]["edits_protected"]
    graded_full_marks(result)
    assert result["notes"] == [
        "restored 4 protected cell(s) that were edited: intro, data, test_predict, test_compute_gradient",
        "re-inserted 2 protected cell(s) that were deleted: setup, test_compute_cost"]
    template = nbformat.read(str(corpus["lab"].release_notebook), as_version=4)
    ran = executed(corpus, "edits_protected")
    assert [_gid(c) for c in ran.cells] == [_gid(c) for c in template.cells]
    for gid in ("intro", "setup", "data", "test_predict", "test_compute_cost", "test_compute_gradient"):
        assert (ran.cells[_index(ran, gid)].cell_type, ran.cells[_index(ran, gid)].source) == \
            (template.cells[_index(template, gid)].cell_type, template.cells[_index(template, gid)].source)
    assert "all visible checks passed" not in json.dumps(ran.cells[_index(ran, "test_predict")].outputs)
    assert result["execution"]["problems"] == []  # the restored checks ran, on the real data, and passed


MISSING_LOOP = {
    "test_gradient_loop_random": ("missing", "compute_gradient_loop is not defined: keep its name and run the cell "
                                             "that defines it"),
    "test_gradient_loop_single_star": ("missing", "compute_gradient_loop is not defined: keep its name and run "
                                                  "the cell that defines it"),
    "test_gradient_loop_is_a_loop": ("failed", "could not find `def compute_gradient_loop` in its answer cell"),
}


def test_deleted_answer_cell_costs_that_function_only(corpus):
    result = corpus["results"]["deletes_answer"]
    assert (result["status"], result["score"]) == ("graded", MAX - 4)
    assert points(result) == {**FULL, "compute_gradient_loop": 0.0}
    assert failing(result) == MISSING_LOOP
    assert result["message"] == "2 cells raised an error (first: cell 13, NameError)"
    assert result["notes"] == []  # an answer cell is the student's: not re-inserted as a blank stub


def test_renamed_function_scores_zero_with_a_clear_message_others_keep_points(corpus):
    result = corpus["results"]["renames_function"]
    assert (result["status"], result["score"]) == ("graded", MAX - 4)
    assert points(result) == {**FULL, "compute_gradient_loop": 0.0}
    assert failing(result) == MISSING_LOOP
    assert result["message"] == "2 cells raised an error (first: cell 14, NameError)"


def test_switched_kernelspec_is_ignored(corpus):
    result = corpus["results"]["kernelspec"]
    graded_full_marks(result)
    assert result["notes"] == ["ignored the notebook's kernel 'evil'"]
    ran = executed(corpus, "kernelspec")
    assert ran.metadata["kernelspec"]["name"] == "python3"
    assert ran.metadata["language_info"]["name"] == "python"


# --- files that are not the lab's notebook as released --------------------------------------

def test_nbformat_3_notebook_is_upgraded_and_graded(corpus):
    result = corpus["results"]["nbformat3"]
    graded_full_marks(result)
    assert (result["message"], result["notes"]) == ("", [])
    assert executed(corpus, "nbformat3").nbformat == 4


def test_50_mb_notebook_is_refused_before_parsing(corpus):
    result = corpus["results"]["huge_50mb"]
    assert (result["status"], result["score"]) == ("invalid", 0.0)
    assert result["message"] == ("linreg.ipynb is 50 MB; notebooks above 20 MB are not graded "
                                 "(clear the outputs and resubmit)")
    folder = corpus["out"] / "huge_50mb" / "linreg"
    assert sorted(p.name for p in folder.iterdir()) == ["result.json"]
    assert (folder / "result.json").stat().st_size < 10_000


def test_15_mb_notebook_is_graded_and_its_outputs_dropped(corpus):
    result = corpus["results"]["big_15mb"]
    graded_full_marks(result)
    assert (corpus["out"] / "big_15mb" / "linreg" / "linreg.ipynb").stat().st_size < 2**20


NOT_THE_TEMPLATE = ("linreg.ipynb is not the linreg notebook: none of its cells come from the linreg release "
                    "(submit the notebook you were given, filled in)")


@pytest.mark.parametrize("student, status, message", [
    # Lab 2's notebook shares grade ids with Lab 1's (intro, predict, test_predict...), but its
    # cells carry Lab 2's nbgrader checksums.
    ("polyreg_as_linreg", "wrong_notebook", "linreg.ipynb is not the linreg notebook: most of its cells come from "
                                            "another release (submit the notebook you were given, filled in)"),
    ("polyreg_file", "missing", "no linreg.ipynb was submitted (the folder has polyreg.ipynb)"),
    # Not the template at all: even with the right functions it is refused (it would be graded
    # with none of the lab's cells), with a status the instructor sees and a message to act on.
    ("freeform_functions", "wrong_notebook", NOT_THE_TEMPLATE),
    ("freeform_nothing", "wrong_notebook", NOT_THE_TEMPLATE),
])
def test_not_this_labs_notebook(corpus, student, status, message):
    result = corpus["results"][student]
    assert (result["status"], result["score"], result["message"]) == (status, 0.0, message)
    assert result["tests"] == [] and set(points(result).values()) == {0.0}
    assert sorted(p.name for p in (corpus["out"] / student / "linreg").iterdir()) == ["result.json"]


@pytest.mark.parametrize("student, part", [("metadata_nbgrader_str", "nbgrader metadata in cell 7"),
                                           ("metadata_tags_int", "tags in cell 7")])
def test_malformed_metadata_is_a_result_row_not_a_crashed_batch(corpus, student, part):
    result = corpus["results"][student]
    assert (result["status"], result["score"]) == ("invalid", 0.0)
    assert result["message"] == (f"linreg.ipynb has malformed {part} (was it edited outside Jupyter?): "
                                 "submit the notebook you were given, filled in")


# --- student folder names ---------------------------------------------------------------------

@pytest.mark.parametrize("student", ["ada lovelace", "zoë 学生", ".dotted"])
def test_unusual_student_folder_names_are_graded_inside_out(corpus, student):
    graded_full_marks(corpus["results"][student])
    path = corpus["out"] / student / "linreg" / "result.json"
    assert json.loads(path.read_text(encoding="utf-8"))["student"] == student
    rows = {r["student"]: r for r in csv.DictReader((corpus["out"] / "grades.csv").open(encoding="utf-8"))}
    assert (rows[student]["status"], rows[student]["score"]) == ("graded", "36")


def test_hidden_tool_folders_are_skipped_and_said_so(corpus):
    out = corpus["out"]
    results = corpus["results"]
    assert ".git" not in results and ".ipynb_checkpoints" not in results
    assert corpus["warnings"] == [
        "skipped 2 hidden folder(s) with no linreg folder inside, not students: .git, .ipynb_checkpoints"]
    everything = [p.resolve() for p in out.rglob("*")]
    assert all(p.is_relative_to(out.resolve()) for p in everything)
    # Beside the students' folders: the class file and the run lock (the flock target, naming its last holder).
    assert sorted(p.name for p in out.iterdir()) == sorted([*results, "grades.csv", ".autograder.lock"])
    rows = list(csv.DictReader((out / "grades.csv").open(encoding="utf-8")))
    assert sorted(r["student"] for r in rows) == sorted(results)  # one row per student, none lost


def test_the_batch_is_bounded(corpus):
    assert len(corpus["results"]) == 21
    assert corpus["grading"].grader_errors == []
    assert corpus["seconds"] < 240


def test_a_student_id_that_leaves_the_out_folder_is_refused(course, tmp_path):
    subs = tmp_path / "submitted"
    (subs / "x" / "linreg").mkdir(parents=True)
    for bad in ("..", ".", "x/linreg", ""):
        with pytest.raises(CourseError) as info:
            grade_class("linreg", submissions=subs, out=tmp_path / "out", student=bad, course_root=course,
                        config=FAST)
        assert str(info.value) == f"{bad!r} is not a student id: give the name of a folder inside {subs}"
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_the_command_line_says_which_folders_it_skipped(course, tmp_path):
    subs = tmp_path / "submitted"
    (subs / ".git").mkdir(parents=True)
    (subs / "absent").mkdir()
    ran = subprocess.run([sys.executable, "-m", "autograder.cli", "grade", "linreg", "--submissions", str(subs),
                          "--out", str(tmp_path / "out"), "--course", str(course), "--seed", "1", "-q"],
                         capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr
    assert ("WARNING autograder.load: skipped 1 hidden folder(s) with no linreg folder inside, not students: .git"
            in ran.stderr.splitlines())
    assert "absent" in ran.stdout and "missing: no linreg.ipynb was submitted" in ran.stdout
