"""What a kernel leaves running is found and stopped, the kernel itself spared (kernel/strays.py)."""

import os
import subprocess
import sys
import time

import pytest

from autograder.kernel import strays
from autograder.kernel.managers import unreadable_message

# A stand-in for a kernel: its own session, three lingering children, one of which escapes into a
# session of its own, and a grandchild whose parent has exited (a double fork).
KERNEL = """
import os, sys, time
os.setsid()
for _ in range(3):
    if os.fork() == 0:
        time.sleep(60); os._exit(0)
if os.fork() == 0:
    os.setsid(); time.sleep(60); os._exit(0)
if os.fork() == 0:
    if os.fork() == 0:
        time.sleep(60); os._exit(0)
    os._exit(0)
print("ready", flush=True)
time.sleep(60)
"""


@pytest.fixture
def kernel():
    proc = subprocess.Popen([sys.executable, "-c", KERNEL], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline() == "ready\n"
    time.sleep(0.2)
    yield proc
    proc.kill()
    proc.wait()


def _alive(pids):
    table = {p.pid: p for p in strays.process_table()}
    return [pid for pid in pids if pid in table and not table[pid].zombie]


def test_everything_the_kernel_left_is_stopped_and_the_kernel_kept(kernel):
    found = strays.left_behind(kernel.pid, None)
    # Three children and the double-forked grandchild share its session; the one in a session of
    # its own is still its child.
    assert len([p for p in found if not p.zombie]) == 5, found
    stopped, children = strays.stop(kernel.pid, None)
    assert stopped == 5
    # Its own children (4 forks, the double-forker already dead) are left for it to reap.
    assert len(children) == 5 and all(p in {q.pid for q in found} for p in children)
    assert _alive([p.pid for p in found]) == []
    assert kernel.poll() is None and strays.has_children(kernel.pid)  # zombies until reaped
    assert strays.stop(kernel.pid, None)[0] == 0  # nothing left to stop


def test_the_reap_code_waits_for_exactly_the_pids_it_names():
    code = strays.reap_code([12, 5])
    namespace = {}
    exec(code, namespace)  # the pids are not our children: nothing happens, nothing is left behind
    assert set(namespace) == {"__builtins__"}
    assert "[5, 12]" in code


def test_nothing_is_stopped_without_a_kernel_or_its_uid(kernel):
    assert strays.stop(None, None) == (0, [])
    assert strays.stop(-1, None) == (0, [])
    assert os.getpid() not in {p.pid for p in strays.left_behind(kernel.pid, None)}
    assert {p.pid for p in strays.left_behind(-1, 2**31 - 7)} == set()  # a uid nobody has


def test_an_unreadable_kernel_message_is_told_from_a_grader_bug():
    from jupyter_client.session import Session

    session = Session(key=b"")
    frames = [b"<IDS|MSG>", b"", b'{"msg_id": "1", "msg_type": "status"}', b"{}", b"{}", b""]
    with pytest.raises(Exception) as caught:
        session.deserialize(frames[1:], content=True)
    assert unreadable_message(caught.value)
    try:
        raise ValueError("a grader bug")
    except ValueError as exc:
        assert not unreadable_message(exc)
