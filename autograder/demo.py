"""The main job on embedded defaults: release a lab, build a small class, grade it, show it.

The class comes from the lab's ``demo.py`` content (``STUDENTS``): each submission is the
release with its answer cells filled from the source's solutions, then one typical mistake.
"""

from __future__ import annotations

import copy
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .config import GradingConfig
from .cells import grade_id, is_answer
from .course import Lab, load_content_module, load_lab
from .errors import CourseError
from .grade import ClassGrading, Progress, grade_class
from .release import ReleaseReport, release_lab
from .report import write_class_grades


@dataclass
class DemoReport:
    release: ReleaseReport
    grading: ClassGrading
    submissions: Path
    about: dict[str, str]


def demo_labs(course_root: Path | None = None) -> list[str]:
    """The labs of the course that ship a demo class."""
    from .course import find_course_root, labs_dir, list_labs

    root = find_course_root() if course_root is None else course_root
    return [name for name in list_labs(root) if (labs_dir(root) / name / "demo.py").is_file()]


def load_demo_module(lab: Lab):
    """The lab's ``demo.py`` content module (``STUDENTS``, optionally ``BENCH_MIX``)."""
    if not (lab.content_dir / "demo.py").is_file():
        raise CourseError(f"lab {lab.name} has no demo class ({lab.content_dir / 'demo.py'})", lab=lab.name)
    return load_content_module(lab, "demo.py", what="demo class")


def load_demo_class(lab: Lab) -> dict:
    return load_demo_module(lab).STUDENTS


def solutions(lab: Lab) -> dict[str, str]:
    """The source notebook's answer cells with the solution markers removed, by grade id."""
    nb = nbformat.read(str(lab.source_notebook), as_version=4)
    found = {}
    for cell in nb.cells:
        if is_answer(cell):
            found[grade_id(cell)] = re.sub(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", "", cell.source, flags=re.M)
    return found


def build_submission(lab: Lab, answers: dict[str, str] | None,
                     insert_after: dict[str, str] | None = None) -> nbformat.NotebookNode:
    """The release notebook, filled with the solutions and then ``answers``; ``None`` leaves it blank.

    ``insert_after`` maps a grade id to the source of a new code cell the student added after it.
    """
    nb = copy.deepcopy(nbformat.read(str(lab.release_notebook), as_version=4))
    if answers is None:
        return nb
    filled = {**solutions(lab), **{k: v.strip("\n") for k, v in answers.items()}}
    cells = []
    for cell in nb.cells:
        gid = grade_id(cell)
        if is_answer(cell) and gid in filled:
            cell.source = filled[gid]
        cells.append(cell)
        if insert_after and gid in insert_after:
            cells.append(nbformat.v4.new_code_cell(insert_after[gid]))
    nb.cells = cells
    return nb


def build_class(lab: Lab, dest: Path, students: dict) -> dict[str, str]:
    """Write ``dest/<student>/<lab>/<notebook>`` for every demo student; return their descriptions."""
    for student, spec in students.items():
        folder = dest / student / lab.name
        folder.mkdir(parents=True, exist_ok=True)
        nb = build_submission(lab, spec["answers"], spec.get("insert_after"))
        nbformat.write(nb, str(folder / lab.notebook))
    return {student: spec["about"] for student, spec in students.items()}


def run_demo(*, lab_name: str, out: Path = Path("demo"), workers: int | None = None,
             course_root: Path | None = None, config: GradingConfig | None = None,
             on_progress: Progress | None = None) -> DemoReport:
    """Release ``lab_name``, build its demo class under ``out/submitted``, grade it into ``out/autograded``."""
    report = release_lab(lab_name, course_root=course_root)
    lab = load_lab(lab_name, course_root)
    out = Path(out)
    submitted = out / "submitted"
    shutil.rmtree(submitted, ignore_errors=True)
    about = build_class(lab, submitted, load_demo_class(lab))
    grading = grade_class(lab_name, submissions=submitted, out=out / "autograded", workers=workers,
                          force=True, course_root=course_root, config=config, on_progress=on_progress)
    write_class_grades(grading)
    return DemoReport(release=report, grading=grading, submissions=submitted, about=about)


@dataclass
class CloudDemo:
    """The demo class graded again through the Processing path, and its parity with local grading."""

    mode: str           # "sagemaker local mode (containers)" or "entrypoint without a container"
    why: str            # why this mode was chosen
    merged: object      # processing.Merged
    parity: object      # parity.ParityReport


def run_cloud_demo(local: DemoReport, *, out: Path, course_root: Path | None = None, hosts: int = 2,
                   on_step=print) -> CloudDemo:
    """Grade ``local``'s class through the Processing path with the same seed, then compare.

    With a Docker engine and the grading image: the SDK's local mode, real containers, the S3
    stand-in. Otherwise the entrypoint runs directly, one process per host, each under its own
    temporary contract root, and the reason is reported.
    """
    import tempfile

    from .cloud import LOCAL_IMAGE, cloud_grade, docker_problem, image_problem
    from .parity import compare
    from .processing import run_without_container

    lab_name, seed = local.grading.lab, local.grading.seed
    out = Path(out)
    shutil.rmtree(out, ignore_errors=True)
    problem = docker_problem() or image_problem(LOCAL_IMAGE)
    if problem is None:
        merged = cloud_grade(lab_name, submissions=local.submissions, out=out, local=True, instances=hosts,
                             seed=seed, course_root=course_root, on_step=on_step)
        mode, why = "SageMaker local mode (real containers)", f"Docker and image {LOCAL_IMAGE} found"
    else:
        with tempfile.TemporaryDirectory(prefix="autograder-contract-") as scratch:
            merged = run_without_container(lab_name, submissions=local.submissions, out=out, seed=seed,
                                           hosts=hosts, course_root=course_root, scratch=Path(scratch),
                                           log=on_step)
        mode, why = "entrypoint without a container", problem
    return CloudDemo(mode=mode, why=why, merged=merged, parity=compare(local.grading.out, out))
