"""The course folder and its labs: where sources, releases and hidden suites live.

A lab is the union of ``source/<lab>/<lab>.ipynb`` (nbgrader source notebook), its generated
``release/<lab>/`` and its content folder ``autograder/labs/<lab>/`` (``lab.toml``, the hidden
pytest suite and the reference solution). Nothing is discovered at import time.
"""

from __future__ import annotations

import importlib.util
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import ModuleType

import nbformat

from . import cells as cells_meta
from .errors import CourseError

LABS_DIR = Path(__file__).resolve().parent / "labs"


def labs_dir(course_root: Path) -> Path:
    """Where the course's lab content (``lab.toml``, hidden suites, references) lives: the course
    folder's own ``autograder/labs/`` when it has one (a checkout of the kit, or the course bundle a
    SageMaker Processing job receives), else the content installed with this package."""
    bundled = Path(course_root) / "autograder" / "labs"
    return bundled if bundled.is_dir() else LABS_DIR


@dataclass(frozen=True)
class GradedFunction:
    """One autograded function: its answer cell, its visible-test cell and its points."""

    name: str
    points: float
    test_cell: str


@dataclass(frozen=True)
class Lab:
    """Everything the engine needs to know about one lab."""

    name: str
    title: str
    course_root: Path
    notebook: str
    content_dir: Path
    suite: Path
    reference: Path
    functions: tuple[GradedFunction, ...] = field(default=())
    manual_points: float = 0.0
    parameterized: bool = False
    allowed_imports: tuple[str, ...] = ("numpy", "matplotlib", "math")  # lab.toml [compliance]
    kinds: tuple[tuple[str, str], ...] = ()  # lab.toml [parts]: (part, kind) where not "function"

    def kind_of(self, part: str) -> str:
        """What a graded part is: "function" (the default), "figure", "experiment" or "compliance"."""
        return dict(self.kinds).get(part, "compliance" if part == "compliance" else "function")

    @property
    def coded(self) -> tuple[GradedFunction, ...]:
        """The graded parts that are functions the hidden suite calls (not figures, experiments or
        the compliance check): what the audit mutates and the named mistakes are written for."""
        return tuple(f for f in self.functions if self.kind_of(f.name) == "function")

    @property
    def source_dir(self) -> Path:
        return self.course_root / "source" / self.name

    @property
    def release_dir(self) -> Path:
        return self.course_root / "release" / self.name

    @property
    def source_notebook(self) -> Path:
        return self.source_dir / self.notebook

    @property
    def release_notebook(self) -> Path:
        return self.release_dir / self.notebook

    def release_template(self) -> tuple[nbformat.NotebookNode, frozenset[str]]:
        """The released (student) notebook, which protected cells are restored from and submissions
        are recognised by, and its nbgrader grade ids (read once per change of the file).

        Raises:
            CourseError: the release has not been generated.
        """
        path = self.release_notebook
        if not path.is_file():
            raise CourseError(f"{path} is missing: run `autograder release {self.name}` first", lab=self.name)
        return _template(str(path), path.stat().st_mtime)

    @property
    def max_score(self) -> float:
        return float(sum(f.points for f in self.functions))

    def function_points(self) -> dict[str, float]:
        return {f.name: f.points for f in self.functions}


@lru_cache(maxsize=8)
def _template(path: str, mtime: float) -> tuple[nbformat.NotebookNode, frozenset[str]]:
    nb = nbformat.read(path, as_version=4)
    return nb, frozenset(cells_meta.grade_id(c) for c in nb.cells) - {None}


_content_modules: dict[tuple[str, float], ModuleType] = {}


def _import_content(path: Path, *, lab: str, what: str) -> ModuleType:
    key = (str(path), path.stat().st_mtime)
    if key not in _content_modules:
        spec = importlib.util.spec_from_file_location(f"autograder_{lab}_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            raise CourseError(f"lab {lab}: {what} {path.name} does not import: {type(exc).__name__}: {exc}",
                              lab=lab) from None
        _content_modules[key] = module
    return _content_modules[key]


def load_content_module(lab: "Lab", filename: str, *, what: str) -> ModuleType:
    """Import one of a lab's content modules (``reference.py``, ``demo.py``, ``feedback.py``, ...)
    from its content folder, once per process and change of the file. They run in the grader's
    process only, never in a student's kernel.

    Raises:
        CourseError: the file is missing or does not import (``what`` names it in the message).
    """
    path = lab.content_dir / filename
    if not path.is_file():
        raise CourseError(f"lab {lab.name}: {what} {path} is missing", lab=lab.name)
    return _import_content(path, lab=lab.name, what=what)


def load_sibling(module_file: str, filename: str) -> ModuleType:
    """For a lab's content modules: import ``filename`` from the same content folder (how a hidden
    suite and a feedback hook share the names they both use, such as ``labels.py``)."""
    path = Path(module_file).resolve().parent / filename
    if not path.is_file():
        raise CourseError(f"lab {path.parent.name}: {path} is missing", lab=path.parent.name)
    return _import_content(path, lab=path.parent.name, what="content module")


