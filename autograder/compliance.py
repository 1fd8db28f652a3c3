"""Allowed libraries: what a student's cells may import, and the fitting routines they may not call.

A lab's ``lab.toml`` says what its student cells may import::

    [compliance]
    allowed_imports = ["numpy", "matplotlib", "math"]

Everything else, and a ready-made fitting routine anywhere in the student's code (``np.polyfit``,
``np.linalg.lstsq``/``solve``/``pinv``/``inv``, ``numpy.polynomial``, scikit-learn, ``scipy.optimize``,
statsmodels), is a violation named by cell and line. The cells are read, never run, here: the
source is parsed (IPython's own transformer turns ``%magic`` and ``!shell`` lines into Python
first), and the kernel's loaded modules, read after the run, catch an import spelled at run time
(``importlib.import_module("skl" + "earn")``).
"""

from __future__ import annotations

import ast
import logging
import warnings
from dataclasses import dataclass
from typing import Iterable, Sequence

from .cells import grade_id, is_answer, is_code, is_protected

log = logging.getLogger(__name__)

DEFAULT_ALLOWED = ("numpy", "matplotlib", "math")

# Fitting routines: dotted names as written after aliases are resolved ("np" -> "numpy").
FORBIDDEN_CALLS = {
    "numpy.polyfit": "np.polyfit fits the polynomial for you",
    "numpy.linalg.lstsq": "np.linalg.lstsq solves the least-squares problem for you",
    "numpy.linalg.solve": "np.linalg.solve solves the normal equations for you",
    "numpy.linalg.pinv": "np.linalg.pinv solves the least-squares problem for you",
    "numpy.linalg.inv": "np.linalg.inv solves the normal equations for you",
    "numpy.polynomial": "numpy.polynomial fits the polynomial for you",
}
# Libraries that fit models: named as such when imported, found also when loaded at run time.
FITTING_LIBRARIES = {
    "sklearn": "scikit-learn", "scipy": "SciPy", "statsmodels": "statsmodels", "torch": "PyTorch",
    "tensorflow": "TensorFlow", "jax": "JAX", "keras": "Keras", "xgboost": "XGBoost", "lightgbm": "LightGBM",
}


@dataclass(frozen=True)
class Violation:
    cell: int  # index in the notebook
    grade_id: str | None
    line: int | None  # line in that cell, 1-based
    what: str  # "imports sklearn", "calls np.polyfit"
    why: str = ""

    def message(self) -> str:
        if self.cell < 0:
            return f"the notebook {self.what}" + (f": {self.why}" if self.why else "")
        where = f"cell {self.cell}" + (f" ({self.grade_id})" if self.grade_id else "")
        line = f", line {self.line}" if self.line else ""
        return f"{where}{line} {self.what}" + (f": {self.why}" if self.why else "")


def _python(source: str) -> str:
    """The cell as plain Python: IPython's magics and shell escapes become ordinary calls."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001 - parse what we can
        return source


def _dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def _forbidden(name: str) -> str | None:
    for prefix, why in FORBIDDEN_CALLS.items():
        if name == prefix or name.startswith(prefix + "."):
            return why
    return None


class _Scanner(ast.NodeVisitor):
    def __init__(self, allowed: frozenset[str], aliases: dict[str, str]):
        self.allowed = allowed
        self.aliases = aliases  # shared across the notebook's cells, in order
        self.found: list[tuple[int, str, str]] = []

    def _module(self, line: int, module: str) -> None:
        top = module.split(".")[0]
        if top in self.allowed:
            return
        library = FITTING_LIBRARIES.get(top)
        why = f"{library} is not allowed in this lab" if library else "this lab allows only " + ", ".join(sorted(self.allowed))
        self.found.append((line, f"imports {module}", why))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._module(node.lineno, alias.name)
            self.aliases[(alias.asname or alias.name).split(".")[0]] = alias.name if alias.asname else alias.name.split(".")[0]

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level or not node.module:
            return
        self._module(node.lineno, node.module)
        for alias in node.names:
            full = f"{node.module}.{alias.name}"
            why = _forbidden(full)
            if why:
                self.found.append((node.lineno, f"imports {full}", why))
            self.aliases[alias.asname or alias.name] = full

    def visit_Attribute(self, node: ast.Attribute) -> None:
        name = _dotted(node)
        if name is not None:
            head, _, rest = name.partition(".")
            full = ".".join(x for x in (self.aliases.get(head, head), rest) if x)
            why = _forbidden(full)
            if why:
                self.found.append((node.lineno, f"uses {name}", why))
                return  # one finding per chain, not one per prefix
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        full = self.aliases.get(node.id)
        if full and _forbidden(full) and full != node.id:
            self.found.append((node.lineno, f"uses {node.id}", _forbidden(full)))

    def visit_Call(self, node: ast.Call) -> None:
        # __import__("sklearn") and importlib.import_module("sklearn") with a literal name.
        name = _dotted(node.func)
        if name in ("__import__", "importlib.import_module", "import_module") and node.args and \
                isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            self._module(node.lineno, node.args[0].value)
        self.generic_visit(node)


def student_cells(nb) -> list[tuple[int, object]]:
    """The cells the student wrote: every code cell that is not one of the lab's protected cells."""
    return [(i, c) for i, c in enumerate(nb.cells) if is_code(c) and not is_protected(c)]


