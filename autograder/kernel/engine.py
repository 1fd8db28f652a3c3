"""papermill's side of running a notebook: a small engine of ours (papermill's own extension
point) and the nbclient client it drives.

The stock nbclient engine, except that the kernel is not shut down when the last cell ends, every
cell has a time limit (the smaller of the per-cell limit and what is left of the notebook's),
errors do not stop the run (later answer cells still define their functions), and cells past the
notebook's deadline are skipped rather than run.

A run is described by a :class:`RunContext`, handed to the engine through papermill (an engine
keyword): what the client needs (the session's kernel manager and connected client, the time
limits, the output cap) and where the client leaves what it saw (the notebook as far as it ran,
the cells that timed out or were skipped, where output was cut).
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import nbformat

from ..errors import GraderFault
from .figures import MAX_BYTES as FIGURE_BYTES
from .figures import MIME as FIGURE_MIME
from .managers import KernelManager, unreadable_message

ENGINE_NAME = "autograder"
TIMEOUT_ENAME = "CellTimeoutError"
UNREADABLE_ENAME = "KernelMessageError"  # the kernel sent what the grader could not read
MAX_FIGURES = 200  # figure descriptions kept per notebook; later figures are shown but not described

log = logging.getLogger(__name__)
# nbclient logs every cell timeout at ERROR; those are the student's, recorded in the result,
# and must not scroll past the instructor as if the grader had failed.
_nbclient_log = logging.getLogger(__name__ + ".nbclient")
_nbclient_log.setLevel(logging.CRITICAL)


@dataclass
class RunContext:
    """One papermill run of one notebook in one live kernel: its inputs and what it recorded."""

    km: KernelManager  # the session's (nbclient interrupts the kernel through it at a cell's limit)
    kc: Any  # the session's AsyncKernelClient, connected and ready: nbclient skips its own start
    kernel_name: str
    startup_timeout: float
    cell_timeout: float
    deadline: float  # time.monotonic() at which the notebook's time is up
    max_output_bytes: int
    partial_path: Path | None = None  # where the notebook, as far as it ran, is saved if the run fails
    parameters: dict | None = None  # papermill parameters, injected after the cell tagged `parameters`
    after_cell: Callable[[Any], None] | None = None  # called with each cell once it has run

    # Recorded by the run. Cells themselves, not indices: papermill may insert an error-marker
    # cell before them afterwards.
    notebook: nbformat.NotebookNode | None = None  # as far as it ran; None if it never started
    timed_out: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    output_bytes: int = 0
    output_cut_cell: int | None = None
    # (cell, JSON text) per figure shown, in order: taken off the outputs (kernel/figures.py).
    figures: list = field(default_factory=list)

    def cell_timeout_for(self, cell) -> float:
        """A cell's time limit: the per-cell limit, or what is left of the notebook's."""
        remaining = self.deadline - time.monotonic()
        return max(0.5, min(self.cell_timeout, remaining))


def run_notebook(nb: nbformat.NotebookNode, context: RunContext) -> bool:
    """Execute ``nb`` with papermill in ``context``'s kernel; return whether the kernel survived.

    The executed notebook is ``context.notebook`` (also when the kernel died half-way).

    Raises:
        GraderFault: papermill could not run the notebook at all.
    """
    import papermill
    from nbclient.exceptions import DeadKernelError

    register_engine()
    alive = True
    try:
        # No output path: papermill would write the whole notebook (validated, figures and all)
        # before and after every cell, which took more than half of a notebook's run. The notebook
        # it executes is ``context.notebook``, filled in place; it is written out only when the
        # run fails (below).
        papermill.execute_notebook(
            nb, None, parameters=context.parameters or None, engine_name=ENGINE_NAME,
            kernel_name=context.kernel_name, progress_bar=False, start_timeout=context.startup_timeout,
            context=context)
    except papermill.PapermillExecutionError:
        pass  # errors are read from the cells themselves
    except DeadKernelError:
        alive = False
    except RuntimeError as exc:
        if context.notebook is None:
            raise GraderFault(f"papermill could not run the notebook: {exc}") from None
        alive = False
    except Exception:
        _save_partial(context)  # a fault of the grader mid-run: what ran is kept for the instructor
        raise
    if context.notebook is None:
        raise GraderFault("papermill returned without running the notebook")
    return alive


def _save_partial(context: RunContext) -> None:
    if context.partial_path is None or context.notebook is None:
        return
    try:
        nbformat.write(context.notebook, str(context.partial_path))
    except Exception as exc:  # noqa: BLE001 - best effort, on the way out of a failed run
        log.warning("could not save the partly run notebook to %s: %s", context.partial_path, exc)


def register_engine() -> None:
    """Register our engine with papermill (idempotent: the same class every time)."""
    from papermill.engines import papermill_engines

    papermill_engines.register(ENGINE_NAME, _engine_class())


@functools.cache
def _client_class():
    from papermill.clientwrap import PapermillNotebookClient

    class GradingNotebookClient(PapermillNotebookClient):
        """papermill's client with a notebook deadline and a record of timed-out cells."""

        def __init__(self, nb_man, *, context: RunContext, **kw):
            super().__init__(nb_man, **kw)
            self.context = context
            context.notebook = self.nb

        def papermill_execute_cells(self):
            # Same loop as papermill's, with a stop at the deadline: a student's runaway cell
            # costs at most the notebook's time, not (cells x per-cell limit).
            from nbclient.exceptions import CellExecutionError

            for index, cell in enumerate(self.nb.cells):
                if cell.cell_type == "code" and time.monotonic() >= self.context.deadline:
                    self.context.skipped.append(cell)
                    continue
                try:
                    self.nb_man.cell_start(cell, index)
                    self.execute_cell(cell, index)
                except CellExecutionError as ex:  # not raised with allow_errors; kept for safety
                    self.nb_man.cell_exception(self.nb.cells[index], cell_index=index, exception=ex)
                except Exception as ex:
                    if not unreadable_message(ex):
                        raise
                    # The cell's outcome, not a failed run: the next cells still run.
                    self.nb.cells[index].setdefault("outputs", []).append(nbformat.v4.new_output(
                        "error", ename=UNREADABLE_ENAME, traceback=[],
                        evalue=f"the kernel sent a message the grader could not read while this cell ran "
                               f"({type(ex).__name__}: {str(ex)[:200]}); was it out of processes or memory?"))
                finally:
                    self.nb_man.cell_complete(self.nb.cells[index], cell_index=index)
                # The cell has finished (or only its messages were unreadable): what it left running
                # is stopped. Not on the way out of an interrupted run: the kernel may be busy.
                if cell.cell_type == "code" and self.context.after_cell is not None:
                    self.context.after_cell(self.nb.cells[index])

        def output(self, outs, msg, display_id, cell_index):
            # Everything a notebook prints is held by the grader; past the cap it is dropped
            # (with one note in place), so a flood costs the student output, not grader memory.
            context = self.context
            content = msg.get("content", {})
            if msg.get("msg_type") == "error":
                # An error is how the result knows the cell failed: never dropped past the cap, only
                # clipped (an exception can carry a message of any size).
                content["evalue"] = str(content.get("evalue", ""))[:2000]
                content["traceback"] = [str(line)[:2000] for line in content.get("traceback", [])[-40:]]
                return super().output(outs, msg, display_id, cell_index)
            data = content.get("data")
            if isinstance(data, dict) and FIGURE_MIME in data:
                # A figure's description is the grader's, not the notebook's: kept aside (bounded,
                # counted once per figure), never saved with the outputs.
                text = data.pop(FIGURE_MIME)
                if len(context.figures) < MAX_FIGURES:
                    cell = self.nb.cells[cell_index] if 0 <= cell_index < len(self.nb.cells) else None
                    context.figures.append((cell, text if isinstance(text, str) and len(text) <= FIGURE_BYTES
                                            else None))
            size = len(content.get("text", "")) + sum(len(str(v)) for v in content.get("data", {}).values())
            context.output_bytes += size
            if context.output_bytes > context.max_output_bytes:
                if context.output_cut_cell is None:
                    context.output_cut_cell = cell_index
                    outs.append(nbformat.v4.new_output(
                        "stream", name="stderr",
                        text=f"[autograder: output cut here: the notebook printed more than "
                             f"{context.max_output_bytes / 2**20:g} MB; the rest was discarded]\n"))
                return None
            return super().output(outs, msg, display_id, cell_index)

        async def _async_handle_timeout(self, timeout, cell=None):
            # nbclient has no public hook for a cell's timeout, and this is the only place that
            # tells one from a cell that raised (a student can raise a CellTimeoutError of their own).
            if cell is not None:
                self.context.timed_out.append(cell)
            return await super()._async_handle_timeout(timeout, cell)

    return GradingNotebookClient


