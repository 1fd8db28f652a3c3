"""Every way a submitted file can be unreadable, with the exact status and message."""

import json
from pathlib import Path

import nbformat
import pytest

from autograder.errors import SubmissionError
from autograder.load import load_notebook

REPO = Path(__file__).resolve().parent.parent
IDS = {"predict", "test_predict", "intro"}


def load(path):
    return load_notebook(path, lab="linreg", template_ids=IDS)


def expect_error(path, status, message):
    with pytest.raises(SubmissionError) as info:
        load(path)
    assert info.value.status == status
    assert str(info.value) == message


def test_missing(tmp_path):
    expect_error(tmp_path / "linreg.ipynb", "missing", "no linreg.ipynb was submitted")


def test_empty_file(tmp_path):
    path = tmp_path / "linreg.ipynb"
    path.write_bytes(b"")
    expect_error(path, "invalid", "linreg.ipynb is empty (0 bytes)")


def test_not_json(tmp_path):
    path = tmp_path / "linreg.ipynb"
    path.write_text("{\n  'cells': oops\n")
    expect_error(path, "invalid", "linreg.ipynb is not valid JSON (line 2, column 3): was it saved from Jupyter?")


def test_not_utf8(tmp_path):
    path = tmp_path / "linreg.ipynb"
    path.write_bytes(b'{"cells": ["\xff\xfe"]}')
    expect_error(path, "invalid", "linreg.ipynb is not UTF-8 text (bad byte at offset 12)")


def test_json_but_not_a_notebook(tmp_path):
    path = tmp_path / "linreg.ipynb"
    path.write_text(json.dumps({"hello": "world"}))
    expect_error(path, "invalid", "linreg.ipynb is JSON but not a Jupyter notebook (no cells)")


def test_a_folder(tmp_path):
    (tmp_path / "linreg.ipynb").mkdir()
    expect_error(tmp_path / "linreg.ipynb", "invalid", "linreg.ipynb is a folder, not a notebook")


def test_another_labs_notebook(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    nb.cells[0].metadata["nbgrader"] = {"grade_id": "build_features", "solution": True, "grade": False}
    path = tmp_path / "linreg.ipynb"
    nbformat.write(nb, str(path))
    expect_error(path, "wrong_notebook", "linreg.ipynb is not the linreg notebook: none of its cells come from "
                                         "the linreg release (submit the notebook you were given, filled in)")


def test_the_release_loads(tmp_path):
    nb = load(REPO / "release" / "linreg" / "linreg.ipynb")
    assert len(nb.cells) == 41