def find_course_root(start: Path | None = None) -> Path:
    """Return the course folder: the nearest folder up from ``start`` with ``nbgrader_config.py``
    and ``source/``, else the folder this package was installed from (a checkout of the kit)."""
    here = Path.cwd() if start is None else Path(start)
    for folder in (here, *here.resolve().parents):
        if (folder / "nbgrader_config.py").is_file() and (folder / "source").is_dir():
            return folder
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "source").is_dir():
        return checkout
    raise CourseError(f"no course folder found from {here}: expected nbgrader_config.py and source/ "
                      "(pass --course DIR)")


def _lab_order(content: Path, name: str) -> tuple:
    try:
        return (int(tomllib.loads((content / name / "lab.toml").read_text()).get("order", 1000)), name)
    except (OSError, ValueError, tomllib.TOMLDecodeError):
        return (1000, name)


def list_labs(course_root: Path) -> list[str]:
    """Names of the labs that have both a source folder and hidden-suite content, in course order
    (``order`` in each ``lab.toml``)."""
    source = Path(course_root) / "source"
    if not source.is_dir():
        return []
    content = labs_dir(course_root)
    return sorted((p.name for p in source.iterdir()
                   if p.is_dir() and (content / p.name / "lab.toml").is_file()),
                  key=lambda name: _lab_order(content, name))


def _read_cells(path: Path) -> list:
    try:
        return nbformat.read(str(path), as_version=4).cells
    except Exception as exc:
        raise CourseError(f"cannot read source notebook {path}: {exc}") from None


def graded_functions(cells: list) -> tuple[tuple[GradedFunction, ...], float]:
    """The autograded functions and the manual points of a source (or release) notebook.

    An answer cell ``grade_id = F`` (code, solution) pairs with a visible-test cell
    ``grade_id = test_F`` (code, grade) whose ``points`` are F's share of the grade.
    """
    answers: list[str] = []
    tests: dict[str, float] = {}
    manual = 0.0
    for cell in cells:
        gid = cells_meta.grade_id(cell)
        if not gid:
            continue
        if cells_meta.is_answer(cell):
            answers.append(gid)
        elif cells_meta.is_test(cell):
            tests[gid] = cells_meta.points(cell)
        elif cells_meta.is_written_answer(cell):
            manual += cells_meta.points(cell)
    functions = [GradedFunction(name=a, points=tests[f"test_{a}"], test_cell=f"test_{a}")
                 for a in answers if f"test_{a}" in tests]
    # A graded test cell with no answer cell of its own (the allowed-libraries check reads every
    # cell) is a part of the grade too, named for the cell.
    functions += [GradedFunction(name=t[len("test_"):], points=p, test_cell=t) for t, p in tests.items()
                  if t.startswith("test_") and t[len("test_"):] not in answers]
    order = {t: i for i, t in enumerate(tests)}
    functions = tuple(sorted(functions, key=lambda f: order[f.test_cell]))
    return functions, manual


PART_KINDS = ("function", "figure", "experiment", "compliance")


def _allowed_imports(spec: dict, lab: str) -> tuple[str, ...]:
    allowed = spec.get("compliance", {}).get("allowed_imports", ["numpy", "matplotlib", "math"])
    if not isinstance(allowed, list) or not all(isinstance(a, str) and a for a in allowed):
        raise CourseError(f"lab {lab}: [compliance] allowed_imports must be a list of module names", lab=lab)
    return tuple(allowed)


def _kinds(spec: dict, lab: str) -> tuple[tuple[str, str], ...]:
    parts = spec.get("parts", {})
    bad = {p: k for p, k in parts.items() if k not in PART_KINDS} if isinstance(parts, dict) else {"[parts]": parts}
    if bad:
        raise CourseError(f"lab {lab}: [parts] kinds must be one of {', '.join(PART_KINDS)}; got {bad}", lab=lab)
    return tuple(sorted(parts.items()))


def load_lab(name: str, course_root: Path | None = None) -> Lab:
    """Load a lab by name, checking that its source notebook and hidden suite exist."""
    root = find_course_root() if course_root is None else Path(course_root)
    content = labs_dir(root) / name
    if not (content / "lab.toml").is_file():
        known = ", ".join(list_labs(root)) or "none"
        raise CourseError(f"unknown lab {name!r} (labs in this course: {known})", lab=name)
    try:
        spec = tomllib.loads((content / "lab.toml").read_text())
    except tomllib.TOMLDecodeError as exc:
        raise CourseError(f"{content / 'lab.toml'} is not valid TOML: {exc}", lab=name) from None
    notebook = spec.get("notebook", f"{name}.ipynb")
    lab = Lab(name=name, title=spec.get("title", name), course_root=root, notebook=notebook,
              content_dir=content, suite=content / spec.get("suite", f"test_{name}.py"),
              reference=content / spec.get("reference", "reference.py"),
              parameterized=bool(spec.get("parameterized", False)),
              allowed_imports=_allowed_imports(spec, name), kinds=_kinds(spec, name))
    for path, what in ((lab.source_notebook, "source notebook"), (lab.suite, "hidden suite"),
                       (lab.reference, "reference solution")):
        if not path.is_file():
            raise CourseError(f"lab {name}: {what} {path} is missing", lab=name)
    functions, manual = graded_functions(_read_cells(lab.source_notebook))
    if not functions:
        raise CourseError(f"lab {name}: the source notebook has no autograded functions "
                          "(answer cell F with a test cell test_F)", lab=name)
    return Lab(**{**lab.__dict__, "functions": functions, "manual_points": manual})
