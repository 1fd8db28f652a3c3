"""Grade one submission, or a whole class in parallel worker processes.

The flow for one submission, one module per stage: ``load`` -> ``restore`` -> ``execute`` ->
``judge`` -> ``record``; then ``report`` for the class. A student's failure at any stage is a
result row; only a broken course (a missing release, an inconsistent hidden suite) stops the
batch.
"""

from __future__ import annotations

import atexit
import copy
import logging
import multiprocessing
import secrets
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable

import nbformat

from .bridge import KernelBridge
from .config import GradingConfig, load_config
from .course import Lab, load_lab
from .errors import CourseError, GraderFault, SubmissionError
from .execute import KernelPool
from .judge import hidden_parameters, judge
from .load import Submission, file_digest, load_notebook
from .record import (GRADED, GRADER_ERROR, build_result, now, read_result, result_paths, write_json,
                     write_notebook)
from .report import write_grades
from .restore import answer_sources, restore

log = logging.getLogger(__name__)

Progress = Callable[[int, int, dict], None]


@dataclass
class ClassGrading:
    """What grading a class produced."""

    lab: str
    out: Path
    results: list[dict]
    graded: int
    reused: int
    seed: int
    seconds: float
    grades_csv: Path

    @property
    def grader_errors(self) -> list[dict]:
        return [r for r in self.results if r["status"] == GRADER_ERROR or r.get("grader_errors")]


@lru_cache(maxsize=8)
def _template(path: str, mtime: float) -> tuple[nbformat.NotebookNode, frozenset]:
    nb = nbformat.read(path, as_version=4)
    ids = frozenset(c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for c in nb.cells) - {None}
    return nb, ids


def release_template(lab: Lab) -> tuple[nbformat.NotebookNode, frozenset]:
    """The released (student) notebook: the template protected cells are restored from."""
    path = lab.release_notebook
    if not path.is_file():
        raise CourseError(f"{path} is missing: run `autograder release {lab.name}` first", lab=lab.name)
    return _template(str(path), path.stat().st_mtime)


def hidden_paths(lab: Lab, out: Path, submissions: Path) -> tuple[str, ...]:
    """Folders a sandboxed kernel must not see: hidden suites and references (the whole engine
    package), sources with solutions, the repository's history and tests, every result, and
    every other student's submission."""
    package = Path(__file__).resolve().parent
    root = lab.course_root.resolve()
    content = lab.content_dir.resolve().parent  # all labs' hidden suites, in or out of the package
    return tuple(dict.fromkeys(str(p) for p in (package, content, root / "source", root / ".git", root / "tests",
                                                Path(out).resolve(), Path(submissions).resolve())))


def result_dir(out: Path, student: str, lab: str) -> Path:
    return Path(out) / student / lab


def student_folders(root: Path, lab_name: str) -> tuple[list[str], list[str]]:
    """The class in a submissions folder: ``(students, ignored)``, both sorted.

    A hidden folder (.git, .ipynb_checkpoints, .Trash-0) is a tool's, not a student's, unless it
    holds this lab's folder: then it is a submission like any other, and is graded.
    """
    folders = sorted(p.name for p in Path(root).iterdir() if p.is_dir())
    students = [s for s in folders if not s.startswith(".") or (Path(root) / s / lab_name).is_dir()]
    return students, [s for s in folders if s not in students]


def find_submissions(submissions: Path, lab: Lab, student: str | None = None,
                     share: Callable[[list[str]], list[str]] | None = None) -> list[Submission]:
    """Submissions in nbgrader's layout: ``<submissions>/<student_id>/<lab>/<notebook>``.

    ``share`` picks this grader's part of the class (a Processing job's host grades only its shard).
    """
    root = Path(submissions)
    if not root.is_dir():
        raise CourseError(f"submissions folder {root} does not exist")
    if student is not None:
        if student in ("", ".", "..") or Path(student).name != student:
            # OUT/<student> must stay inside OUT: '..' or 'a/b' would write results elsewhere.
            raise CourseError(f"{student!r} is not a student id: give the name of a folder inside {root}")
        if not (root / student).is_dir():
            raise CourseError(f"no submission folder for student {student!r} in {root}")
        students = [student]
    else:
        students, ignored = student_folders(root, lab.name)
        if ignored:
            log.warning("skipped %d hidden folder(s) with no %s folder inside, not students: %s",
                        len(ignored), lab.name, ", ".join(ignored))
    if share is not None:
        students = share(students)
    return [Submission(student=s, lab=lab.name, path=root / s / lab.name / lab.notebook) for s in students]


