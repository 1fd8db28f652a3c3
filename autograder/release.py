"""Generate a lab's student release with nbgrader, and prove it leaks nothing and is current.

``release_lab`` runs nbgrader's own ``generate_assignment`` in a scratch copy of the course (so
no gradebook or log lands in the repository), checks the result for leaks, and only then
replaces ``release/<lab>/``. With ``check=True`` it changes nothing and fails if the committed
release differs from what the source generates today, or leaks.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .cells import is_solution
from .course import Lab, load_lab
from .errors import ReleaseError

log = logging.getLogger(__name__)

MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS",
           "BEGIN MARK SCHEME", "END MARK SCHEME")
MIN_LINE = 12  # shorter lines ("return w, b") are too common to call a leak


@dataclass
class ReleaseReport:
    lab: str
    path: Path
    notebooks: list[str]
    changed: bool


def path_with_venv(path: str | None = None) -> str:
    """PATH with this environment's bin/ first: nbgrader shells out to `alembic` (and the bench
    to `nbgrader`), which must be the ones of this environment."""
    return os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "") if path is None else path])


@contextmanager
def _venv_on_path():
    old = os.environ.get("PATH", "")
    os.environ["PATH"] = path_with_venv(old)
    try:
        yield
    finally:
        os.environ["PATH"] = old


def course_config(course_root: Path):
    """The course's ``nbgrader_config.py`` as a traitlets Config (empty if there is none).

    Raises:
        ConfigError: the file does not load (a syntax error in the instructor's file), the same
            one line as ``autograder grade`` gives (``config.load_course_config`` reads it for both).
    """
    from .config import load_course_config

    return load_course_config(course_root)


def _nbgrader_config(course_root: Path, scratch: Path):
    config = course_config(course_root)
    config.CourseDirectory.root = str(scratch)
    config.CourseDirectory.source_directory = "source"
    config.CourseDirectory.release_directory = "release"
    config.CourseDirectory.course_id = config.CourseDirectory.get("course_id") or "course"
    config.Exchange.root = str(scratch / "exchange")  # never touch the machine's real exchange
    return config


def generate(lab: Lab, scratch: Path, *, db_url: str | None = None) -> Path:
    """Run nbgrader generate_assignment for ``lab`` in ``scratch``; return the generated folder.

    ``db_url`` records the assignment in that gradebook (default: a throw-away one in ``scratch``).

    Raises:
        ReleaseError: nbgrader refused; ``problems`` holds its reason alone.
    """
    from nbgrader.apps import NbGraderAPI

    shutil.copytree(lab.source_dir, scratch / "source" / lab.name)
    (scratch / "exchange").mkdir(exist_ok=True)
    config = _nbgrader_config(lab.course_root, scratch)
    if db_url is not None:
        config.CourseDirectory.db_url = db_url
    with _venv_on_path():
        quiet = logging.getLogger("autograder.nbgrader")
        quiet.setLevel(logging.ERROR)
        outcome = NbGraderAPI(config=config, log=quiet).generate_assignment(lab.name, force=True, create=True)
    if not outcome.get("success"):
        detail = [line.strip() for line in (outcome.get("error") or outcome.get("log") or "").splitlines()
                  if line.strip()]
        reason = next((line for line in reversed(detail) if "Error" in line), detail[-1] if detail else "no detail")
        raise ReleaseError(f"nbgrader generate_assignment failed for {lab.name}: {reason}", lab=lab.name,
                           problems=[reason])
    return scratch / "release" / lab.name


def _lines(text: str) -> set[str]:
    return {line.strip() for line in text.splitlines() if len(line.strip()) >= MIN_LINE}


def _solution_lines(cell) -> set[str]:
    text = cell.source
    if "BEGIN SOLUTION" in text:
        blocks = re.findall(r"BEGIN SOLUTION(.*?)END SOLUTION", text, flags=re.S)
        return set().union(*(_lines(b) for b in blocks)) if blocks else set()
    return _lines(text)


def _number_forms(value: float) -> set[str]:
    forms = set()
    for fmt in ("{:.4g}", "{:.5g}", "{:.6g}", "{:.7g}", "{:.3f}", "{:.4f}"):
        text = fmt.format(value)
        if len(re.sub(r"[^0-9]", "", text).lstrip("0")) >= 4:
            forms.add(text)
    return forms


def find_leaks(lab: Lab, release_dir: Path) -> list[str]:
    """Everything in ``release_dir`` a student must not see: solutions, hidden tests,
    reference-only values, markers, outputs, stray files. Empty when the release is clean."""
    problems: list[str] = []
    source_nb = nbformat.read(str(lab.source_notebook), as_version=4)
    public: set[str] = set()
    secret_solution: set[str] = set()
    for cell in source_nb.cells:
        if is_solution(cell):
            secret = _solution_lines(cell)
            secret_solution |= secret
            public |= _lines(cell.source) - secret  # signatures and docstrings stay in the stub
        else:
            public |= _lines(cell.source)
    secret_solution -= public
    hidden = (_lines(lab.suite.read_text()) | _lines(lab.reference.read_text())) - public
    hidden = {line for line in hidden if not line.startswith(("#", "import ", "from ", '"""'))}

    values: dict[str, set[str]] = {}
    from .judge import load_reference

    reference = load_reference(lab)
    if hasattr(reference, "leak_values"):
        values = {name: _number_forms(float(v)) for name, v in reference.leak_values().items()}

    source_files = {p.relative_to(lab.source_dir) for p in lab.source_dir.rglob("*") if p.is_file()}
    for path in sorted(release_dir.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(release_dir)
        if rel not in source_files:
            problems.append(f"{rel}: file is not in source/{lab.name} (only source files may be released)")
            continue
        text = path.read_text(errors="replace")
        for marker in MARKERS:
            if marker in text:
                problems.append(f"{rel}: contains the marker {marker!r}")
        if path.suffix != ".ipynb":
            continue
        nb = nbformat.reads(text, as_version=4)
        for index, cell in enumerate(nb.cells):
            if cell.cell_type == "code" and cell.get("outputs"):
                problems.append(f"{rel} cell {index}: has outputs (releases must be cleared)")
            body = cell.source + "\n" + json.dumps(cell.get("outputs", []))
            for line in _lines(cell.source):
                if line in secret_solution:
                    problems.append(f"{rel} cell {index}: solution code {line!r}")
                elif line in hidden:
                    problems.append(f"{rel} cell {index}: hidden-test or reference code {line!r}")
            for name, forms in values.items():
                for form in forms:
                    if re.search(rf"(?<![0-9.]){re.escape(form)}(?![0-9])", body):
                        problems.append(f"{rel} cell {index}: the reference's {name} ({form})")
    return problems


def _same_tree(a: Path, b: Path) -> list[str]:
    """Differences between two release folders (notebooks compared as JSON)."""
    diffs = []
    files_a = {p.relative_to(a) for p in a.rglob("*") if p.is_file()} if a.is_dir() else set()
    files_b = {p.relative_to(b) for p in b.rglob("*") if p.is_file()} if b.is_dir() else set()
    for rel in sorted(files_a ^ files_b):
        diffs.append(f"{rel}: {'only in the committed release' if rel in files_a else 'missing from the committed release'}")
    for rel in sorted(files_a & files_b):
        pa, pb = a / rel, b / rel
        if rel.suffix == ".ipynb":
            same = json.loads(pa.read_text()) == json.loads(pb.read_text())
        else:
            same = pa.read_bytes() == pb.read_bytes()
        if not same:
            diffs.append(f"{rel}: differs from what source/ generates")
    return diffs


def release_lab(lab_name: str, *, course_root: Path | None = None, check: bool = False) -> ReleaseReport:
    """Generate ``release/<lab>`` from ``source/<lab>`` (or, with ``check``, verify it).

    Raises:
        ReleaseError: nbgrader failed, the release leaks, or (check) the committed release is stale.
    """
    lab = load_lab(lab_name, course_root)
    with tempfile.TemporaryDirectory(prefix="autograder-release-") as tmp:
        generated = generate(lab, Path(tmp))
        leaks = find_leaks(lab, generated)
        if leaks:
            raise ReleaseError(f"the generated release of {lab.name} leaks: {leaks[0]}"
                               + (f" (and {len(leaks) - 1} more)" if len(leaks) > 1 else ""),
                               lab=lab.name, problems=leaks)
        notebooks = sorted(p.name for p in generated.glob("*.ipynb"))
        if check:
            diffs = _same_tree(lab.release_dir, generated)
            if diffs:
                raise ReleaseError(f"release/{lab.name} is stale ({diffs[0]}): run `autograder release {lab.name}` "
                                   "and commit the result", lab=lab.name, problems=diffs)
            committed_leaks = find_leaks(lab, lab.release_dir)
            if committed_leaks:
                raise ReleaseError(f"release/{lab.name} leaks: {committed_leaks[0]}", lab=lab.name,
                                   problems=committed_leaks)
            return ReleaseReport(lab.name, lab.release_dir, notebooks, changed=False)
        changed = bool(_same_tree(lab.release_dir, generated))
        if changed:
            target = lab.release_dir
            staging = target.parent / f".{lab.name}.new"
            shutil.rmtree(staging, ignore_errors=True)
            shutil.copytree(generated, staging)
            if target.exists():
                old = target.parent / f".{lab.name}.old"
                shutil.rmtree(old, ignore_errors=True)
                target.rename(old)
                staging.rename(target)
                shutil.rmtree(old, ignore_errors=True)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                staging.rename(target)
        return ReleaseReport(lab.name, lab.release_dir, notebooks, changed=changed)
