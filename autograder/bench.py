"""``autograder bench``: grading throughput of the kit, side by side with ``nbgrader autograde``
and with bare papermill execution (the floor), on the same generated class, in one run.

Figures, not assertions: this prints submissions per minute, the ratios and peak memory, and
writes them as JSON. Nothing here is a timed test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import nbformat

from .config import load_config
from .course import load_lab
from .demo import build_submission, load_demo_module
from .errors import CourseError
from .grade import grade_class
from .results import write_json
from .release import path_with_venv


class TreeMemory:
    """Samples the summed resident memory of this process and all its descendants (Linux /proc)."""

    def __init__(self, interval: float = 0.1):
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _tree_rss(root: int) -> int:
        parents: dict[int, int] = {}
        rss: dict[int, int] = {}
        page = os.sysconf("SC_PAGE_SIZE")
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                with open(f"/proc/{entry.name}/statm") as f:
                    resident = int(f.read().split()[1])
            except (OSError, IndexError, ValueError):
                continue
            pid = int(entry.name)
            parents[pid] = int(fields[1])
            rss[pid] = resident * page
        total, stack = 0, [root]
        children: dict[int, list[int]] = {}
        for pid, ppid in parents.items():
            children.setdefault(ppid, []).append(pid)
        while stack:
            pid = stack.pop()
            total += rss.get(pid, 0)
            stack.extend(children.get(pid, []))
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._tree_rss(os.getpid()))
            self._stop.wait(self.interval)

    def __enter__(self) -> "TreeMemory":
        if Path("/proc/self/stat").exists():
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()


def build_bench_class(lab, dest: Path, n: int) -> dict[str, str]:
    """``n`` submissions in nbgrader's layout, from the lab's demo class and its ``BENCH_MIX``."""
    module = load_demo_module(lab)
    students = module.STUDENTS
    mix = getattr(module, "BENCH_MIX", None) or {"first": None, "cycle": [next(iter(students))]}
    kinds = {}
    for i in range(n):
        kind = mix["first"] if i == 0 and mix.get("first") else mix["cycle"][i % len(mix["cycle"])]
        student = f"s{i:03d}"
        folder = dest / student / lab.name
        folder.mkdir(parents=True, exist_ok=True)
        spec = students[kind]
        nbformat.write(build_submission(lab, spec["answers"], spec.get("insert_after")), str(folder / lab.notebook))
        kinds[student] = kind
    return kinds


def _venv_env() -> dict[str, str]:
    return {**os.environ, "PATH": path_with_venv()}


def time_nbgrader(lab, class_dir: Path, work: Path, students: list[str]) -> float:
    """Seconds ``nbgrader autograde`` takes on the class (its course set up beforehand, untimed)."""
    course = work / "nbgrader-course"
    shutil.copytree(lab.source_dir, course / "source" / lab.name)
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        "c.CourseDirectory.course_id = 'bench'\n"
        f"c.CourseDirectory.root = {str(course)!r}\n"
        f"c.Exchange.root = {str(work / 'exchange')!r}\n")
    (work / "exchange").mkdir(exist_ok=True)
    nbgrader = str(Path(sys.executable).parent / "nbgrader")
    setup = subprocess.run([nbgrader, "generate_assignment", lab.name, "--force"], cwd=course, env=_venv_env(),
                           capture_output=True, text=True)
    if setup.returncode != 0:
        raise CourseError(f"nbgrader generate_assignment failed: {setup.stderr.strip().splitlines()[-1:]}")
    for student in students:
        shutil.copytree(class_dir / student / lab.name, course / "submitted" / student / lab.name)
    started = time.monotonic()
    run = subprocess.run([nbgrader, "autograde", lab.name, "--force"], cwd=course, env=_venv_env(),
                         capture_output=True, text=True)
    seconds = time.monotonic() - started
    if run.returncode != 0:
        raise CourseError(f"nbgrader autograde failed: {run.stderr.strip().splitlines()[-1:]}")
    graded = list((course / "autograded").glob(f"*/{lab.name}/{lab.notebook}"))
    if len(graded) != len(students):
        raise CourseError(f"nbgrader autograde graded {len(graded)} of {len(students)} submissions")
    return seconds


def time_papermill(lab, class_dir: Path, work: Path, students: list[str], kernel_name: str) -> float:
    """Seconds to execute every notebook with bare papermill, one after another (the floor)."""
    import papermill

    out = work / "papermill"
    out.mkdir()
    started = time.monotonic()
    for student in students:
        try:
            papermill.execute_notebook(str(class_dir / student / lab.name / lab.notebook),
                                       str(out / f"{student}.ipynb"), kernel_name=kernel_name,
                                       progress_bar=False, allow_errors=True)
        except papermill.PapermillExecutionError:
            pass  # ran to the end (allow_errors); the error is the submission's
    return time.monotonic() - started


@dataclass
class BenchStep:
    name: str
    seconds: float


def run_bench(*, submissions: int = 40, workers: int | None = None, lab_name: str = "linreg",
              course_root: Path | None = None, seed: int = 1,
              on_step: Callable[[str], None] | None = None) -> dict:
    """Grade one generated class three ways; return the figures (see the module docstring)."""
    if submissions < 1:
        raise CourseError("--submissions must be at least 1")
    lab = load_lab(lab_name, course_root)
    config = load_config(lab.course_root, workers=workers)
    say = on_step or (lambda text: None)
    with tempfile.TemporaryDirectory(prefix="autograder-bench-") as tmp:
        work = Path(tmp)
        class_dir = work / "submitted"
        kinds = build_bench_class(lab, class_dir, submissions)
        students = sorted(kinds)
        say(f"grading {submissions} submissions with the kit ({config.workers} workers)")
        with TreeMemory() as memory:
            started = time.monotonic()
            grading = grade_class(lab.name, submissions=class_dir, out=work / "kit", course_root=lab.course_root,
                                  config=config, seed=seed, force=True)
            kit_seconds = time.monotonic() - started
        say("grading the same submissions with nbgrader autograde")
        nbgrader_seconds = time_nbgrader(lab, class_dir, work, students)
        say("executing the same notebooks with bare papermill, one after another")
        floor_seconds = time_papermill(lab, class_dir, work, students, config.kernel_name)
    per_min = lambda seconds: submissions / seconds * 60.0  # noqa: E731
    figures = {
        "lab": lab.name,
        "submissions": submissions,
        "workers": config.workers,
        "mix": {kind: list(kinds.values()).count(kind) for kind in sorted(set(kinds.values()))},
        "kit_seconds": round(kit_seconds, 2),
        "nbgrader_seconds": round(nbgrader_seconds, 2),
        "floor_seconds": round(floor_seconds, 2),
        "kit_per_min": round(per_min(kit_seconds), 2),
        "nbgrader_per_min": round(per_min(nbgrader_seconds), 2),
        "floor_per_min": round(per_min(floor_seconds), 2),
        "ratio_vs_nbgrader": round(nbgrader_seconds / kit_seconds, 3),
        "ratio_vs_floor": round(floor_seconds / kit_seconds, 3),
        "kit_seconds_per_submission": round(kit_seconds / submissions, 3),
        "floor_seconds_per_notebook": round(floor_seconds / submissions, 3),
        "peak_rss_mb": round(memory.peak / 2**20, 1),
        "kit_scores": {kind: sorted({r.score for r in grading.results if kinds[r.student] == kind})
                       for kind in sorted(set(kinds.values()))},
        "python": sys.version.split()[0],
        "cores": os.cpu_count(),
    }
    return figures


def format_figures(f: dict) -> str:
    rows = [("kit (autograder grade)", f["kit_seconds"], f["kit_per_min"]),
            ("nbgrader autograde", f["nbgrader_seconds"], f["nbgrader_per_min"]),
            ("bare papermill (floor)", f["floor_seconds"], f["floor_per_min"])]
    lines = [f"{f['submissions']} submissions of {f['lab']} ({', '.join(f'{v} {k}' for k, v in f['mix'].items())}), "
             f"kit with {f['workers']} worker(s), {f['cores']} cores",
             f"{'':24}{'seconds':>9}{'per minute':>12}{'s/submission':>14}"]
    for name, seconds, pm in rows:
        lines.append(f"{name:24}{seconds:9.1f}{pm:12.1f}{seconds / f['submissions']:14.2f}")
    lines.append(f"kit / nbgrader: {f['ratio_vs_nbgrader']:.2f}x    kit / floor: {f['ratio_vs_floor']:.2f}x    "
                 f"peak memory of the kit's run (grader, workers, kernels): {f['peak_rss_mb']:.0f} MB")
    return "\n".join(lines)


def write_figures(path: Path, figures: dict) -> None:
    write_json(Path(path), figures)
