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


def _client_class():
    from papermill.clientwrap import PapermillNotebookClient

    class GradingNotebookClient(PapermillNotebookClient):
        """papermill's client with a notebook deadline and a record of timed-out cells."""

        def __init__(self, nb_man, *, deadline: float, max_output_bytes: int, **kw):
            super().__init__(nb_man, **kw)
            self.deadline = deadline
            self.max_output_bytes = max_output_bytes
            self.output_bytes = 0
            self.output_cut_cell: int | None = None
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

        def output(self, outs, msg, display_id, cell_index):
            # Everything a notebook prints is held by the grader; past the cap it is dropped
            # (with one note in place), so a flood costs the student output, not grader memory.
            content = msg.get("content", {})
            if msg.get("msg_type") == "error":
                # An error is how the result knows the cell failed: never dropped past the cap, only
                # clipped (an exception can carry a message of any size).
                content["evalue"] = str(content.get("evalue", ""))[:2000]
                content["traceback"] = [str(line)[:2000] for line in content.get("traceback", [])[-40:]]
                return super().output(outs, msg, display_id, cell_index)
            size = len(content.get("text", "")) + sum(len(str(v)) for v in content.get("data", {}).values())
            self.output_bytes += size
            if self.output_bytes > self.max_output_bytes:
                if self.output_cut_cell is None:
                    self.output_cut_cell = cell_index
                    outs.append(nbformat.v4.new_output(
                        "stream", name="stderr",
                        text=f"[autograder: output cut here: the notebook printed more than "
                             f"{self.max_output_bytes / 2**20:g} MB; the rest was discarded]\n"))
                return None
            return super().output(outs, msg, display_id, cell_index)

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
                nb_man, km=session.km, deadline=session.deadline,
                max_output_bytes=int(session.config.max_output_mb * 2**20), kernel_name=kernel_name, log=_nbclient_log,
                startup_timeout=start_timeout, timeout_func=session.cell_timeout_for,
                allow_errors=True, interrupt_on_timeout=True,
                # Output that trails a cell's reply on a loaded machine is waited for, then given
                # up on with a warning: papermill's default turns a late message into a crash.
                iopub_timeout=15, raise_on_iopub_timeout=False,
                error_on_timeout={"ename": TIMEOUT_ENAME,
                                  "evalue": "this cell ran past its time limit and was interrupted",
                                  "traceback": []},
                log_output=log_output, stdout_file=stdout_file, stderr_file=stderr_file,
                **kwargs)
            client.kc = session.kc  # already connected and ready: nbclient skips its own start
            session.client = client
            return client.execute(cleanup_kc=False)

    return GradingEngine


def _close_to_others(folders: list[str]) -> None:
    """Where namespaces are refused (a container) but kernels still run under a uid of their own:
    hide folders by permissions instead, owner (root, the grader) only. Folders of the grader's
    own making (results, the course bundle) are closed; the change is recorded in result.json."""
    for folder in folders:
        try:
            mode = os.stat(folder).st_mode & 0o777
            if mode & 0o077:
                os.chmod(folder, mode & 0o700)
        except OSError:
            pass


