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


def _child(request: dict) -> None:  # pragma: no cover (runs in the forked kernel)
    os.setsid()  # its own session and process group: killed as a group, interrupted alone
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
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
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # kernels are reaped automatically
    out = sys.stdout
    sys.stdout.write(json.dumps({"ready": os.getpid()}) + "\n")
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
            try:
                _child(request)
            finally:
                os._exit(0)
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

    def spawn(self, *, connection_file: str, cwd: str, env: dict[str, str], arguments: list[str]) -> int:
        """Fork a kernel; return its pid."""
        if not self.alive():
            raise GraderFault("the kernel fork server is not running")
        request = {"connection_file": connection_file, "cwd": cwd, "env": {**self.env, **env},
                   "arguments": arguments}
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
                 arguments: list[str], runtime_dir: str):
        from jupyter_client.connect import write_connection_file

        self.kernel_name = kernel_name
        self.connection_file = os.path.join(runtime_dir, "kernel.json")
        self.connection_file, self.info = write_connection_file(self.connection_file, ip="127.0.0.1")
        self.pid = server.spawn(connection_file=self.connection_file, cwd=cwd, env=env, arguments=arguments)

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
