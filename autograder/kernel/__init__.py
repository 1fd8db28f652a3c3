"""The kernel: where student code runs, behind one interface.

Start a session (:class:`KernelPool` keeps the next one booting; :class:`KernelSession`),
run a notebook in it (``session.run`` -> :class:`Execution`), call the student's functions there
(:class:`KernelBridge`, plain JSON values only), interrupt it, close it. What the kernel is
confined by is a :class:`SandboxSpec`, recorded in each result (``session.sandbox_summary()``).

Modules: ``engine`` (papermill's engine and nbclient's client), ``session`` (session, pool, what
a run produced, recovery after the notebook killed its kernel), ``managers`` (the kernel-manager
interface: ordinary or forked kernels), ``forkserver`` (the zygote kernels are forked from),
``sandbox`` (the sandbox policy and its enforcement), ``bridge`` (function calls into the kernel).

Names are imported on first use, so importing this package costs nothing (the zygote, started
as ``python -m autograder.kernel.forkserver``, imports it too).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "KernelPool": "session", "KernelSession": "session", "Execution": "session", "CellProblem": "session",
    "dying_cell": "session", "can_fork": "session", "recover_kernel": "session", "kernel_env": "session",
    "matplotlib_font_cache": "session",
    "TIMEOUT_ENAME": "engine",
    "KernelManager": "managers",
    "SandboxSpec": "sandbox",
    "KernelBridge": "bridge", "CallProblem": "bridge", "CallResult": "bridge", "StudentRaised": "bridge",
    "MissingFunction": "bridge", "CallTimeout": "bridge", "KernelGone": "bridge", "Opaque": "bridge",
    "encode": "bridge", "decode": "bridge",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:
    from .bridge import (CallProblem, CallResult, CallTimeout, KernelBridge, KernelGone, MissingFunction, Opaque,
                         StudentRaised, decode, encode)
    from .engine import TIMEOUT_ENAME
    from .managers import KernelManager
    from .sandbox import SandboxSpec
    from .session import (CellProblem, Execution, KernelPool, KernelSession, can_fork, dying_cell, kernel_env,
                          matplotlib_font_cache, recover_kernel)
