"""The allowed-libraries check: imports and fitting routines found in the student's cells (read,
never run) and fitting libraries found loaded in the kernel, each named by cell and line."""

import nbformat
import pytest

from autograder.compliance import expect_compliant, loaded_violations, scan_notebook
from autograder.suite import Mismatch


def _nb(*sources, protected=()):
    nb = nbformat.v4.new_notebook()
    for i, src in enumerate(sources):
        meta = {"nbgrader": {"grade_id": f"cell{i}", "solution": i not in protected, "locked": i in protected,
                             "grade": False}}
        nb.cells.append(nbformat.v4.new_code_cell(src, metadata=meta))
    return nb


def _messages(nb, allowed=("numpy", "matplotlib", "math")):
    return [v.message() for v in scan_notebook(nb, allowed)]


def test_allowed_imports_pass():
    nb = _nb("import numpy as np\nimport matplotlib.pyplot as plt\nfrom math import sqrt\nimport math",
             "%matplotlib inline\nx = np.linspace(0, 1)\nplt.plot(x, np.sqrt(x))\ny = np.linalg.norm(x)")
    assert _messages(nb) == []


def test_other_libraries_are_named_by_cell_and_line():
    nb = _nb("import numpy as np", "x = 1\nfrom sklearn.linear_model import LinearRegression",
             "import pandas as pd")
    assert _messages(nb) == [
        "cell 1 (cell1), line 2 imports sklearn.linear_model: scikit-learn is not allowed in this lab",
        "cell 2 (cell2), line 1 imports pandas: this lab allows only math, matplotlib, numpy",
    ]


def test_fitting_routines_through_aliases():
    nb = _nb("import numpy as np\nimport numpy.linalg as la\nfrom numpy import polyfit as pf",
             "def fit(x, y):\n    return np.polyfit(x, y, 1)",
             "w = la.lstsq(X, y, rcond=None)[0]",
             "c = pf(x, y, 2)",
             "theta = np.linalg.inv(X.T @ X) @ X.T @ y")
    assert _messages(nb) == [
        "cell 0 (cell0), line 3 imports numpy.polyfit: np.polyfit fits the polynomial for you",
        "cell 1 (cell1), line 2 uses np.polyfit: np.polyfit fits the polynomial for you",
        "cell 2 (cell2), line 1 uses la.lstsq: np.linalg.lstsq solves the least-squares problem for you",
        "cell 3 (cell3), line 1 uses pf: np.polyfit fits the polynomial for you",
        "cell 4 (cell4), line 1 uses np.linalg.inv: np.linalg.inv solves the normal equations for you",
    ]


def test_imports_spelled_as_calls_and_magics():
    nb = _nb("import importlib\nm = importlib.import_module('scipy.optimize')", "s = __import__('statsmodels')",
             "!pip install scikit-learn\n%time x = 1")
    assert _messages(nb) == [
        "cell 0 (cell0), line 1 imports importlib: this lab allows only math, matplotlib, numpy",
        "cell 0 (cell0), line 2 imports scipy.optimize: SciPy is not allowed in this lab",
        "cell 1 (cell1), line 1 imports statsmodels: statsmodels is not allowed in this lab",
    ]


def test_the_labs_own_cells_are_not_the_students():
    nb = _nb("import scipy  # the lab's own setup", "import numpy as np", protected=(0,))
    assert _messages(nb) == []


def test_a_cell_that_does_not_parse_is_skipped():
    assert _messages(_nb("def broken(:\n    import sklearn", "import numpy")) == []


def test_loaded_libraries():
    found = loaded_violations(["numpy", "matplotlib", "sklearn", "sklearn.linear_model", "scipy", "json"])
    assert [v.message() for v in found] == [
        "the notebook loaded scipy while it ran: SciPy is not allowed in this lab",
        "the notebook loaded sklearn while it ran: scikit-learn is not allowed in this lab",
    ]
    assert loaded_violations(["scipy"], allowed=("numpy", "scipy")) == []


class _Student:
    def __init__(self, modules):
        self._modules = modules

    def modules(self):
        if isinstance(self._modules, Exception):
            raise self._modules
        return self._modules


def test_a_blank_notebook_earns_nothing():
    blank = _nb("# YOUR CODE HERE\nraise NotImplementedError()", "import numpy as np", protected=(1,))
    with pytest.raises(Mismatch) as err:
        expect_compliant(blank, _Student(["numpy"]))
    assert str(err.value) == ("nothing to check yet: none of your answer cells has been written "
                              "(they all still raise NotImplementedError)")


def test_the_hidden_check_message():
    nb = _nb("import numpy as np", "from sklearn.linear_model import LinearRegression\nimport scipy")
    with pytest.raises(Mismatch) as err:
        expect_compliant(nb, _Student(["numpy", "sklearn", "scipy"]))
    assert str(err.value) == (
        "cell 1 (cell1), line 1 imports sklearn.linear_model: scikit-learn is not allowed in this lab; "
        "cell 1 (cell1), line 2 imports scipy: SciPy is not allowed in this lab. "
        "Write it with numpy, matplotlib, math only, as the lab asks")
    with pytest.raises(Mismatch, match="the notebook loaded sklearn while it ran"):
        expect_compliant(_nb("import numpy as np"), _Student(["numpy", "sklearn"]))
    expect_compliant(_nb("import numpy as np"), _Student(["numpy", "matplotlib"]))
    expect_compliant(_nb("import numpy as np"), _Student(RuntimeError("kernel gone")))  # judged on the source


def test_a_clean_kernel_loads_no_fitting_library_and_a_hidden_import_is_seen():
    from autograder.config import GradingConfig
    from autograder.kernel import KernelBridge, KernelSession

    nb = _nb("import numpy as np\nimport matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.show()")
    # scikit-learn is not installed here: the notebook writes a module of that name, as far as the
    # kernel's module table can tell the same thing.
    sneaky = _nb("open('sklearn.py', 'w').write('fit = None')",
                 "import numpy as np\nname = 'sk' + 'learn'\nmodule = __builtins__.__import__(name)")
    seen = []
    for notebook in (nb, sneaky):
        with KernelSession(GradingConfig()) as session:
            session.run(notebook)
            bridge = KernelBridge(session.connection_info(), interrupt=session.interrupt,
                                  is_alive=session.kernel_alive, call_timeout=10)
            try:
                seen.append([v.message() for v in loaded_violations(bridge.modules())])
            finally:
                bridge.close()
    assert seen == [[], ["the notebook loaded sklearn while it ran: scikit-learn is not allowed in this lab"]]