def grade_submission(sub: Submission, *, lab: Lab, out: Path, config: GradingConfig, seed: int,
                     force: bool = False, pool: KernelPool | None = None) -> tuple[dict, bool]:
    """Grade one submission and write its result; return ``(result, reused)``.

    A result already on disk for the same notebook bytes is reused unless ``force``.
    ``pool`` supplies the kernel (and may launch the next one early); without it a kernel is
    started for this submission alone.
    """
    started_at = now()
    t0 = time.monotonic()
    folder = result_dir(out, sub.student, lab.name)
    result_path = folder / "result.json"
    digest = file_digest(sub.path)
    if not force:
        previous = read_result(result_path)
        if previous and previous.get("submission_sha256") == digest and previous["status"] != GRADER_ERROR:
            return previous, True

    template, template_ids = release_template(lab)
    common = dict(student=sub.student, lab=lab.name, notebook=sub.notebook, seed=seed, max_score=lab.max_score,
                  manual_max_score=lab.manual_points, functions=lab.function_points(),
                  submission_sha256=digest, started_at=started_at)
    timings: dict[str, float] = {}
    mark = time.monotonic()

    def lap(name: str) -> None:
        nonlocal mark
        current = time.monotonic()
        timings[name] = current - mark
        mark = current

    try:
        nb = load_notebook(sub.path, lab=lab.name, template_ids=set(template_ids), template=template)
    except SubmissionError as exc:
        lap("load")
        timings["total"] = time.monotonic() - t0
        result = build_result(status=exc.status, message=str(exc), timings=timings, **common)
        write_json(result_path, result)
        return result, False
    lap("load")
    restored = restore(nb, template)
    lap("restore")

    parameters = hidden_parameters(lab, seed)
    partial = folder / f".partial.{sub.notebook}"
    folder.mkdir(parents=True, exist_ok=True)
    notes_extra: list[str] = []
    own_pool = pool is None
    if own_pool:
        pool = KernelPool(config, data_dir=lab.release_dir, warm=False,
                          hide=hidden_paths(lab, out, sub.path.parent.parent.parent))
    session = None
    try:
        session = pool.take()
        sandbox = session.sandbox_summary()
        session.wait_ready()
        lap("start")
        pool.prepare_next()  # the next submission's kernel boots while this one runs
        execution = session.run(restored.notebook, partial_path=partial, parameters=parameters)
        lap("execute")
        if not execution.kernel_alive:
            # The notebook killed its kernel (sys.exit, os._exit, a crash). Its functions can still
            # be judged: re-run just the lab's own code cells and the answer cells in a fresh kernel.
            session.close()
            session, recovery_notes = recover_kernel(pool, restored.notebook, parameters)
            notes_extra.extend(recovery_notes)
            lap("recover")
        bridge = KernelBridge(session.connection_info(), interrupt=session.interrupt,
                              is_alive=session.kernel_alive, call_timeout=config.call_timeout,
                              judge_timeout=config.judge_timeout,
                              max_payload_mb=config.max_payload_mb)
        try:
            judgement = judge(lab, bridge, seed=seed, sources=answer_sources(restored.notebook),
                              notebook=execution.notebook, parameters=parameters)
        finally:
            bridge.close()
        lap("judge")
    except CourseError:
        raise  # a broken lab stops the batch; nothing can be graded against it
    except Exception as exc:  # a GraderFault, or a grader bug on this one notebook: a row, not a crashed batch
        timings["total"] = time.monotonic() - t0
        fault = str(exc) if isinstance(exc, GraderFault) else f"{type(exc).__name__}: {exc}"
        result = build_result(status=GRADER_ERROR, message=fault, timings=timings,
                              notes=restored.notes, grader_errors=[fault], **common)
        write_json(result_path, result)
        return result, False
    finally:
        partial.unlink(missing_ok=True)
        if session is not None:
            session.close()
        if own_pool:
            pool.close()
    lap("close")
    write_notebook(folder / sub.notebook, execution.notebook)

    execution_info = {"cells": len(execution.notebook.cells),
                      "problems": [p.as_dict() for p in execution.problems],
                      "kernel_alive": execution.kernel_alive, "calls": judgement.calls,
                      "parameters": parameters, "sandbox": sandbox}
    message = execution.summary()
    lap("record")
    timings["total"] = time.monotonic() - t0
    result = build_result(status=GRADED, message=message, tests=[t.as_dict() for t in judgement.tests],
                          execution=execution_info, timings=timings, notes=restored.notes + notes_extra,
                          grader_errors=judgement.grader_errors, **common)
    write_json(result_path, result)
    return result, False


