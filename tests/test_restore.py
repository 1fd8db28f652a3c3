import copy
from pathlib import Path

import nbformat

from autograder.restore import answer_sources, is_protected, restore

REPO = Path(__file__).resolve().parent.parent


def template():
    return nbformat.read(str(REPO / "release" / "linreg" / "linreg.ipynb"), as_version=4)


def index_of(nb, gid):
    return next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == gid)


def test_edited_visible_test_and_data_cells_are_restored():
    tpl = template()
    nb = copy.deepcopy(tpl)
    nb.cells[index_of(nb, "test_predict")].source = "print('all good')"
    nb.cells[index_of(nb, "data")].source = "M = L = 0"
    result = restore(nb, tpl)
    assert result.notebook.cells[index_of(nb, "test_predict")].source == tpl.cells[index_of(tpl, "test_predict")].source
    assert result.notebook.cells[index_of(nb, "data")].source.startswith("M = np.array([0.6, 0.8")
    assert result.notes == ["restored 2 protected cell(s) that were edited: data, test_predict"]


def test_deleted_test_cell_is_reinserted_after_its_predecessor():
    tpl = template()
    nb = copy.deepcopy(tpl)
    del nb.cells[index_of(nb, "test_compute_cost")]
    result = restore(nb, tpl)
    cells = result.notebook.cells
    assert index_of(result.notebook, "test_compute_cost") == index_of(result.notebook, "compute_cost") + 1
    assert len(cells) == len(tpl.cells)
    assert result.notes == ["re-inserted 1 protected cell(s) that were deleted: test_compute_cost"]


def test_answers_kept_outputs_cleared_kernel_forced():
    tpl = template()
    nb = copy.deepcopy(tpl)
    answer = nb.cells[index_of(nb, "predict")]
    answer.source = "def predict(x, w, b):\n    return w * x + b"
    answer.outputs = [nbformat.v4.new_output("stream", text="forged 22/22")]
    nb.metadata["kernelspec"] = {"name": "evil", "display_name": "Evil", "language": "python"}
    result = restore(nb, tpl)
    assert result.notebook.cells[index_of(nb, "predict")].source == answer.source
    assert result.notebook.cells[index_of(nb, "predict")].outputs == []
    assert result.notebook.metadata["kernelspec"]["name"] == "python3"
    assert "ignored the notebook's kernel 'evil'" in result.notes
    assert answer_sources(result.notebook)["predict"] == answer.source


def test_protected_means_locked_or_visible_test():
    tpl = template()
    kinds = {c.metadata["nbgrader"]["grade_id"]: is_protected(c) for c in tpl.cells if "nbgrader" in c.metadata}
    assert kinds["test_predict"] and kinds["data"] and kinds["intro"]
    assert not kinds["predict"] and not kinds["meaning_of_w"]
