"""A fresh kernel per submission: the session that runs the notebook in it and then serves the
judge, the pool that boots the next one ahead of need, and what a run produced.

A session drives its kernel only through the :class:`~autograder.kernel.managers.KernelManager`
interface, whether the kernel was forked from the zygote (sandboxed, see
:mod:`autograder.kernel.sandbox`) or started the ordinary way.
"""

from __future__ import annotations

import copy
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any
from pathlib import Path

import nbformat

from ..config import GradingConfig
from ..errors import GraderFault
from .engine import TIMEOUT_ENAME, RunContext, run_notebook
from .figures import install_code as figure_install_code
from . import strays
from .managers import JupyterKernelManager, KernelManager
from .sandbox import SandboxSpec, prepare, sandbox_summary

log = logging.getLogger(__name__)


@dataclass
class CellProblem:
    """A cell that raised, ran out of time, or was skipped."""

    cell: int
    kind: str  # "error", "timeout", "skipped", "kernel_died", "output_cut"
    ename: str = ""
    evalue: str = ""

    def as_dict(self) -> dict:
        return {"cell": self.cell, "kind": self.kind, "ename": self.ename, "evalue": self.evalue[:500]}


@dataclass
class Execution:
    """What running the notebook produced."""

    notebook: nbformat.NotebookNode
    problems: list[CellProblem] = field(default_factory=list)
    kernel_alive: bool = True
    seconds_run: float = 0.0
    # What each figure the notebook showed looks like: (cell index, JSON text or None when it was
    # too large to keep), in the order shown. Read by ``autograder.figures``.
    figures: list[tuple[int, str | None]] = field(default_factory=list)
    figures_described: bool = True  # False when the kernel could not be set up to describe them
    # (cell index, processes it left running when it finished, which the grader stopped).
    strays: list[tuple[int, int]] = field(default_factory=list)

    def stray_notes(self) -> list[str]:
        """For the result's notes: each cell that left processes running."""
        return [f"cell {cell} left {n} process{'es' if n > 1 else ''} running when it finished; the grader "
                "stopped them (a cell's processes end with it, or they fill the kernel's process limit)"
                for cell, n in self.strays]

    def summary(self) -> str:
        kinds = [p.kind for p in self.problems]
        parts = []
        first_error = next((p for p in self.problems if p.kind == "error"), None)
        for kind, word in (("error", "raised an error"), ("timeout", "ran out of time"),
                           ("skipped", "skipped (notebook time limit)"), ("kernel_died", "killed the kernel"),
                           ("output_cut", "printed past the output limit (cut)")):
            n = kinds.count(kind)
            if n:
                detail = f" (first: cell {first_error.cell}, {first_error.ename})" if kind == "error" else ""
                parts.append(f"{n} cell{'s' if n > 1 else ''} {word}{detail}")
        return "; ".join(parts)


# Imported by every kernel as it boots, before it is needed: the notebook's own `import numpy`
# then costs nothing. Only the module cache is warmed; the student's namespace stays empty.
PRELOAD = ("numpy", "matplotlib", "matplotlib.pyplot", "matplotlib_inline.backend_inline")
PRELOAD_LINE = ("import importlib as _ag_il\n"
                f"for _ag_m in {PRELOAD!r}:\n"
                "    try:\n        _ag_il.import_module(_ag_m)\n    except Exception:\n        pass\n"
                "del _ag_il, _ag_m")


_font_cache: Path | None = None


def matplotlib_font_cache() -> Path | None:
    """A folder holding matplotlib's font cache, built once per machine and matplotlib version.

    Every kernel gets a private copy in its own fresh MPLCONFIGDIR: without one, matplotlib
    rebuilds the cache (seconds) in every kernel; a shared writable one would let one
    submission's kernel leave files for the next.
    """
    global _font_cache
    if _font_cache is not None:
        return _font_cache
    try:
        from importlib.metadata import version

        folder = Path(tempfile.gettempdir()) / f"autograder-mpl-{os.getuid()}-{version('matplotlib')}"
        if not list(folder.glob("fontlist-*.json")):
            staging = Path(tempfile.mkdtemp(prefix="autograder-mpl-"))
            subprocess.run([sys.executable, "-c", "import matplotlib.font_manager"], check=True, timeout=120,
                           env={**os.environ, "MPLCONFIGDIR": str(staging)}, capture_output=True)
            folder.mkdir(exist_ok=True)
            for item in staging.glob("fontlist-*.json"):
                shutil.copy2(item, folder / item.name)
            shutil.rmtree(staging, ignore_errors=True)
        _font_cache = folder
    except Exception as exc:  # only a slower start: matplotlib builds its cache itself
        log.warning("no matplotlib font cache: %s", exc)
    return _font_cache