def recover_kernel(pool: KernelPool, notebook, parameters: dict, attempts: int = 3):
    """A fresh kernel that has run the lab's protected code cells and the student's answer cells
    (and nothing else), leaving out any cell that kills the kernel again. Returns the live
    session (the caller closes it) and notes saying what was done."""
    from .execute import dying_cell
    from .restore import is_protected

    def keep(cell) -> bool:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type != "code":
            return False
        if meta.get("solution"):
            return True
        return is_protected(cell) and not meta.get("grade")  # set-up and data, not visible tests

    cells = [copy.deepcopy(c) for c in notebook.cells if keep(c) or "parameters" in c.get("metadata", {}).get("tags", [])]
    skipped: list[str] = []
    session = None
    for _ in range(attempts):
        session = pool.take()
        reduced = copy.deepcopy(notebook)
        reduced.cells = [copy.deepcopy(c) for c in cells]
        execution = session.run(reduced, parameters=parameters)
        if execution.kernel_alive:
            break
        culprit = dying_cell(execution.notebook)
        session.close()
        session = None
        if culprit < 0:
            break
        gid = cells[culprit].get("metadata", {}).get("nbgrader", {}).get("grade_id", f"cell {culprit}")
        skipped.append(gid)
        del cells[culprit]
    notes = ["the notebook killed its kernel; its answer cells were run again in a fresh kernel"
             + (f" without {', '.join(skipped)}" if skipped else "")]
    if session is None:
        session = pool.take()  # nothing could be recovered: the judge will find no functions
        notes.append("no answer cell could be run without killing the kernel")
    return session, notes


_worker_pools: dict = {}


def _close_worker_pools() -> None:
    for pool in _worker_pools.values():
        pool.close()
    _worker_pools.clear()


def _grade_task(sub: Submission, lab: Lab, out: Path, config: GradingConfig, seed: int,
                force: bool, hide: tuple[str, ...] = ()) -> tuple[dict, bool]:
    """Worker-process entry point (module level, so it pickles). Each worker keeps one pool,
    so its next kernel boots while it grades; the pool's spare dies with the worker."""
    if not _worker_pools:
        logging.basicConfig(level=logging.WARNING)
        atexit.register(_close_worker_pools)
    key = (config, str(lab.release_dir), hide)
    if key not in _worker_pools:
        _worker_pools[key] = KernelPool(config, data_dir=lab.release_dir, warm=config.prewarm, hide=hide)
    return grade_submission(sub, lab=lab, out=out, config=config, seed=seed, force=force, pool=_worker_pools[key])


def grade_class(lab_name: str, *, submissions: Path, out: Path, workers: int | None = None,
                student: str | None = None, force: bool = False, seed: int | None = None,
                course_root: Path | None = None, config: GradingConfig | None = None,
                on_progress: Progress | None = None,
                share: Callable[[list[str]], list[str]] | None = None) -> ClassGrading:
    """Grade every submission of ``lab_name`` under ``submissions``; write results under ``out``.

    Args:
        workers: worker processes (default: the config's, which defaults to the number of cores).
        student: grade only this student.
        force: re-grade even where a result for the same notebook already exists.
        seed: seed of the hidden tests' random inputs (default: a fresh one, recorded).
        on_progress: called as ``on_progress(done, total, result)`` after each submission.
        share: picks the students this call grades from the sorted class list (cloud shards).

    Raises:
        CourseError: unknown lab, missing release, missing submissions folder, broken hidden suite.
    """
    lab = load_lab(lab_name, course_root)
    config = config or load_config(lab.course_root, workers=workers)
    if workers is not None and workers != config.workers:
        config = GradingConfig(**{**config.__dict__, "workers": workers})
    release_template(lab)  # fail before starting any kernel if the release is missing
    subs = find_submissions(submissions, lab, student, share)
    seed = secrets.randbelow(2**31) if seed is None else int(seed)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    hide = hidden_paths(lab, out, submissions)
    started = time.monotonic()
    results: list[dict] = []
    reused = 0

    def collect(result: dict, was_reused: bool) -> None:
        nonlocal reused
        results.append(result)
        reused += was_reused
        if on_progress:
            on_progress(len(results), len(subs), result)

    if config.workers == 1 or len(subs) <= 1:
        pool = KernelPool(config, data_dir=lab.release_dir, warm=config.prewarm and len(subs) > 1, hide=hide)
        try:
            for sub in subs:
                collect(*grade_submission(sub, lab=lab, out=out, config=config, seed=seed, force=force, pool=pool))
        finally:
            pool.close()
    else:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=min(config.workers, len(subs)), mp_context=context) as pool:
            futures = [pool.submit(_grade_task, sub, lab, out, config, seed, force, hide) for sub in subs]
            try:
                for future in as_completed(futures):
                    collect(*future.result())
            except BaseException:
                for future in futures:
                    future.cancel()
                raise

    functions = [f.name for f in lab.functions]
    if student is not None:
        # Keep the other students' rows: re-read every result on disk for the class file.
        everyone = {r["student"]: r for r in _results_on_disk(out, lab.name)}
        everyone.update({r["student"]: r for r in results})
        csv_rows = list(everyone.values())
    else:
        csv_rows = results
    grades = write_grades(out, csv_rows, functions)
    return ClassGrading(lab=lab.name, out=out, results=sorted(results, key=lambda r: r["student"]),
                        graded=len(results) - reused, reused=reused, seed=seed,
                        seconds=time.monotonic() - started, grades_csv=grades)


def _results_on_disk(out: Path, lab: str) -> list[dict]:
    found = []
    for path in result_paths(out, lab):
        data = read_result(path)
        if data:
            found.append(data)
    return found
