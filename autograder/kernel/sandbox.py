"""The kernel sandbox: the policy one forked kernel is confined by, and its enforcement.

Policy: :class:`SandboxSpec`, built in one place (:meth:`SandboxSpec.for_kernel`) from the grading
config, the folders the kernel must not see and what the machine lets the fork server enforce
(:func:`probe_isolation`, run once by the zygote). It crosses to the fork server as a plain JSON
dict (:meth:`SandboxSpec.as_dict`, :meth:`SandboxSpec.from_dict`), and it is what each result
records under ``execution.sandbox`` (:func:`sandbox_summary`).

Enforcement, in two halves: the grader's, before the fork (:func:`prepare`: the kernel's folder is
handed to its uid; where namespaces are refused, hidden folders are closed by permissions), and
the kernel's, in the forked child while it is still root (:func:`enforce`: new mount and network
namespaces, hidden folders covered, a private /tmp, the uid dropped, resource limits set).

This module is imported by the zygote: it stays free of heavy imports.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Iterable, Mapping

if TYPE_CHECKING:
    from ..config import GradingConfig

CLONE_NEWNS, CLONE_NEWNET = 0x00020000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_BIND, MS_MOVE, MS_REC, MS_PRIVATE = 1, 2, 4, 8, 4096, 8192, 16384, 1 << 18

# A uid of its own per kernel is taken from this range (see SandboxSpec.for_kernel).
FIRST_KERNEL_UID = 100_000


# -- policy ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    """Resource limits on one kernel (``setrlimit``; soft and hard alike, CPU with a 5 s grace)."""

    address_space: int  # RLIMIT_AS, bytes: allocations beyond it raise MemoryError
    file_size: int  # RLIMIT_FSIZE, bytes
    open_files: int  # RLIMIT_NOFILE
    core: int  # RLIMIT_CORE, bytes (0: no core dumps)
    cpu_seconds: int  # RLIMIT_CPU
    processes: int | None = None  # RLIMIT_NPROC; counted per uid, so only for a kernel with a uid of its own

    # Field -> rlimit name, in the order they are applied and recorded.
    RLIMITS: ClassVar[tuple[tuple[str, str], ...]] = (
        ("address_space", "RLIMIT_AS"), ("file_size", "RLIMIT_FSIZE"), ("open_files", "RLIMIT_NOFILE"),
        ("core", "RLIMIT_CORE"), ("cpu_seconds", "RLIMIT_CPU"), ("processes", "RLIMIT_NPROC"))

    def as_dict(self) -> dict[str, int]:
        """``{"RLIMIT_AS": bytes, ...}``: what :func:`apply_limits` takes (unset limits left out)."""
        return {name: getattr(self, attr) for attr, name in self.RLIMITS if getattr(self, attr) is not None}

    @classmethod
    def from_dict(cls, limits: Mapping[str, int]) -> "Limits":
        return cls(**{attr: limits[name] for attr, name in cls.RLIMITS if name in limits})


@dataclass(frozen=True)
class SandboxSpec:
    """What one forked kernel is confined by. Build it with :meth:`for_kernel`.

    A kernel without a uid of its own (the grader is not root) can only be limited: hiding
    folders, namespaces and a private /tmp all need the kernel to drop root.
    """

    limits: Limits
    uid: int | None = None  # drop root to this uid and gid; None: the kernel runs as the grader's user
    # New mount and network namespaces: no network at all (the kernel talks to the grader over unix
    # sockets), ``hide`` covered by empty read-only mounts, and a private /tmp. Without them,
    # ``hide`` is closed by permissions (0700) instead and /tmp is shared.
    namespaces: bool = False
    hide: tuple[str, ...] = ()  # folders the kernel must not see (real paths)
    keep: tuple[str, ...] = ()  # folders under /tmp bound back into its private /tmp (its own folder)
    expose: tuple[str, ...] = ()  # the Python it runs, made reachable under a closed folder (/root)
    note: str | None = None  # why less than everything is enforced, when that is so

    def __post_init__(self) -> None:
        if self.uid is None and (self.namespaces or self.hide or self.keep or self.expose):
            raise ValueError("a sandbox without a uid of its own can only set limits: namespaces, hidden, kept "
                             "and exposed folders need the kernel to drop root")

    @classmethod
    def for_kernel(cls, config: "GradingConfig", *, kernel_dir: str, hide: Iterable[str] = (),
                   isolation: Mapping | None = None) -> "SandboxSpec | None":
        """The policy for one kernel; None when the sandbox is off.

        Args:
            kernel_dir: the kernel's own folder (HOME, working folder, connection file).
            hide: folders the kernel must not see (hidden suites, sources, results, submissions).
            isolation: what the fork server found it can enforce (:func:`probe_isolation`).
        """
        if config.sandbox == "off":
            return None
        isolation = isolation or {}
        cpu = int(config.notebook_timeout + 30 * config.call_timeout + 60)
        limits = dict(address_space=config.memory_mb * 2**20, file_size=64 * 2**20, open_files=1024, core=0,
                      cpu_seconds=cpu)
        if not isolation.get("setuid"):
            return cls(limits=Limits(**limits), note=isolation.get("reason", "no isolation"))
        # A uid of its own per kernel (from its folder's inode, unique among live folders): its
        # process limit is its own, and it can neither signal nor read another kernel's files.
        uid = FIRST_KERNEL_UID + os.stat(kernel_dir).st_ino % 2_000_000_000
        # Never hide a folder the kernel itself needs (its own folder, the Python it runs).
        needed = [os.path.realpath(kernel_dir), os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix)]
        hidden = tuple(h for h in (os.path.realpath(p) for p in hide) if os.path.isdir(h)
                       and not any(n == h or n.startswith(h + os.sep) for n in needed))
        namespaces = bool(isolation.get("namespaces"))
        return cls(limits=Limits(**limits, processes=config.max_processes), uid=uid, namespaces=namespaces,
                   hide=hidden, keep=(os.path.realpath(kernel_dir),),
                   expose=tuple(needed_paths()) if namespaces else (),
                   note=None if namespaces else isolation.get("reason", ""))

    # The summary's words for what the namespaces (or their absence) mean.
    @property
    def network(self) -> str:
        return "none" if self.namespaces else "not isolated"

    @property
    def private_tmp(self) -> bool:
        return self.namespaces

    @property
    def hidden_by(self) -> str:
        return "mount namespace" if self.namespaces else "permissions (0700)"

    def summary(self) -> dict:
        """For result.json (``execution.sandbox``): what was enforced on this kernel."""
        return {"enforced": True, "unprivileged_uid": self.uid, "network": self.network,
                "tmp": "private" if self.private_tmp else "shared", "hidden_by": self.hidden_by,
                "hidden": list(self.hide),
                "limits": {name.removeprefix("RLIMIT_").lower(): v for name, v in self.limits.as_dict().items()},
                **({"note": self.note} if self.note is not None else {})}

    def as_dict(self) -> dict:
        """The plain JSON dict the fork server receives (``"sandbox"`` in a spawn request)."""
        if self.uid is None:
            return {"limits": self.limits.as_dict(), **({"note": self.note} if self.note is not None else {})}
        return {"isolate": self.namespaces, "hide": list(self.hide), "keep": list(self.keep), "uid": self.uid,
                "expose": list(self.expose), "limits": self.limits.as_dict(),
                **({"note": self.note} if self.note is not None else {})}

    @classmethod
    def from_dict(cls, data: Mapping) -> "SandboxSpec":
        """The inverse of :meth:`as_dict`."""
        uid = data.get("uid")
        return cls(limits=Limits.from_dict(data.get("limits", {})), uid=None if uid is None else int(uid),
                   namespaces=bool(data.get("isolate")), hide=tuple(data.get("hide", ())),
                   keep=tuple(data.get("keep", ())), expose=tuple(data.get("expose", ())), note=data.get("note"))


def sandbox_summary(spec: SandboxSpec | None, config: "GradingConfig") -> dict:
    """For result.json (``execution.sandbox``): what was enforced on a kernel, or why nothing was."""
    if spec is None:
        return {"enforced": False, "why": "sandbox is off" if config.sandbox == "off"
                else "kernels are not fork-started (fork_kernels is off or unavailable)"}
    return spec.summary()


# -- enforcement: the grader's half -----------------------------------------------------------


def prepare(spec: SandboxSpec, kernel_dir: str) -> None:
    """Before the fork: the kernel's folder becomes its uid's, and where there are no namespaces
    the hidden folders are closed to everyone but their owner."""
    if spec.uid is None:
        return
    for folder, _, files in os.walk(kernel_dir):
        os.chown(folder, spec.uid, spec.uid)
        for name in files:
            os.chown(os.path.join(folder, name), spec.uid, spec.uid)
    if not spec.namespaces:
        close_to_others(spec.hide)


def close_to_others(folders: Iterable[str]) -> None:
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


# -- enforcement: the kernel's half (runs in the forked child, as root) -----------------------


def enforce(spec: SandboxSpec | None) -> None:
    """Confine the calling process (a freshly forked kernel, still root) by ``spec``."""
    import resource  # noqa: F401 (before root is dropped)

    if spec is None:
        return
    if spec.namespaces:
        isolate(list(spec.hide), list(spec.expose), list(spec.keep))
    if spec.uid is not None:
        os.setgroups([])
        os.setgid(spec.uid)
        os.setuid(spec.uid)
    apply_limits(spec.limits.as_dict())


def _libc():
    import ctypes

    return ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        import ctypes

        raise OSError(ctypes.get_errno(), f"{what} failed")


def _blocking_ancestor(path: str) -> str | None:
    """The first folder on the way to ``path`` that other users cannot enter, if any."""
    current = "/"
    for part in [p for p in path.split("/") if p]:
        current = os.path.join(current, part)
        if not os.stat(current).st_mode & 0o001:
            return current
    return None


def expose(paths: list[str]) -> None:
    """Make ``paths`` (the Python the kernel runs) reachable for an unprivileged uid when they sit
    under a closed folder (a Python installed under /root): inside this mount namespace the
    closed folder is replaced by an empty one that holds only those paths, bound back in."""
    libc = _libc()
    moves: dict[str, list[tuple[str, str]]] = {}
    for path in paths:
        blocker = _blocking_ancestor(path)
        if blocker is None or blocker == path:
            continue
        import tempfile

        staging = tempfile.mkdtemp(prefix="autograder-stage-", dir="/tmp")
        _check(libc.mount(path.encode(), staging.encode(), None, MS_BIND | MS_REC, None), f"binding {path}")
        moves.setdefault(blocker, []).append((staging, path))
    for blocker, items in moves.items():
        _check(libc.mount(b"tmpfs", blocker.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, b"size=64k,mode=0755"),
               f"covering {blocker}")
        for staging, path in items:
            os.makedirs(path, mode=0o755, exist_ok=True)
            _check(libc.mount(staging.encode(), path.encode(), None, MS_MOVE, None), f"moving {path}")
            os.rmdir(staging)


def isolate(hide: list[str], expose_paths: list[str] = (), keep: list[str] = ()) -> None:
    """New mount and network namespaces: no network at all (the kernel talks to the grader over
    unix sockets), ``hide`` (hidden suites, sources, results, other submissions) covered by
    empty read-only mounts, and ``expose_paths`` reachable. Needs root; the caller drops root
    right after."""
    libc = _libc()
    _check(libc.unshare(CLONE_NEWNS | CLONE_NEWNET), "unshare")
    _check(libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "making mounts private")
    expose(list(expose_paths))
    for path in hide:
        if os.path.isdir(path):
            _check(libc.mount(b"tmpfs", path.encode(), b"tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                              b"size=4k,mode=0555"), f"hiding {path}")
    private_tmp([*keep, *expose_paths])


def private_tmp(keep: list[str], tmp: str = "/tmp") -> None:
    """Give the kernel a fresh, empty ``/tmp`` of its own (a small tmpfs), so nothing it leaves
    there reaches the next student's kernel and nothing earlier kernels left is visible. Folders
    under ``/tmp`` it still needs (its own folder, a Python installed there) are bound back in."""
    libc = _libc()
    inside = sorted({os.path.realpath(p) for p in keep if os.path.realpath(p).startswith(tmp + os.sep)})
    handles = [(path, os.open(path, os.O_PATH | os.O_DIRECTORY)) for path in inside]
    _check(libc.mount(b"tmpfs", tmp.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, b"size=256m,mode=1777"),
           "a private /tmp")
    for path, fd in handles:
        os.makedirs(path, mode=0o755, exist_ok=True)
        _check(libc.mount(f"/proc/self/fd/{fd}".encode(), path.encode(), None, MS_BIND | MS_REC, None),
               f"keeping {path}")
        os.close(fd)


def needed_paths() -> list[str]:
    """What a kernel must still read after dropping root: the interpreter and its environment."""
    return sorted({os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)})


def apply_limits(limits: Mapping[str, int]) -> None:
    import resource

    for name, value in limits.items():
        which = getattr(resource, name)
        resource.setrlimit(which, (int(value), int(value)) if name != "RLIMIT_CPU" else (int(value), int(value) + 5))


def _try_in_child(step) -> bool:
    pid = os.fork()
    if pid == 0:  # pragma: no cover
        try:
            step()
            os._exit(0)
        except BaseException:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def _drop_to_nobody() -> None:
    os.setgid(65534)
    os.setuid(65534)
    with open(os.__file__, "rb"):  # the standard library is still readable
        pass


def probe_isolation() -> dict:
    """What this machine lets the zygote enforce (tried in throw-away children). In a container
    without CAP_SYS_ADMIN (Docker's default, SageMaker's) namespaces are refused but dropping to
    another uid still works, and is kept."""
    if os.geteuid() != 0:
        return {"namespaces": False, "setuid": False, "reason": "not running as root"}
    if _try_in_child(lambda: (isolate([], needed_paths()), _drop_to_nobody())):
        return {"namespaces": True, "setuid": True, "reason": ""}
    if _try_in_child(_drop_to_nobody):
        return {"namespaces": False, "setuid": True,
                "reason": "unshare or mount refused (a container without CAP_SYS_ADMIN): hidden folders are "
                          "closed by permissions instead, and there is no private network or /tmp"}
    return {"namespaces": False, "setuid": False, "reason": "unshare, mount and setuid refused"}
