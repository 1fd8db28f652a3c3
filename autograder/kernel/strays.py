"""Processes a kernel started and left running: found, stopped and reaped.

Student code can fork, start subprocesses or daemons, and leave them running after its cell has
finished. Left alone they keep the kernel's process quota (``RLIMIT_NPROC`` counts every process
and thread of the kernel's uid, zombies included) full, so the kernel itself can no longer start
a thread, a later cell fails for no fault of its own, and the kernel may even send the grader
truncated messages. So after every cell, and after every call the judge makes, the grader stops
what the kernel left behind: everything in the kernel's session or process group, every
descendant of the kernel, and, where the kernel has a uid of its own (the grader runs as root),
every process of that uid, which a student cannot escape by ``setsid`` or a double fork. The
kernel itself keeps running. The ones that were the kernel's own children stay zombies until
their parent waits for them, and a zombie still counts against the quota, so the kernel is then
asked to reap exactly those (:func:`reap_code`).

Everything here reads ``/proc`` (Linux); elsewhere there is nothing to find and nothing is done.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    pgrp: int
    session: int
    uid: int
    zombie: bool


def process_table() -> list[Proc]:
    """Every process the grader can see (threads excluded)."""
    try:
        names = os.listdir("/proc")
    except OSError:
        return []
    table = []
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                data = f.read()
            uid = os.stat(f"/proc/{name}").st_uid
            fields = data.rsplit(b")", 1)[1].split()
            table.append(Proc(pid=int(name), ppid=int(fields[1]), pgrp=int(fields[2]), session=int(fields[3]),
                              uid=uid, zombie=fields[0] in (b"Z", b"X")))
        except (OSError, IndexError, ValueError):
            continue  # gone while we looked
    return table


def left_behind(kernel_pid: int, uid: int | None, table: list[Proc] | None = None) -> list[Proc]:
    """The processes (live or zombie) that belong to the kernel, the kernel itself excluded."""
    table = process_table() if table is None else table
    parent = {p.pid: p.ppid for p in table}
    me = os.getpid()

    def descends(pid: int) -> bool:
        seen = 0
        while pid > 1 and seen < 4096:
            pid = parent.get(pid, 0)
            if pid == kernel_pid:
                return True
            seen += 1
        return False

    return [p for p in table if p.pid not in (kernel_pid, me) and
            (p.session == kernel_pid or p.pgrp == kernel_pid or (uid is not None and p.uid == uid)
             or descends(p.pid))]


def has_children(kernel_pid: int) -> bool:
    """Whether the kernel has a child process, live or zombie (a cheap look: one small file per
    kernel thread). Grandchildren whose parent already exited are not seen here."""
    try:
        tasks = os.listdir(f"/proc/{kernel_pid}/task")
    except OSError:
        return False
    for tid in tasks:
        try:
            with open(f"/proc/{kernel_pid}/task/{tid}/children", "rb") as f:
                if f.read().strip():
                    return True
        except OSError:
            continue
    return False


def stop(kernel_pid: int | None, uid: int | None, *, rounds: int = 50) -> tuple[int, list[int]]:
    """SIGKILL everything the kernel left behind, until nothing of it is left running.

    Call it while the kernel is alive (its pid is then its own), or with ``kernel_pid=-1`` and
    the kernel's own uid once it is gone.

    Returns:
        (how many live processes were stopped, the pids of the kernel's own children among them
        or already zombies, which only the kernel can reap).
    """
    if not kernel_pid or (kernel_pid < 0 and uid is None):  # -1: no kernel left, only its uid
        return 0, []
    stopped: set[int] = set()
    children: set[int] = set()
    for _ in range(rounds):  # a fork bomb forks between our look and our kill: look again
        found = left_behind(kernel_pid, uid)
        children.update(p.pid for p in found if p.ppid == kernel_pid)
        alive = [p for p in found if not p.zombie]
        if not alive:
            break
        for p in alive:
            try:
                os.kill(p.pid, signal.SIGKILL)
                stopped.add(p.pid)
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.005)
    return len(stopped), sorted(children)


def reap_code(pids: list[int]) -> str:
    """Code the kernel runs (in a namespace of its own, not the student's) to reap its dead
    children: waiting for exactly these pids leaves any other child's status alone, and never
    blocks (one still dying is reaped at the next look)."""
    body = (f"import os as _o\nfor _p in {sorted(int(p) for p in pids)!r}:\n"
            "    try:\n        _o.waitpid(_p, _o.WNOHANG)\n    except (ChildProcessError, OSError):\n        pass\n")
    return f"exec({body!r}, {{}})"
