"""Stage 3 of the flow: execute a notebook with papermill in a fresh kernel, and keep that
kernel alive for the judge.

papermill drives the run through a small engine of ours (papermill's own extension point): the
stock nbclient engine, except that the kernel is not shut down when the last cell ends, every
cell has a time limit (the smaller of the per-cell limit and what is left of the notebook's),
errors do not stop the run (later answer cells still define their functions), and cells past
the notebook's deadline are skipped rather than run.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .config import GradingConfig
from .errors import GraderFault

log = logging.getLogger(__name__)

ENGINE_NAME = "autograder"

# nbclient logs every cell timeout at ERROR; those are the student's, recorded in the result,
# and must not scroll past the instructor as if the grader had failed.
_nbclient_log = logging.getLogger("autograder.execute.nbclient")
_nbclient_log.setLevel(logging.CRITICAL)
TIMEOUT_ENAME = "CellTimeoutError"


@dataclass
class CellProblem:
    """A cell that raised, ran out of time, or was skipped."""

    cell: int
    kind: str  # "error", "timeout", "skipped", "kernel_died"
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
    seconds_start: float = 0.0
    seconds_run: float = 0.0

    def summary(self) -> str:
        kinds = [p.kind for p in self.problems]
        parts = []
        first_error = next((p for p in self.problems if p.kind == "error"), None)
        for kind, word in (("error", "raised an error"), ("timeout", "ran out of time"),
                           ("skipped", "skipped (notebook time limit)"), ("kernel_died", "killed the kernel")):
            n = kinds.count(kind)
            if n:
                detail = f" (first: cell {first_error.cell}, {first_error.ename})" if kind == "error" else ""
                parts.append(f"{n} cell{'s' if n > 1 else ''} {word}{detail}")
        return "; ".join(parts)


def _client_class():
    from papermill.clientwrap import PapermillNotebookClient

    class GradingNotebookClient(PapermillNotebookClient):
        """papermill's client with a notebook deadline and a record of timed-out cells."""

        def __init__(self, nb_man, *, deadline: float, **kw):
            super().__init__(nb_man, **kw)
            self.deadline = deadline
            # Cells themselves, not indices: papermill may insert an error-marker cell later.
            self.timed_out: list = []
            self.skipped: list = []

        def papermill_execute_cells(self):
            # Same loop as papermill's, with a stop at the deadline: a student's runaway cell
            # costs at most the notebook's time, not (cells x per-cell limit).
            from nbclient.exceptions import CellExecutionError

            for index, cell in enumerate(self.nb.cells):
                if cell.cell_type == "code" and time.monotonic() >= self.deadline:
                    self.skipped.append(cell)
                    continue
                try:
                    self.nb_man.cell_start(cell, index)
                    self.execute_cell(cell, index)
                except CellExecutionError as ex:  # not raised with allow_errors; kept for safety
                    self.nb_man.cell_exception(self.nb.cells[index], cell_index=index, exception=ex)
                finally:
                    self.nb_man.cell_complete(self.nb.cells[index], cell_index=index)

        async def _async_handle_timeout(self, timeout, cell=None):
            if cell is not None:
                self.timed_out.append(cell)
            return await super()._async_handle_timeout(timeout, cell)

    return GradingNotebookClient


