"""Grade one submission, or a whole class in parallel worker processes.

The flow for one submission, one module per stage: ``load`` -> ``restore`` -> ``execute`` (in a
kernel from ``kernel``) -> ``judge`` -> ``record``. A student's failure at any stage is a result
(``results.SubmissionResult``); only a broken course (a missing release, an inconsistent hidden
suite) stops the batch. ``grade_class`` returns the class's results; its callers write the class
file (``report.write_class_grades``) where they want it.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import multiprocessing
import os
import secrets
import signal
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .config import GradingConfig, load_config
from .course import Lab, load_lab
from .errors import CourseError, GraderFault, OutputError, Stopped, SubmissionError
from .execute import execute_notebook
from .judge import hidden_parameters, judge
from .kernel import KernelBridge, KernelPool, recover_kernel
from .load import Submission, file_digest, find_submissions, load_notebook
from .record import environment, record_submission
from .figures import read_figures
from .restore import answer_sources, restore
from .results import (UNWRITABLE, Status, SubmissionResult, read_result, result_dir, result_file, results_lock,
                      sweep_leftovers)

log = logging.getLogger(__name__)

Progress = Callable[[int, int, SubmissionResult], None]


@dataclass
class ClassGrading:
    """What grading a class produced."""

    lab: str
    out: Path
    results: list[SubmissionResult]  # sorted by student
    graded: int
    reused: int
    seed: int
    seconds: float
    functions: list[str] = field(default_factory=list)  # the lab's graded functions, in order
    student: str | None = None       # set when only this student was graded
    grades_csv: Path | None = None   # set once the class file is written (report.write_class_grades)

    @property
    def grader_errors(self) -> list[SubmissionResult]:
        return [r for r in self.results if r.failed_by_grader]


def hidden_paths(lab: Lab, *private: Path) -> tuple[str, ...]:
    """Folders a sandboxed kernel must not see: hidden suites and references (the whole engine
    package), sources with solutions, the repository's history and tests, and ``private``
    (for grading: every result, and every other student's submission)."""
    package = Path(__file__).resolve().parent
    root = lab.course_root.resolve()
    content = lab.content_dir.resolve().parent  # all labs' hidden suites, in or out of the package
    return tuple(dict.fromkeys(str(p) for p in (package, content, root / "source", root / ".git", root / "tests",
                                                *(Path(p).resolve() for p in private))))


class _Stopwatch:
    """Per-stage timings of one submission (``result.timings``)."""

    def __init__(self) -> None:
        self.start = self.mark = time.monotonic()
        self.timings: dict[str, float] = {}

    def lap(self, name: str) -> None:
        current = time.monotonic()
        self.timings[name] = current - self.mark
        self.mark = current

    def total(self) -> dict[str, float]:
        self.timings["total"] = time.monotonic() - self.start
        return self.timings


def grade_submission(sub: Submission, *, lab: Lab, out: Path, config: GradingConfig, seed: int,
                     force: bool = False, pool: KernelPool | None = None,
                     _again: bool = False) -> tuple[SubmissionResult, bool]:
    """Grade one submission and write its result; return ``(result, reused)``.

    A result already on disk for the same notebook bytes is reused unless ``force``.
    ``pool`` supplies the kernel (and may launch the next one early); without it a kernel is
    started for this submission alone.
    """
    digest = file_digest(sub.path)
    if not force:
        previous = read_result(result_file(out, sub.student, lab.name))
        if previous is not None and previous.reusable_for(digest):
            return previous, True

    result = SubmissionResult.begin(student=sub.student, lab=lab, notebook=sub.notebook, seed=seed,
                                    submission_sha256=digest, config=config.recorded())
    clock = _Stopwatch()
    template, template_ids = lab.release_template()
    try:
        nb = load_notebook(sub.path, lab=lab.name, template_ids=set(template_ids), template=template)
    except SubmissionError as exc:
        clock.lap("load")
        result.conclude(exc.status, str(exc), timings=clock.total(), environment=environment())
        record_submission(out, result)
        return result, False
    clock.lap("load")
    restored = restore(nb, template)
    clock.lap("restore")

    parameters = hidden_parameters(lab, seed)
    folder = result_dir(out, sub.student, lab.name)
    partial = folder / f".partial.{sub.notebook}"
    folder.mkdir(parents=True, exist_ok=True)
    notes = list(restored.notes)
    own_pool = pool is None
    if own_pool:
        pool = KernelPool(config, data_dir=lab.release_dir, warm=False,
                          hide=hidden_paths(lab, out, sub.path.parent.parent.parent))
    session = execution = recovery = None
    server_lost = False
    try:
        session = pool.take()
        sandbox = session.sandbox_summary()
        session.wait_ready()
        clock.lap("start")
        pool.prepare_next()  # the next submission's kernel boots while this one runs
        execution = execute_notebook(session, restored.notebook, partial_path=partial, parameters=parameters)
        server_lost = session.server_lost()
        notes.extend(execution.stray_notes())
        clock.lap("execute")
        if not execution.kernel_alive:
            # The notebook killed its kernel (sys.exit, os._exit, a crash). Its functions can still
            # be judged: re-run just the lab's own code cells and the answer cells in a fresh kernel.
            session.close()
            session, recovery_notes, recovery = recover_kernel(pool, restored.notebook, parameters)
            notes.extend(recovery_notes)
            clock.lap("recover")
        bridge = KernelBridge(session.connection_info(), interrupt=session.interrupt,
                              is_alive=session.kernel_alive, call_timeout=config.call_timeout,
                              judge_timeout=config.judge_timeout, max_payload_mb=config.max_payload_mb,
                              after_call=session.strays_after_call)
        try:
            judgement = judge(lab, bridge, seed=seed, sources=answer_sources(restored.notebook),
                              notebook=execution.notebook, parameters=parameters,
                              figures=_figures(execution, recovery))
        finally:
            bridge.close()
        server_lost = server_lost or session.server_lost()
        clock.lap("judge")
    except CourseError:
        raise  # a broken lab stops the batch; nothing can be graded against it
    except Exception as exc:  # a GraderFault, or a grader bug on this one notebook: a row, not a crashed batch
        fault = str(exc) if isinstance(exc, GraderFault) else f"{type(exc).__name__}: {exc}"
        result.conclude(Status.GRADER_ERROR, fault, notes=notes, grader_errors=[fault], timings=clock.total(),
                        environment=environment())
        # Keep what exists: the notebook as far as it ran (whole, or the partial copy the engine
        # wrote while it ran) goes beside the result, for the instructor to look at.
        ran = execution.notebook if execution is not None else _read_partial(partial)
        record_submission(out, result, ran)
        return result, False
    finally:
        partial.unlink(missing_ok=True)
        if session is not None:
            session.close()
        if own_pool:
            pool.close()
    clock.lap("close")
    if server_lost and not _again:
        # The fork server died (killed from outside) while this submission ran, and its kernel
        # with it: not the student's doing. Graded once more, with kernels of a new fork server.
        log.warning("%s: the kernel fork server died mid-submission; grading it again", sub.student)
        return grade_submission(sub, lab=lab, out=out, config=config, seed=seed, force=True,
                                pool=None if own_pool else pool, _again=True)
    execution_info = {"cells": len(execution.notebook.cells),
                      "problems": [p.as_dict() for p in execution.problems],
                      "kernel_alive": execution.kernel_alive, "calls": judgement.calls,
                      "parameters": parameters, "sandbox": sandbox}
    clock.lap("record")
    result.conclude(Status.GRADED, execution.summary(), tests=judgement.tests, execution=execution_info,
                    notes=notes, grader_errors=judgement.grader_errors, timings=clock.total(),
                    environment=environment())
    record_submission(out, result, execution.notebook)
    return result, False


def _read_partial(path: Path):
    """The partial executed notebook the engine saved while running, if it can be read."""
    import nbformat

    try:
        return nbformat.read(str(path), as_version=4)
    except Exception:  # absent, or cut off mid-write: there is nothing to keep
        return None


_worker_pools: dict = {}


def _close_worker_pools() -> None:
    for pool in _worker_pools.values():
        pool.close()
    _worker_pools.clear()


def _figures(execution, recovery):
    """The figures the judge reads: the run's; where the notebook killed its kernel, the cells it
    never reached show theirs from the recovery run (which re-ran the answer cells)."""
    figures = read_figures(execution.figures, execution.notebook, described=execution.figures_described)
    if recovery is not None:
        shown = {f.grade_id for f in figures if f.grade_id}
        again = read_figures(recovery.figures, recovery.notebook, described=recovery.figures_described)
        figures.figures += [f for f in again if f.grade_id and f.grade_id not in shown]
    return figures


_busy = False  # a worker process is grading a submission (and has a kernel to clean up)


def _grade_task(sub: Submission, lab: Lab, out: Path, config: GradingConfig, seed: int,
                force: bool, hide: tuple[str, ...] = ()) -> tuple[SubmissionResult, bool]:
    """Worker-process entry point (module level, so it pickles). Each worker keeps one pool,
    so its next kernel boots while it grades; the pool's spare dies with the worker."""
    if not _worker_pools:
        logging.basicConfig(level=logging.WARNING)
        atexit.register(_close_worker_pools)
        signal.signal(signal.SIGTERM, _stop_worker)  # stopped by the batch: clean up on the way out
    global _busy
    _busy = True
    try:
        key = (config, str(lab.release_dir), hide)
        if key not in _worker_pools:
            _worker_pools[key] = KernelPool(config, data_dir=lab.release_dir, warm=config.prewarm, hide=hide)
        return grade_submission(sub, lab=lab, out=out, config=config, seed=seed, force=force,
                                pool=_worker_pools[key])
    finally:
        _busy = False


def _stop_worker(signum, frame) -> None:
    if _busy:
        raise Stopped(signal.SIGTERM)  # grade_submission's cleanup runs on the way out
    os._exit(128 + signal.SIGTERM)  # idle: nothing to clean up


def _grade_in_pool(subs: list[Submission], workers: int, args: tuple,
                   collect: Callable[[SubmissionResult, bool], None]) -> list[Submission]:
    """Grade ``subs`` in a pool of worker processes; return those left ungraded because a worker
    died and broke the pool (the others are collected)."""
    context = multiprocessing.get_context("spawn")
    collected: set[str] = set()
    with ProcessPoolExecutor(max_workers=min(workers, len(subs)), mp_context=context) as pool:
        futures = {pool.submit(_grade_task, sub, *args): sub for sub in subs}
        try:
            for future in as_completed(futures):
                if isinstance(future.exception(), BrokenProcessPool):
                    break
                collect(*future.result())
                collected.add(futures[future].student)
            for future, sub in futures.items():  # finished before the pool broke
                if sub.student not in collected and future.done() and not future.cancelled() \
                        and future.exception() is None:
                    collect(*future.result())
                    collected.add(sub.student)
        except BaseException:
            _stop_workers(pool, list(futures))
            raise
    return [sub for sub in subs if sub.student not in collected]


def _worker_lost(sub: Submission, lab: Lab, out: Path, config: GradingConfig, seed: int) -> SubmissionResult:
    """The result of a submission whose worker process died every time it was graded."""
    result = SubmissionResult.begin(student=sub.student, lab=lab, notebook=sub.notebook, seed=seed,
                                    submission_sha256=file_digest(sub.path), config=config.recorded())
    why = ("the worker process grading this submission died each time (killed, or out of memory); "
           "nothing of it was judged")
    result.conclude(Status.GRADER_ERROR, why, grader_errors=[why], environment=environment())
    record_submission(out, result)
    return result


def _written_since(path: Path, since: float) -> bool:
    try:
        return path.stat().st_mtime >= since
    except OSError:
        return False


def _stop_workers(pool: ProcessPoolExecutor, futures: list, grace: float = 10.0) -> None:
    """Stop a batch now: nothing new starts; each worker is asked to stop (SIGTERM: its
    submission's kernel is killed and its half-written files removed) and killed after ``grace``."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            try:
                os.kill(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + grace
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join(2)


def _grade_all(subs: list[Submission], lab: Lab, out: Path, config: GradingConfig, seed: int, force: bool,
               hide: tuple[str, ...], collect: Callable[[SubmissionResult, bool], None]) -> None:
    """Grade ``subs`` in this process or in worker processes, handing each result to ``collect``;
    a worker that dies costs no submission its grading."""
    if config.workers == 1 or len(subs) <= 1:
        pool = KernelPool(config, data_dir=lab.release_dir, warm=config.prewarm and len(subs) > 1, hide=hide)
        try:
            for sub in subs:
                collect(*grade_submission(sub, lab=lab, out=out, config=config, seed=seed, force=force,
                                          pool=pool))
        finally:
            pool.close()
    else:
        args = (lab, out, config, seed, force, hide)
        remaining = subs
        for _ in range(2):  # a worker that died (SIGKILL, out of memory) breaks its pool
            remaining = _grade_in_pool(remaining, config.workers, args, collect)
            if not remaining:
                break
            log.warning("a grading worker died mid-batch; the %d submission(s) not finished are graded "
                        "again", len(remaining))
        for sub in remaining:  # still breaking: alone, to tell which submission kills its worker
            if _grade_in_pool([sub], 1, args, collect):
                collect(_worker_lost(sub, lab, out, config, seed), False)


def _check_apart(submissions: Path, out: Path) -> None:
    """Results written inside the submissions folder would be read back as a student's folder by
    the next run, and a sweep of ``out`` must never reach a student's files: the two are apart."""
    subs, res = submissions.resolve(), out.resolve()
    if res == subs:
        raise OutputError(f"the results folder {out} is the submissions folder; give another --out "
                          "(for example beside it, as nbgrader's autograded/ is beside submitted/)")
    if res.is_relative_to(subs):
        raise OutputError(f"the results folder {out} is inside the submissions folder {submissions}; "
                          "its results would be read as a student's folder: give an --out outside it")
    if subs.is_relative_to(res):
        raise OutputError(f"the submissions folder {submissions} is inside the results folder {out}; "
                          "give an --out that does not hold the submissions")


def grade_class(lab_name: str, *, submissions: Path, out: Path, workers: int | None = None,
                student: str | None = None, force: bool = False, seed: int | None = None,
                course_root: Path | None = None, config: GradingConfig | None = None,
                on_progress: Progress | None = None,
                share: Callable[[list[str]], list[str]] | None = None, exclusive: bool = True) -> ClassGrading:
    """Grade every submission of ``lab_name`` under ``submissions``; write each result under ``out``.

    The class file is the caller's to write (``report.write_class_grades``).

    Args:
        workers: worker processes (default: the config's, which defaults to the number of cores).
        student: grade only this student.
        force: re-grade even where a result for the same notebook already exists.
        seed: seed of the hidden tests' random inputs (default: a fresh one, recorded).
        on_progress: called as ``on_progress(done, total, result)`` after each submission.
        share: picks the students this call grades from the sorted class list (cloud shards).
        exclusive: hold ``out`` for this run (its lock) and sweep what interrupted runs left there.
            False only where several runs share one folder by design, each grading its own share
            (the hosts of one Processing job).

    Raises:
        CourseError: unknown lab, missing release, missing submissions folder, broken hidden suite.
        OutputError: another run holds ``out``, or a result cannot be written there (disk full):
            every result written before is intact, and the same call again grades what is missing.
        Stopped: Ctrl-C or SIGTERM; the workers are stopped within seconds, nothing half-written
            is left, and the same call again resumes.
    """
    lab = load_lab(lab_name, course_root)
    config = config or load_config(lab.course_root, workers=workers)
    if workers is not None and workers != config.workers:
        config = GradingConfig(**{**config.__dict__, "workers": workers})
    lab.release_template()  # fail before starting any kernel if the release is missing
    subs = find_submissions(submissions, lab, student, share)
    seed = secrets.randbelow(2**31) if seed is None else int(seed)
    out = Path(out)
    _check_apart(Path(submissions), out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputError(f"the results folder {out} is a file, not a folder") from None
    except OSError as exc:
        raise OutputError(f"cannot create the results folder {out}: {exc.strerror or exc}") from None
    hide = hidden_paths(lab, out, submissions)
    started, begun = time.monotonic(), time.time()
    results: list[SubmissionResult] = []
    reused = 0

    def collect(result: SubmissionResult, was_reused: bool) -> None:
        nonlocal reused
        results.append(result)
        reused += was_reused
        if on_progress:
            on_progress(len(results), len(subs), result)

    try:
        with results_lock(out) if exclusive else contextlib.nullcontext():
            for left in (sweep_leftovers(out, lab.name) if exclusive else []):
                log.info("removed %s, left half-written by an interrupted run", left)
            try:
                _grade_all(subs, lab, out, config, seed, force, hide, collect)
            finally:
                if exclusive:
                    sweep_leftovers(out, lab.name)  # what a worker stopped or killed mid-write left
    except OSError as exc:
        if exc.errno not in UNWRITABLE:
            raise
        raise OutputError(f"cannot write results under {out}: {exc.strerror or exc}; the {len(results)} "
                          f"result(s) this run wrote before are intact: fix it (free space, permissions) and run "
                          "the same command again, which grades only what is missing") from None
    except KeyboardInterrupt as exc:
        # Counted on disk: a worker may have written its result just before it was stopped.
        finished = sum(1 for sub in subs if _written_since(result_file(out, sub.student, lab.name), begun))
        raise Stopped(getattr(exc, "signum", signal.SIGINT), finished=finished) from None

    return ClassGrading(lab=lab.name, out=out, results=sorted(results, key=lambda r: r.student),
                        graded=len(results) - reused, reused=reused, seed=seed,
                        seconds=time.monotonic() - started, functions=[f.name for f in lab.functions],
                        student=student)