def kernel_env(home: Path) -> dict[str, str]:
    """A small, explicit environment: nothing of the grader's (credentials, tokens) leaks in."""
    return {
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        "MPLCONFIGDIR": str(home / "mpl"),
        "PYTHONDONTWRITEBYTECODE": "1",
        "JUPYTER_PLATFORM_DIRS": "1",
    }


def _prepare_home(home: Path) -> None:
    """A kernel's private HOME with its own copy of matplotlib's font cache."""
    mpl = home / "mpl"
    mpl.mkdir(parents=True, exist_ok=True)
    cache = matplotlib_font_cache()
    if cache is not None:
        for item in cache.glob("fontlist-*.json"):
            shutil.copy2(item, mpl / item.name)


class KernelSession:
    """One fresh kernel for one submission: run the notebook, then serve the judge, then die.

    The kernel process is launched when the session is entered (it boots on its own from then
    on); ``wait_ready`` waits for it. Use as a context manager: the kernel and its working folder
    are gone on exit.
    """

    def __init__(self, config: GradingConfig, *, data_dir: Path | None = None, server=None,
                 hide: tuple[str, ...] = ()):
        self.config = config
        self.data_dir = data_dir
        self.server = server  # a ForkServer: fork the kernel from it instead of starting one
        self.hide = tuple(hide)  # folders the kernel must not see (sandboxed kernels only)
        self.sandbox: SandboxSpec | None = None  # what the kernel is confined by (forked kernels only)
        self.km: KernelManager | None = None
        self.kc = None
        self._tmp = None
        self.workdir: Path | None = None

    def __enter__(self) -> "KernelSession":
        self._tmp = tempfile.mkdtemp(prefix="autograder-kernel-")
        self.workdir = Path(self._tmp) / "work"
        self.workdir.mkdir()
        if self.data_dir is not None and self.data_dir.is_dir():
            for item in self.data_dir.iterdir():
                if item.is_file() and item.suffix != ".ipynb":
                    shutil.copy2(item, self.workdir / item.name)
        _prepare_home(Path(self._tmp))
        try:
            self._launch()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _launch(self) -> None:
        if self.server is not None:
            from .forkserver import ForkedKernelManager

            self.sandbox = SandboxSpec.for_kernel(self.config, kernel_dir=self._tmp, hide=self.hide,
                                                  isolation=self.server.isolation)
            if self.sandbox is not None:
                prepare(self.sandbox, self._tmp)
            self.km = ForkedKernelManager(self.server, kernel_name=self.config.kernel_name, cwd=str(self.workdir),
                                          env=self._kernel_env(), arguments=[], runtime_dir=self._tmp,
                                          sandbox=self.sandbox)
            return
        self.km = JupyterKernelManager(self.config.kernel_name)
        try:
            self.km.start(cwd=str(self.workdir), env=self._kernel_env(),
                          extra_arguments=[f"--IPKernelApp.exec_lines={[PRELOAD_LINE]!r}"])
        except Exception as exc:
            raise GraderFault(f"the kernel {self.config.kernel_name!r} did not start: {exc}") from None

    def server_lost(self) -> bool:
        """Whether this kernel's fork server has died (its kernels die with it)."""
        return self.server is not None and not self.server.alive()

    def sandbox_summary(self) -> dict:
        """For result.json: what was enforced on this kernel."""
        return sandbox_summary(self.sandbox, self.config)

    def wait_ready(self) -> float:
        """Wait until the kernel answers; return the seconds waited."""
        from jupyter_core.utils import run_sync

        started = time.monotonic()
        if self.kc is None:
            self.kc = self.km.client()
            self.kc.start_channels()
            try:
                run_sync(self.kc.wait_for_ready)(timeout=self.config.startup_timeout)
            except Exception as exc:
                why = self.km.start_error()
                raise GraderFault(f"the kernel did not become ready within {self.config.startup_timeout:g} s: "
                                  f"{why or exc}") from None
            self.kc.allow_stdin = False
        return time.monotonic() - started

    def _kernel_env(self) -> dict[str, str]:
        return kernel_env(Path(self._tmp))

    def run(self, nb: nbformat.NotebookNode, *, partial_path: Path | None = None,
            parameters: dict | None = None) -> Execution:
        """Execute ``nb`` with papermill; return it executed, with its problems listed.

        Args:
            partial_path: where the notebook, as far as it ran, is saved if the run fails.
            parameters: papermill parameters, injected after the cell tagged ``parameters``.
        """
        self.wait_ready()
        described = self._describe_figures()
        started = time.monotonic()
        left: list[tuple[Any, int]] = []

        def after_cell(cell) -> None:
            n = self.clear_strays()
            if n:
                left.append((cell, n))

        context = RunContext(km=self.km, kc=self.kc, kernel_name=self.config.kernel_name,
                             startup_timeout=self.config.startup_timeout, cell_timeout=self.config.cell_timeout,
                             deadline=started + self.config.notebook_timeout,
                             max_output_bytes=int(self.config.max_output_mb * 2**20),
                             partial_path=partial_path, parameters=parameters, after_cell=after_cell)
        alive = run_notebook(nb, context)
        self.clear_strays()  # also after a run cut short: the judge gets a kernel with its quota free
        executed = context.notebook
        # papermill puts an error-marker cell first when a cell raised; drop it so that cell
        # numbers in the result match the notebook the student submitted.
        executed.cells = [c for c in executed.cells
                          if "papermill-error-cell-tag" not in c.get("metadata", {}).get("tags", [])]
        position = {id(c): i for i, c in enumerate(executed.cells)}
        timed_out = {position[id(c)] for c in context.timed_out if id(c) in position}
        skipped = [position[id(c)] for c in context.skipped if id(c) in position]
        problems: list[CellProblem] = []
        for index, cell in enumerate(executed.cells):
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error" and index not in timed_out:
                    problems.append(CellProblem(index, "error", out.get("ename", ""), out.get("evalue", "")))
                    break
        problems += [CellProblem(i, "timeout", TIMEOUT_ENAME) for i in sorted(timed_out)]
        problems += [CellProblem(i, "skipped") for i in skipped]
        if context.output_cut_cell is not None:
            problems.append(CellProblem(context.output_cut_cell, "output_cut", "OutputLimit",
                                        f"more than {self.config.max_output_mb:g} MB of output"))
        if alive and not self.kernel_alive():
            alive = False
        if not alive:
            problems.append(CellProblem(dying_cell(executed), "kernel_died", "DeadKernelError",
                                        "the kernel process exited"))
        problems.sort(key=lambda p: p.cell)
        figures = [(position[id(cell)], text) for cell, text in context.figures if id(cell) in position]
        return Execution(notebook=executed, problems=problems, kernel_alive=alive,
                         seconds_run=time.monotonic() - started, figures=figures, figures_described=described,
                         strays=[(position[id(c)], n) for c, n in left if id(c) in position])

    def clear_strays(self) -> int:
        """Stop the processes the kernel left running and have it reap its own dead children
        (:mod:`autograder.kernel.strays`); return how many were stopped. Never raises."""
        if self.km is None or not self.km.alive():
            return 0
        try:
            n, children = self.km.stop_strays()
            if children and self.kc is not None:
                from jupyter_core.utils import run_sync

                run_sync(self.kc.execute_interactive)(strays.reap_code(children), silent=True, store_history=False,
                                                      timeout=10, output_hook=lambda msg: None)
        except Exception as exc:  # noqa: BLE001 - a busy or dying kernel: the next look tries again
            log.warning("stopping what the kernel left running: %s: %s", type(exc).__name__, exc)
            return 0
        return n

    def strays_after_call(self) -> list[int]:
        """For the judge, after each call: stop what the call left running (a cheap look first)
        and return the kernel's dead children for it to reap through its own client."""
        if self.km is None or self.km.pid is None or not strays.has_children(self.km.pid):
            return []
        try:
            return self.km.stop_strays()[1]
        except Exception as exc:  # noqa: BLE001
            log.warning("stopping what the kernel left running: %s: %s", type(exc).__name__, exc)
            return []

    def _describe_figures(self) -> bool:
        """Set the kernel up to describe every figure it shows (``kernel/figures.py``), before any
        student code runs. A kernel that cannot be set up still runs the notebook: its figures are
        then not described, and the figure checks say so."""
        from jupyter_core.utils import run_sync

        try:
            reply = run_sync(self.kc.execute_interactive)(figure_install_code(), silent=True, store_history=False,
                                                          timeout=30, output_hook=lambda msg: None)
        except Exception as exc:  # noqa: BLE001 - a timeout or a dead kernel: the run says the rest
            log.warning("could not set the kernel up to describe figures: %s", exc)
            return False
        ok = reply.get("content", {}).get("status") == "ok"
        if not ok:
            log.warning("could not set the kernel up to describe figures: %s",
                        reply.get("content", {}).get("evalue", "error"))
        return ok

    # The judge's view of the kernel ---------------------------------------------------------

    @property
    def kernel_pid(self) -> int | None:
        return self.km.pid if self.km is not None else None

    def kernel_alive(self) -> bool:
        return self.km is not None and self.km.alive()

    def interrupt(self) -> None:
        if self.km is not None and self.km.alive():
            self.km.interrupt()

    def connection_info(self) -> dict:
        return self.km.connection_info()

    def close(self) -> None:
        kc, self.kc = self.kc, None
        if kc is not None:
            try:
                kc.stop_channels()
            except Exception as exc:  # already closed
                log.debug("kernel client: %s", exc)
        km, self.km = self.km, None
        if km is not None:
            km.kill()
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None