def _register_engine() -> None:
    from papermill.engines import papermill_engines

    if ENGINE_NAME not in papermill_engines._engines:
        papermill_engines.register(ENGINE_NAME, _engine_class())


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
        self.sandbox: dict = {}
        self.client = None
        self.km = None
        self.kc = None
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
        from jupyter_client.manager import AsyncKernelManager
        from jupyter_core.utils import run_sync

        if self.server is not None:
            from .forkserver import ForkedKernelManager

            self.sandbox = self._sandbox()
            self.km = ForkedKernelManager(self.server, kernel_name=self.config.kernel_name, cwd=str(self.workdir),
                                          env=self.kernel_env(), arguments=[], runtime_dir=self._tmp,
                                          sandbox=self.sandbox)
            return
        self.km = AsyncKernelManager(kernel_name=self.config.kernel_name)
        try:
            # The kernel's own stdout/stderr (not the notebook's outputs, which travel as
            # messages) would otherwise land on the grader's terminal.
            run_sync(self.km.start_kernel)(cwd=str(self.workdir), env=self.kernel_env(),
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                           extra_arguments=[f"--IPKernelApp.exec_lines={[PRELOAD_LINE]!r}"])
        except Exception as exc:
            raise GraderFault(f"the kernel {self.config.kernel_name!r} did not start: {exc}") from None

    def _sandbox(self) -> dict:
        """What the forked kernel is confined by (see forkserver.isolate and apply_limits)."""
        if self.config.sandbox == "off":
            return {}
        cpu = int(self.config.notebook_timeout + 30 * self.config.call_timeout + 60)
        limits = {"RLIMIT_AS": self.config.memory_mb * 2**20, "RLIMIT_FSIZE": 64 * 2**20,
                  "RLIMIT_NOFILE": 1024, "RLIMIT_CORE": 0, "RLIMIT_CPU": cpu}
        isolation = getattr(self.server, "isolation", {})
        if not isolation.get("setuid"):
            return {"limits": limits, "note": isolation.get("reason", "no isolation")}
        # A uid of its own per kernel (from its folder's inode, unique among live folders): its
        # process limit is its own, and it can neither signal nor read another kernel's files.
        uid = 100_000 + os.stat(self._tmp).st_ino % 2_000_000_000
        for folder, _, files in os.walk(self._tmp):
            os.chown(folder, uid, uid)
            for name in files:
                os.chown(os.path.join(folder, name), uid, uid)
        limits["RLIMIT_NPROC"] = self.config.max_processes
        # Never hide a folder the kernel itself needs (its own folder, the Python it runs).
        needed = [os.path.realpath(self._tmp), os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix)]
        hide = [h for h in (os.path.realpath(p) for p in self.hide) if os.path.isdir(h)
                and not any(n == h or n.startswith(h + os.sep) for n in needed)]
        namespaces = bool(isolation.get("namespaces"))
        if not namespaces:
            _close_to_others(hide)
        return {"isolate": namespaces, "hide": hide, "keep": [os.path.realpath(self._tmp)],
                "uid": uid, "limits": limits,
                **({"note": isolation.get("reason", "")} if not namespaces else {})}

    def sandbox_summary(self) -> dict:
        """For result.json: what was enforced on this kernel."""
        if not self.sandbox:
            return {"enforced": False, "why": "sandbox is off" if self.config.sandbox == "off"
                    else "kernels are not fork-started (fork_kernels is off or unavailable)"}
        return {"enforced": True, "unprivileged_uid": self.sandbox.get("uid"),
                "network": "none" if self.sandbox.get("isolate") else "not isolated",
                "tmp": "private" if self.sandbox.get("isolate") else "shared",
                "hidden_by": "mount namespace" if self.sandbox.get("isolate") else "permissions (0700)",
                "hidden": self.sandbox.get("hide", []),
                "limits": {k.removeprefix("RLIMIT_").lower(): v for k, v in self.sandbox.get("limits", {}).items()},
                **({"note": self.sandbox["note"]} if "note" in self.sandbox else {})}

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
                why = self.km.start_error() if hasattr(self.km, "start_error") else ""
                raise GraderFault(f"the kernel did not become ready within {self.config.startup_timeout:g} s: "
                                  f"{why or exc}") from None
            self.kc.allow_stdin = False
        return time.monotonic() - started

    def cell_timeout_for(self, cell) -> float:
        remaining = self.deadline - time.monotonic()
        return max(0.5, min(self.config.cell_timeout, remaining))

    def kernel_env(self) -> dict[str, str]:
        return kernel_env(Path(self._tmp))

    def run(self, nb: nbformat.NotebookNode, *, partial_path: Path | None = None,
            parameters: dict | None = None) -> Execution:
        """Execute ``nb`` with papermill; return it executed, with its problems listed.

        Args:
            parameters: papermill parameters, injected after the cell tagged ``parameters``.
        """
        import papermill
        from nbclient.exceptions import DeadKernelError

        _register_engine()
        self.wait_ready()
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
            if self.client is None:
                raise GraderFault(f"papermill could not run the notebook: {exc}") from None
            alive = False
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
        if self.client.output_cut_cell is not None:
            problems.append(CellProblem(self.client.output_cut_cell, "output_cut", "OutputLimit",
                                        f"more than {self.config.max_output_mb:g} MB of output"))
        if alive and not self.kernel_alive():
            alive = False
        if not alive:
            problems.append(CellProblem(dying_cell(executed), "kernel_died", "DeadKernelError",
                                        "the kernel process exited"))
        problems.sort(key=lambda p: p.cell)
        return Execution(notebook=executed, problems=problems, kernel_alive=alive,
                         seconds_run=time.monotonic() - started)

    # The judge's view of the kernel ---------------------------------------------------------

    def _process(self):
        return getattr(getattr(self.km, "provisioner", None), "process", None)

    @property
    def kernel_pid(self) -> int | None:
        if hasattr(self.km, "pid"):
            return self.km.pid
        return getattr(self._process(), "pid", None)

    def kernel_alive(self) -> bool:
        if hasattr(self.km, "alive"):
            return self.km.alive()
        process = self._process()
        return process is not None and process.poll() is None

    def interrupt(self) -> None:
        pid = self.kernel_pid
        if pid is not None and self.kernel_alive():
            try:
                os.kill(pid, signal.SIGINT)
            except ProcessLookupError:
                pass

    def connection_info(self) -> dict:
        return self.km.get_connection_info(session=False)

    def close(self) -> None:
        from jupyter_core.utils import run_sync

        self.client = None
        kc, self.kc = self.kc, None
        if kc is not None:
            try:
                kc.stop_channels()
            except Exception as exc:  # already closed
                log.debug("kernel client: %s", exc)
        km, self.km = self.km, None
        if km is not None and hasattr(km, "kill"):
            km.kill()
        elif km is not None:
            process = getattr(getattr(km, "provisioner", None), "process", None)
            try:
                run_sync(km.shutdown_kernel)(now=True)
            except Exception as exc:  # the kernel may already be gone
                log.debug("kernel shutdown: %s", exc)
            if process is not None and process.poll() is None:
                process.kill()
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
