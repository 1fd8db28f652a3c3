"""The course folder and its labs: where sources, releases and hidden suites live.

A lab is the union of ``source/<lab>/<lab>.ipynb`` (nbgrader source notebook), its generated
``release/<lab>/`` and its content folder ``autograder/labs/<lab>/`` (``lab.toml``, the hidden
pytest suite and the reference solution). Nothing is discovered at import time.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

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

    @property
    def max_score(self) -> float:
        return float(sum(f.points for f in self.functions))

    def function_points(self) -> dict[str, float]:
        return {f.name: f.points for f in self.functions}


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
        meta = cell.get("metadata", {}).get("nbgrader", {})
        gid = meta.get("grade_id")
        if not gid:
            continue
        if cell.cell_type == "code" and meta.get("solution") and not meta.get("grade"):
            answers.append(gid)
        elif cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            tests[gid] = float(meta.get("points", 0))
        elif meta.get("grade") and meta.get("solution"):
            manual += float(meta.get("points", 0))
    functions = tuple(GradedFunction(name=a, points=tests[f"test_{a}"], test_cell=f"test_{a}")
                      for a in answers if f"test_{a}" in tests)
    return functions, manual


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
              parameterized=bool(spec.get("parameterized", False)))
    for path, what in ((lab.source_notebook, "source notebook"), (lab.suite, "hidden suite"),
                       (lab.reference, "reference solution")):
        if not path.is_file():
            raise CourseError(f"lab {name}: {what} {path} is missing", lab=name)
    functions, manual = graded_functions(_read_cells(lab.source_notebook))
    if not functions:
        raise CourseError(f"lab {name}: the source notebook has no autograded functions "
                          "(answer cell F with a test cell test_F)", lab=name)
    return Lab(**{**lab.__dict__, "functions": functions, "manual_points": manual})