def dying_cell(nb: nbformat.NotebookNode) -> int:
    """The cell that was running when the kernel died: the last one papermill started, or -1."""
    started = [index for index, cell in enumerate(nb.cells)
               if cell.get("metadata", {}).get("papermill", {}).get("start_time")]
    return started[-1] if started else -1


class KernelPool:
    """Keeps one kernel booting ahead of need, so a submission rarely waits for a kernel start.

    Each submission still gets a kernel no other submission has touched: the spare is a fresh
    process with its own working folder, launched while the previous submission is graded.
    """

    def __init__(self, config: GradingConfig, *, data_dir: Path | None = None, warm: bool = True,
                 fork: bool | None = None, hide: tuple[str, ...] = ()):
        self.config = config
        self.data_dir = data_dir
        self.hide = tuple(hide)
        self.warm = warm
        # Forked kernels are also the sandboxed ones, so a pool forks whenever it can.
        self.fork = config.fork_kernels if fork is None else fork
        self._spare: KernelSession | None = None
        self._server = None
        self._server_home: str | None = None

    def _fork_server(self):
        if not self.fork or not can_fork(self.config):
            return None
        if self._server is None or not self._server.alive():
            from .forkserver import ForkServer

            if self._server_home is None:
                self._server_home = tempfile.mkdtemp(prefix="autograder-zygote-")
                _prepare_home(Path(self._server_home))
            try:
                self._server = ForkServer(kernel_env(Path(self._server_home)),
                                          startup_timeout=self.config.startup_timeout)
            except GraderFault as exc:
                log.warning("%s; starting kernels the ordinary way", exc)
                self.fork = False
                return None
        return self._server

    def _new(self) -> KernelSession:
        return KernelSession(self.config, data_dir=self.data_dir, server=self._fork_server(),
                             hide=self.hide).__enter__()

    def take(self) -> KernelSession:
        """A launched session, never used before; the caller closes it."""
        session, self._spare = self._spare, None
        if session is None or not session.kernel_alive():
            if session is not None:
                session.close()
            session = self._new()
        return session

    def prepare_next(self) -> None:
        """Launch the next submission's kernel now (if warming is on)."""
        if self.warm and self._spare is None:
            try:
                self._spare = self._new()
            except GraderFault as exc:  # the next take() will try again and report it
                log.warning("could not launch a spare kernel: %s", exc)

    def close(self) -> None:
        spare, self._spare = self._spare, None
        if spare is not None:
            spare.close()
        server, self._server = self._server, None
        if server is not None:
            server.close()
        if self._server_home:
            shutil.rmtree(self._server_home, ignore_errors=True)
            self._server_home = None


