"""The one interface a kernel session drives its kernel through, whichever way it was started.

Two implementations: :class:`~autograder.kernel.forkserver.ForkedKernelManager` (a kernel forked
from the zygote, sandboxed) and :class:`JupyterKernelManager` (a kernel started the ordinary way
by jupyter_client, as its own process). nbclient, running the notebook, is handed the same object
as its ``km``: the few coroutines it calls on one (``is_alive``, ``interrupt_kernel``,
``shutdown_kernel``, ``cleanup_resources``, and ``has_kernel``) are part of the interface too.
"""

from __future__ import annotations

import abc
import logging
import os
import signal
import subprocess

log = logging.getLogger(__name__)


def unreadable_message(exc: BaseException) -> bool:
    """Whether ``exc`` is jupyter_client failing to read a message from the kernel (an empty or
    cut-off frame, a bad signature): the kernel's fault, for instance a kernel out of processes
    or memory, never the grader's. Told apart from a grader bug by where it was raised."""
    tb = exc.__traceback__
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename.replace("\\", "/")
        if "/jupyter_client/session.py" in name or "/jupyter_client/jsonutil.py" in name:
            return True
        tb = tb.tb_next
    return False


class KernelManager(abc.ABC):
    """What a session needs of the manager of its one kernel."""

    @property
    @abc.abstractmethod
    def pid(self) -> int | None:
        """The kernel's process id (None once it is gone from its manager)."""

    @abc.abstractmethod
    def start_error(self) -> str:
        """Why the kernel failed to start, if it said ("" otherwise)."""

    @abc.abstractmethod
    def alive(self) -> bool:
        """Whether the kernel process is still running."""

    @abc.abstractmethod
    def interrupt(self) -> None:
        """SIGINT to the kernel: stop what it is running, keep it alive."""

    @abc.abstractmethod
    def kill(self) -> None:
        """End the kernel (and what it started) now; safe to call on a dead kernel."""

    # The uid only this kernel runs as (a sandboxed kernel of a root grader), or None.
    own_uid: int | None = None

    def stop_strays(self) -> tuple[int, list[int]]:
        """Stop every process the kernel started and left running (the kernel keeps running).

        Returns what :func:`~autograder.kernel.strays.stop` does: how many were stopped, and the
        kernel's own dead children, which the kernel must reap (``strays.reap_code``).
        """
        from . import strays

        return strays.stop(self.pid, self.own_uid)

    @abc.abstractmethod
    def connection_info(self) -> dict:
        """The kernel's connection info (``key`` as bytes), for another client (the judge's)."""

    @abc.abstractmethod
    def client(self):
        """A new, unconnected AsyncKernelClient for this kernel."""

    # What nbclient calls on its ``km`` while running a notebook: by default, the same as above.

    has_kernel = True

    async def is_alive(self) -> bool:
        return self.alive()

    async def interrupt_kernel(self) -> None:
        self.interrupt()

    async def shutdown_kernel(self, now: bool = True, restart: bool = False) -> None:
        self.kill()

    async def cleanup_resources(self, restart: bool = False) -> None:
        pass


class JupyterKernelManager(KernelManager):
    """A kernel started the ordinary way, by jupyter_client's AsyncKernelManager."""

    def __init__(self, kernel_name: str):
        from jupyter_client.manager import AsyncKernelManager

        self.km = AsyncKernelManager(kernel_name=kernel_name)

    def start(self, *, cwd: str, env: dict[str, str], extra_arguments: list[str]) -> None:
        """Start the kernel; raises what jupyter_client raised if it could not (``kill`` still
        cleans up after a failed start)."""
        from jupyter_core.utils import run_sync

        # The kernel's own stdout/stderr (not the notebook's outputs, which travel as messages)
        # would otherwise land on the grader's terminal.
        run_sync(self.km.start_kernel)(cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                       extra_arguments=extra_arguments)

    def _process(self):
        return getattr(self.km.provisioner, "process", None)

    @property
    def pid(self) -> int | None:
        return getattr(self._process(), "pid", None)

    def start_error(self) -> str:
        return ""  # jupyter_client keeps no record of why; the caller says what it saw

    def alive(self) -> bool:
        process = self._process()
        return process is not None and process.poll() is None

    def interrupt(self) -> None:
        pid = self.pid
        if pid is not None:
            try:
                os.kill(pid, signal.SIGINT)
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        from jupyter_core.utils import run_sync

        process = self._process()
        if process is not None and process.poll() is None:
            self.stop_strays()  # what it started dies with it (while its pid is still its own)
        try:
            run_sync(self.km.shutdown_kernel)(now=True)
        except Exception as exc:  # the kernel may already be gone
            log.debug("kernel shutdown: %s", exc)
        if process is not None and process.poll() is None:
            process.kill()

    def connection_info(self) -> dict:
        return self.km.get_connection_info(session=False)

    def client(self):
        return self.km.client()

    # nbclient drives jupyter_client's own manager, as it would without us.

    @property
    def has_kernel(self) -> bool:
        return self.km.has_kernel

    async def is_alive(self) -> bool:
        return await self.km.is_alive()

    async def interrupt_kernel(self) -> None:
        await self.km.interrupt_kernel()

    async def shutdown_kernel(self, now: bool = True, restart: bool = False) -> None:
        await self.km.shutdown_kernel(now=now, restart=restart)

    async def cleanup_resources(self, restart: bool = False) -> None:
        await self.km.cleanup_resources(restart=restart)
