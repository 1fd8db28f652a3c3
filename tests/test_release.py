"""The release is what source/ generates today, and it leaks nothing."""

import json
import shutil

import pytest

from autograder.course import load_lab
from autograder.errors import ReleaseError
from autograder.release import find_leaks, release_lab

from conftest import REPO, copy_course

pytestmark = pytest.mark.slow


def test_committed_release_is_current_and_clean():
    report = release_lab("linreg", course_root=REPO, check=True)
    assert report.notebooks == ["linreg.ipynb"]
    assert find_leaks(load_lab("linreg", REPO), REPO / "release" / "linreg") == []


def test_stale_release_is_caught_and_regenerated(tmp_path):
    root = copy_course(tmp_path / "course")
    nb_path = root / "release" / "linreg" / "linreg.ipynb"
    nb = json.loads(nb_path.read_text())
    nb["cells"][0]["source"] = ["# An old title\n"]
    nb_path.write_text(json.dumps(nb))
    with pytest.raises(ReleaseError, match=r"release/linreg is stale \(linreg.ipynb: differs from what source/ "
                                           r"generates\): run `autograder release linreg` and commit the result"):
        release_lab("linreg", course_root=root, check=True)
    report = release_lab("linreg", course_root=root)
    assert report.changed
    assert json.loads(nb_path.read_text()) == json.loads((REPO / "release/linreg/linreg.ipynb").read_text())
    assert not release_lab("linreg", course_root=root).changed


@pytest.fixture
def release_copy(tmp_path):
    dest = tmp_path / "release"
    shutil.copytree(REPO / "release" / "linreg", dest)
    return dest


def edit_cell(release_dir, grade_id, change):
    path = release_dir / "linreg.ipynb"
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == grade_id:
            change(cell)
    path.write_text(json.dumps(nb))


def test_solution_code_is_a_leak(release_copy):
    lab = load_lab("linreg", REPO)
    edit_cell(release_copy, "compute_cost", lambda c: c.update(source="    residual = predict(x, w, b) - y\n"))
    assert find_leaks(lab, release_copy) == [
        "linreg.ipynb cell 10: solution code 'residual = predict(x, w, b) - y'"]


def test_written_model_answer_is_a_leak(release_copy):
    lab = load_lab("linreg", REPO)
    source_answer = "Luminosity grows roughly as a power of mass ($L \\propto M^{3.5}$), so the data curve upward."
    edit_cell(release_copy, "line_limits", lambda c: c.update(source=source_answer))
    assert any("solution code 'Luminosity grows roughly" in p for p in find_leaks(lab, release_copy))


def test_markers_hidden_tests_values_outputs_and_stray_files_are_leaks(release_copy):
    lab = load_lab("linreg", REPO)
    edit_cell(release_copy, "predict", lambda c: c.update(source="### BEGIN SOLUTION\n"))
    edit_cell(release_copy, "test_predict",
              lambda c: c.update(source="def _params(rng):\n    return float(rng.normal(0.0, 5.0)), float(rng.normal(0.0, 5.0))\n"))
    edit_cell(release_copy, "test_compute_cost",
              lambda c: c.update(outputs=[{"output_type": "stream", "name": "stdout", "text": "w = 18.130\n"}]))
    (release_copy / "test_linreg.py").write_text("")
    problems = find_leaks(lab, release_copy)
    assert "linreg.ipynb: contains the marker 'BEGIN SOLUTION'" in problems
    assert "linreg.ipynb cell 8: hidden-test or reference code " \
           "'return float(rng.normal(0.0, 5.0)), float(rng.normal(0.0, 5.0))'" in problems
    assert "linreg.ipynb cell 11: has outputs (releases must be cleared)" in problems
    assert "linreg.ipynb cell 11: the reference's final w (18.130)" in problems
    assert "test_linreg.py: file is not in source/linreg (only source files may be released)" in problems