def scan_notebook(nb, allowed: Iterable[str] = DEFAULT_ALLOWED, *, cells: Sequence[tuple[int, object]] | None = None
                  ) -> list[Violation]:
    """The violations in ``nb``'s student cells (all code cells, by default, in order, so that an
    alias made in one cell is known in the next)."""
    allowed = frozenset(allowed)
    aliases: dict[str, str] = {}
    found: list[Violation] = []
    chosen = {i for i, _ in (cells if cells is not None else student_cells(nb))}
    for index, cell in enumerate(nb.cells):
        if not is_code(cell):
            continue
        try:
            with warnings.catch_warnings():  # a student's "\o" in a plain string is theirs, not a grader warning
                warnings.simplefilter("ignore")
                tree = ast.parse(_python(cell.source))
        except SyntaxError:
            continue  # a cell that does not parse is the grade's to judge, not this check's
        scanner = _Scanner(allowed, aliases)
        scanner.visit(tree)
        if index in chosen:
            found += [Violation(index, grade_id(cell), line, what, why) for line, what, why in scanner.found]
    return found


def loaded_violations(modules: Iterable[str], allowed: Iterable[str] = DEFAULT_ALLOWED) -> list[Violation]:
    """Fitting libraries among the kernel's loaded modules (``sys.modules`` after the run)."""
    allowed = frozenset(allowed)
    tops = sorted({str(m).split(".")[0] for m in modules})
    return [Violation(-1, None, None, f"loaded {top} while it ran", f"{FITTING_LIBRARIES[top]} is not allowed in "
                                                                     "this lab")
            for top in tops if top in FITTING_LIBRARIES and top not in allowed]


def attempted(notebook) -> bool:
    """Whether any answer cell of ``notebook`` has been written (a release's blank stubs all still
    raise NotImplementedError): a blank notebook has nothing to check, so it earns no compliance points."""
    answers = [c for c in (notebook.cells if notebook is not None else []) if is_answer(c)]
    return any(c.source.strip() and "raise NotImplementedError" not in c.source for c in answers)


def expect_compliant(executed, student, allowed: Iterable[str] = DEFAULT_ALLOWED) -> None:
    """For a hidden test: fail, naming each cell and line, if the submission imports or calls
    what the lab does not allow. ``executed`` is the executed notebook; ``student`` the judge's
    proxy, through which the kernel's loaded modules are read."""
    from .suite import Mismatch, record

    allowed = tuple(allowed)
    if not attempted(executed):
        raise Mismatch("nothing to check yet: none of your answer cells has been written "
                       "(they all still raise NotImplementedError)")
    found = scan_notebook(executed, allowed) if executed is not None else []
    try:
        found += [v for v in loaded_violations(student.modules(), allowed)
                  if not any(v.what.split()[1] in f.what for f in found)]
    except Exception as exc:  # noqa: BLE001 - a kernel that will not say is judged on its source alone
        log.info("could not read the kernel's modules: %s", exc)
    record("compliance: violations", len(found))
    if found:
        shown = "; ".join(v.message() for v in found[:3])
        more = f" (and {len(found) - 3} more)" if len(found) > 3 else ""
        raise Mismatch(f"{shown}{more}. Write it with {', '.join(allowed)} only, as the lab asks")