@functools.cache
def _engine_class():
    from papermill.engines import NBClientEngine

    class GradingEngine(NBClientEngine):
        """nbclient engine that runs in the caller's live kernel and leaves it running."""

        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False, stdout_file=None,
                                     stderr_file=None, start_timeout=60, execution_timeout=None,
                                     context: RunContext | None = None, **kwargs):
            if context is None:
                raise GraderFault(f"the {ENGINE_NAME!r} papermill engine needs a RunContext (context=...)")
            kwargs.pop("input_path", None)
            client = _client_class()(
                nb_man, context=context, km=context.km, kernel_name=kernel_name, log=_nbclient_log,
                startup_timeout=start_timeout, timeout_func=context.cell_timeout_for,
                allow_errors=True, interrupt_on_timeout=True,
                # Output that trails a cell's reply on a loaded machine is waited for, then given
                # up on with a warning: papermill's default turns a late message into a crash.
                iopub_timeout=15, raise_on_iopub_timeout=False,
                error_on_timeout={"ename": TIMEOUT_ENAME,
                                  "evalue": "this cell ran past its time limit and was interrupted",
                                  "traceback": []},
                log_output=log_output, stdout_file=stdout_file, stderr_file=stderr_file,
                **kwargs)
            client.kc = context.kc  # already connected and ready: nbclient skips its own start
            return client.execute(cleanup_kc=False)

    return GradingEngine
