"""Shared fixtures. Everything the tests write goes under pytest's temporary folders."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from autograder.config import GradingConfig

REPO = Path(__file__).resolve().parent.parent

BUILD_SCRIPT = REPO / "infra" / "build-image.sh"
IMAGE = os.environ.get("AUTOGRADER_IMAGE", "autograder-grader:latest")

# Short limits keep the never-finishing demo submission quick; everything else runs as in production.
# A cell of honest work must stay well inside them on a slow, loaded machine (the labs' training
# cells take about 3 s with two workers on this 2-core machine today), so they are not shorter.
FAST = GradingConfig(cell_timeout=8, notebook_timeout=40, call_timeout=5, workers=2)


def kernel_processes_left() -> list:
    """Live processes of a kernel's own uid (as root, every kernel has one; otherwise none can be
    told apart, and the list is empty)."""
    from autograder.kernel import strays
    from autograder.kernel.sandbox import FIRST_KERNEL_UID

    if os.getuid() != 0:
        return []
    return [p for p in strays.process_table() if p.uid >= FIRST_KERNEL_UID and not p.zombie]


def copy_course(dest: Path) -> Path:
    """A copy of the course folder (sources, releases, config); lab content stays in the package."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("source", "release"):
        shutil.copytree(REPO / name, dest / name)
    shutil.copy2(REPO / "nbgrader_config.py", dest / "nbgrader_config.py")
    return dest


def grade_one(course_root: Path, tmp_path: Path, lab_name: str, answers: dict | None, **config) -> dict:
    """Write one submission (the release filled with ``answers``) and grade it; return its result."""
    import nbformat

    from autograder.course import load_lab
    from autograder.demo import build_submission
    from autograder.grade import grade_class

    lab = load_lab(lab_name, course_root)
    folder = tmp_path / "submitted" / "one" / lab_name
    folder.mkdir(parents=True)
    nbformat.write(build_submission(lab, answers), str(folder / lab.notebook))
    cfg = GradingConfig(**{**FAST.__dict__, **config})
    return grade_class(lab_name, submissions=tmp_path / "submitted", out=tmp_path / "out", course_root=course_root,
                       config=cfg).results[0].to_json()


@pytest.fixture(scope="session")
def course(tmp_path_factory) -> Path:
    return copy_course(tmp_path_factory.mktemp("course"))


@pytest.fixture(scope="session")
def demo(course, tmp_path_factory):
    """The demo class for Lab 1, built and graded once (seeded) for every test that reads it."""
    from autograder.demo import run_demo

    out = tmp_path_factory.mktemp("demo")
    return run_demo(lab_name="linreg", out=out, course_root=course, config=FAST)


@pytest.fixture(scope="session")
def grading_image() -> str:
    """The grading image, built from the working tree once per session."""
    from autograder.cloud import docker_problem

    reason = docker_problem(compose=False)
    if reason:
        pytest.skip(reason)
    build = subprocess.run(["bash", str(BUILD_SCRIPT), IMAGE], capture_output=True, text=True, timeout=3600)
    assert build.returncode == 0, f"infra/build-image.sh failed:\n{build.stderr[-3000:]}"
    assert build.stdout.strip() == IMAGE
    return IMAGE




class SampledAudit:
    """One ``autograder audit LAB --sample 1`` run through the command line, and what it left."""

    def __init__(self, status: int, stdout: str, stderr: str, report: dict, kept: Path):
        self.status, self.stdout, self.stderr, self.report, self.kept = status, stdout, stderr, report, kept

    def results(self, lab_name: str) -> dict:
        """The graded candidates' results by student (``x-<function>-<mistake>``, ``v-...``, mutant ids)."""
        from autograder.results import results_on_disk

        return {r.student: r for r in results_on_disk(self.kept / "autograded", lab_name)}


@pytest.fixture(scope="session")
def sampled_audit(course, tmp_path_factory):
    """``sampled_audit(lab)``: the lab's audit with one mutant per function and every named mistake
    and variant, run once per session and kept (``--keep``): test_audit checks its report and
    test_diagnose the named mistakes' graded results, so a lab's mistakes are graded once."""
    import json
    import sys

    runs: dict[str, SampledAudit] = {}

    def run(lab_name: str) -> SampledAudit:
        if lab_name not in runs:
            folder = tmp_path_factory.mktemp(f"audit-{lab_name}")
            report, kept = folder / "audit.json", folder / "kept"
            done = subprocess.run([sys.executable, "-m", "autograder.cli", "audit", lab_name, "--sample", "1",
                                   "--workers", "2", "--json", str(report), "--keep", str(kept),
                                   "--course", str(course)], capture_output=True, text=True, timeout=1800)
            assert report.is_file(), done.stderr[-3000:]
            runs[lab_name] = SampledAudit(done.returncode, done.stdout, done.stderr, json.loads(report.read_text()),
                                          kept)
        return runs[lab_name]

    return run