def can_fork(config: GradingConfig) -> bool:
    """Fork-started kernels need fork() and the stock IPython kernel of this environment."""
    if not hasattr(os, "fork") or config.kernel_name != "python3":
        return False
    try:
        from jupyter_client.kernelspec import KernelSpecManager

        spec = KernelSpecManager().get_kernel_spec(config.kernel_name)
    except Exception:
        return False
    return "ipykernel_launcher" in " ".join(spec.argv) and Path(spec.argv[0]).name.startswith("python")


def recover_kernel(pool: KernelPool, notebook, parameters: dict, attempts: int = 3):
    """A fresh kernel that has run the lab's protected code cells and the student's answer cells
    (and nothing else), leaving out any cell that kills the kernel again. Returns the live
    session (the caller closes it), notes saying what was done, and the recovery run's Execution
    (its figures stand in for those the first run never reached; None when nothing ran)."""
    from .. import cells as nbcells

    def keep(cell) -> bool:
        if cell.cell_type != "code":
            return False
        if nbcells.is_solution(cell):
            return True
        return nbcells.is_protected(cell) and not nbcells.is_test(cell)  # set-up and data, not visible tests

    cells = [copy.deepcopy(c) for c in notebook.cells if keep(c) or "parameters" in nbcells.tags(c)]
    skipped: list[str] = []
    session = execution = None
    for _ in range(attempts):
        session = pool.take()
        reduced = copy.deepcopy(notebook)
        reduced.cells = [copy.deepcopy(c) for c in cells]
        execution = session.run(reduced, parameters=parameters)
        if execution.kernel_alive:
            break
        culprit = dying_cell(execution.notebook)
        session.close()
        session = execution = None
        if culprit < 0:
            break
        gid = nbcells.grade_id(cells[culprit]) or f"cell {culprit}"
        skipped.append(gid)
        del cells[culprit]
    notes = ["the notebook killed its kernel; its answer cells were run again in a fresh kernel"
             + (f" without {', '.join(skipped)}" if skipped else "")]
    if session is None:
        session = pool.take()  # nothing could be recovered: the judge will find no functions
        notes.append("no answer cell could be run without killing the kernel")
    return session, notes, execution