def _engine_class():
    from papermill.engines import NBClientEngine

    class GradingEngine(NBClientEngine):
        """nbclient engine that hands its client (and live kernel) back to the caller."""

        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False, stdout_file=None,
                                     stderr_file=None, start_timeout=60, execution_timeout=None,
                                     session=None, **kwargs):
            kwargs.pop("input_path", None)
            client = _client_class()(
                nb_man, deadline=session.deadline, kernel_name=kernel_name, log=_nbclient_log,
                startup_timeout=start_timeout, timeout_func=session.cell_timeout_for,
                allow_errors=True, interrupt_on_timeout=True,
                error_on_timeout={"ename": TIMEOUT_ENAME,
                                  "evalue": "this cell ran past its time limit and was interrupted",
                                  "traceback": []},
                log_output=log_output, stdout_file=stdout_file, stderr_file=stderr_file,
                **kwargs)
            session.client = client
            # The kernel's own stdout/stderr (not the notebook's outputs, which travel as messages)
            # would otherwise land on the grader's terminal.
            return client.execute(cleanup_kc=False, cwd=str(session.workdir), env=session.kernel_env(),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    return GradingEngine


def _register_engine() -> None:
    from papermill.engines import papermill_engines

    if ENGINE_NAME not in papermill_engines._engines:
        papermill_engines.register(ENGINE_NAME, _engine_class())


class KernelSession:
    """One fresh kernel for one submission: run the notebook, then serve the judge, then die.

    Use as a context manager; the kernel and its working folder are gone on exit.
    """

    def __init__(self, config: GradingConfig, *, data_dir: Path | None = None):
        self.config = config
        self.data_dir = data_dir
        self.client = None
        self.deadline = 0.0
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
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def cell_timeout_for(self, cell) -> float:
        remaining = self.deadline - time.monotonic()
        return max(0.5, min(self.config.cell_timeout, remaining))

    def kernel_env(self) -> dict[str, str]:
        """A small, explicit environment: nothing of the grader's (credentials, tokens) leaks in."""
        home = Path(self._tmp)
        return {
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
            "HOME": str(home),
            "LANG": "C.UTF-8",
            "MPLBACKEND": "module://matplotlib_inline.backend_inline",
            "MPLCONFIGDIR": str(home / "mpl"),
            "PYTHONDONTWRITEBYTECODE": "1",
            "JUPYTER_PLATFORM_DIRS": "1",
        }

    def run(self, nb: nbformat.NotebookNode, *, partial_path: Path | None = None,
            parameters: dict | None = None) -> Execution:
        """Execute ``nb`` with papermill; return it executed, with its problems listed.

        Args:
            parameters: papermill parameters, injected after the cell tagged ``parameters``.
        """
        import papermill
        from nbclient.exceptions import DeadKernelError

        _register_engine()
        started = time.monotonic()
        self.deadline = started + self.config.notebook_timeout
        problems: list[CellProblem] = []
        alive = True
        try:
            papermill.execute_notebook(
                nb, str(partial_path) if partial_path else None, parameters=parameters or None,
                engine_name=ENGINE_NAME, kernel_name=self.config.kernel_name,
                progress_bar=False, request_save_on_cell_execute=partial_path is not None,
                start_timeout=self.config.startup_timeout, session=self)
        except papermill.PapermillExecutionError:
            pass  # errors are listed below from the cells themselves
        except DeadKernelError:
            alive = False
        except RuntimeError as exc:
            if self.client is None or self.client.kc is None:
                raise GraderFault(f"the kernel did not start: {exc}") from None
            alive = False
        except Exception as exc:
            if self.client is None or self.client.kc is None:
                raise GraderFault(f"the kernel did not start: {type(exc).__name__}: {exc}") from None
            raise
        if self.client is None:
            raise GraderFault("papermill returned without running the notebook")
        executed = self.client.nb
        # papermill puts an error-marker cell first when a cell raised; drop it so that cell
        # numbers in the result match the notebook the student submitted.
        executed.cells = [c for c in executed.cells
                          if "papermill-error-cell-tag" not in c.get("metadata", {}).get("tags", [])]
        position = {id(c): i for i, c in enumerate(executed.cells)}
        timed_out = {position[id(c)] for c in self.client.timed_out if id(c) in position}
        skipped = [position[id(c)] for c in self.client.skipped if id(c) in position]
        for index, cell in enumerate(executed.cells):
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error" and index not in timed_out:
                    problems.append(CellProblem(index, "error", out.get("ename", ""), out.get("evalue", "")))
                    break
        problems += [CellProblem(i, "timeout", TIMEOUT_ENAME) for i in sorted(timed_out)]
        problems += [CellProblem(i, "skipped") for i in skipped]
        if alive and not self.kernel_alive():
            alive = False
        if not alive:
            problems.append(CellProblem(-1, "kernel_died", "DeadKernelError", "the kernel process exited"))
        problems.sort(key=lambda p: p.cell)
        return Execution(notebook=executed, problems=problems, kernel_alive=alive,
                         seconds_run=time.monotonic() - started)

    # The judge's view of the kernel ---------------------------------------------------------

    @property
    def kernel_pid(self) -> int | None:
        km = getattr(self.client, "km", None)
        process = getattr(getattr(km, "provisioner", None), "process", None)
        return getattr(process, "pid", None)

    def kernel_alive(self) -> bool:
        km = getattr(self.client, "km", None)
        process = getattr(getattr(km, "provisioner", None), "process", None)
        return process is not None and process.poll() is None

    def interrupt(self) -> None:
        pid = self.kernel_pid
        if pid is not None and self.kernel_alive():
            try:
                os.kill(pid, signal.SIGINT)
            except ProcessLookupError:
                pass

    def connection_info(self) -> dict:
        return self.client.km.get_connection_info(session=False)

    def close(self) -> None:
        client, self.client = self.client, None
        if client is not None and getattr(client, "km", None) is not None:
            try:
                client._cleanup_kernel()
            except Exception as exc:  # the kernel may already be gone
                log.debug("kernel cleanup: %s", exc)
                process = getattr(getattr(client.km, "provisioner", None), "process", None) if client.km else None
                if process is not None and process.poll() is None:
                    process.kill()
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
