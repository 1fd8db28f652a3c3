"""Fork-started kernels: a zygote process imports ipykernel, numpy and matplotlib once, then
forks one fresh kernel per submission.

A normal kernel start pays for the Python start-up and those imports (about two seconds of CPU
here) every time. A forked kernel inherits them and only initialises its kernel app. Isolation
is unchanged: the zygote never runs student code, every kernel is a new child of it with its
own session, working folder, environment and connection file, and no kernel is ever reused.

Protocol: the grader writes one JSON request per line to the zygote's stdin
(``{"connection_file", "cwd", "env"}``) and reads one JSON line back (``{"pid"}`` or
``{"error"}``). The zygote exits at end of input; its kernels watch it and exit with it.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

from .errors import GraderFault

PRELOAD = ("numpy", "matplotlib", "matplotlib.pyplot", "matplotlib_inline.backend_inline",
           "ipykernel.kernelapp", "ipykernel.ipkernel", "IPython", "zmq")


CLONE_NEWNS, CLONE_NEWNET = 0x00020000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_BIND, MS_MOVE, MS_REC, MS_PRIVATE = 1, 2, 4, 8, 4096, 8192, 16384, 1 << 18


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


def apply_limits(limits: dict) -> None:
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


def _child(request: dict) -> None:  # pragma: no cover (runs in the forked kernel)
    os.setsid()  # its own session and process group: killed as a group, interrupted alone
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    sandbox = request.get("sandbox") or {}
    import resource  # noqa: F401 (before root is dropped)

    if sandbox.get("isolate"):
        isolate(sandbox.get("hide", []), needed_paths(), sandbox.get("keep", []))
    if sandbox.get("uid") is not None:
        uid = int(sandbox["uid"])
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    apply_limits(sandbox.get("limits", {}))
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    zygote = os.getppid()
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()
    # parent_handle: the kernel exits when the zygote does (its trait default was read at import).
    app.initialize(["-f", request["connection_file"], f"--IPKernelApp.parent_handle={zygote}",
                    *request.get("arguments", [])])
    app.start()


def zygote_main() -> None:  # pragma: no cover (runs as the zygote process)
    import importlib

    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception:
            pass
    isolation = probe_isolation()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # kernels are reaped automatically
    out = sys.stdout
    sys.stdout.write(json.dumps({"ready": os.getpid(), "isolation": isolation}) + "\n")
    sys.stdout.flush()
    for line in sys.stdin:
        try:
            request = json.loads(line)
        except ValueError:
            out.write(json.dumps({"error": "bad request"}) + "\n")
            out.flush()
            continue
        pid = os.fork()
        if pid == 0:
            code = 0
            # Opened before the child drops root: why a kernel failed to start reaches the grader.
            report = os.open(request["error_file"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600) \
                if request.get("error_file") else None
            try:
                _child(request)
            except BaseException as exc:
                code = 70  # never becomes ready: the grader reports the kernel did not start
                if report is not None:
                    os.write(report, f"{type(exc).__name__}: {exc}".encode()[:2000])
            finally:
                os._exit(code)
        out.write(json.dumps({"pid": pid}) + "\n")
        out.flush()


class ForkServer:
    """The grader's handle on one zygote (one per worker process)."""

    def __init__(self, env: dict[str, str], *, startup_timeout: float = 60.0):
        zygote_env = {**env, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        self.process = subprocess.Popen([sys.executable, "-m", "autograder.forkserver"], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=zygote_env,
                                        cwd=env.get("HOME", "/"), text=True, bufsize=1)
        reply = self._read(startup_timeout)
        if "ready" not in reply:
            self.close()
            raise GraderFault(f"the kernel fork server did not start: {reply}")
        self.env = zygote_env
        self.isolation = reply.get("isolation", {})

    def _read(self, timeout: float) -> dict:
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        if not ready:
            return {"error": f"no answer within {timeout:g} s"}
        line = self.process.stdout.readline()
        if not line:
            return {"error": f"the fork server exited (status {self.process.poll()})"}
        try:
            return json.loads(line)
        except ValueError:
            return {"error": f"unreadable answer {line[:80]!r}"}

    def alive(self) -> bool:
        return self.process.poll() is None

    def spawn(self, *, connection_file: str, cwd: str, env: dict[str, str], arguments: list[str],
              sandbox: dict | None = None) -> int:
        """Fork a kernel; return its pid."""
        if not self.alive():
            raise GraderFault("the kernel fork server is not running")
        request = {"connection_file": connection_file, "cwd": cwd, "env": {**self.env, **env},
                   "arguments": arguments, "sandbox": sandbox or {},
                   "error_file": os.path.join(os.path.dirname(connection_file), "kernel-start-error.txt")}
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        reply = self._read(30.0)
        if "pid" not in reply:
            raise GraderFault(f"the kernel fork server could not start a kernel: {reply.get('error')}")
        return int(reply["pid"])

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                self.process.stdin.close()
                self.process.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is dead for our purposes
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


class ForkedKernelManager:
    """The part of a kernel manager that nbclient and the judge use, for a forked kernel."""

    has_kernel = True

    def __init__(self, server: ForkServer, *, kernel_name: str, cwd: str, env: dict[str, str],
                 arguments: list[str], runtime_dir: str, sandbox: dict | None = None):
        from jupyter_client.connect import write_connection_file

        self.kernel_name = kernel_name
        self.connection_file = os.path.join(runtime_dir, "kernel.json")
        # Unix sockets, not TCP: they work from inside a kernel's own (empty) network namespace.
        self.connection_file, self.info = write_connection_file(
            self.connection_file, transport="ipc", ip=os.path.join(runtime_dir, "kernel-ipc"))
        uid = (sandbox or {}).get("uid")
        if uid is not None:
            os.chown(self.connection_file, uid, uid)
        self.pid = server.spawn(connection_file=self.connection_file, cwd=cwd, env=env, arguments=arguments,
                                sandbox=sandbox)

    def get_connection_info(self, session: bool = False) -> dict:
        info = dict(self.info)
        if isinstance(info.get("key"), str):
            info["key"] = info["key"].encode()
        return info

    def client(self):
        from jupyter_client.asynchronous import AsyncKernelClient

        kc = AsyncKernelClient()
        kc.load_connection_info(self.get_connection_info())
        return kc

    def alive(self) -> bool:
        return pid_alive(self.pid)

    def start_error(self) -> str:
        """Why the forked kernel failed to start, if it said."""
        try:
            with open(os.path.join(os.path.dirname(self.connection_file), "kernel-start-error.txt")) as f:
                return f.read().strip()
        except OSError:
            return ""

    async def is_alive(self) -> bool:
        return self.alive()

    async def interrupt_kernel(self) -> None:
        self.interrupt()

    def interrupt(self) -> None:
        try:
            os.kill(self.pid, signal.SIGINT)
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        for target in (lambda: os.killpg(self.pid, signal.SIGKILL), lambda: os.kill(self.pid, signal.SIGKILL)):
            try:
                target()
            except (ProcessLookupError, PermissionError):
                pass
        deadline = time.monotonic() + 2
        while pid_alive(self.pid) and time.monotonic() < deadline:
            time.sleep(0.01)
        try:
            os.unlink(self.connection_file)
        except OSError:
            pass

    async def shutdown_kernel(self, now: bool = True, restart: bool = False) -> None:
        self.kill()

    async def cleanup_resources(self, restart: bool = False) -> None:
        pass


if __name__ == "__main__":  # pragma: no cover
    zygote_main()
