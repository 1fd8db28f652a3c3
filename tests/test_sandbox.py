"""The kernel sandbox: what student code can and cannot do (as root, the way CI runs)."""

import os
import sys
from pathlib import Path

import pytest

from autograder.config import GradingConfig
from autograder.kernel import KernelPool
from autograder.grade import hidden_paths
from autograder.course import load_lab

from test_execute import notebook, stdout

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def sandboxed(tmp_path):
    lab = load_lab("linreg", REPO)
    out, subs = tmp_path / "out", tmp_path / "submitted"
    out.mkdir()
    subs.mkdir()
    (out / "result.json").write_text("{}")
    config = GradingConfig(workers=1, cell_timeout=15, notebook_timeout=60, memory_mb=2048, max_processes=48)
    pool = KernelPool(config, warm=False, hide=hidden_paths(lab, out, subs))
    session = pool.take()
    if session.sandbox is None or session.sandbox.uid is None:
        session.close()
        pool.close()
        pytest.skip(f"no isolation on this machine: {session.sandbox_summary()}")
    yield session, lab, out
    session.close()
    pool.close()


def test_student_code_runs_unprivileged_without_network_or_course_files(sandboxed):
    session, lab, out = sandboxed
    ran = session.run(notebook(
        "import os\nprint(os.getuid() != 0, os.getuid() == os.getgid())",
        "def peek(path):\n    try:\n        return len(os.listdir(path))\n    except OSError as e:\n"
        "        return type(e).__name__\n"
        f"print(peek({str(lab.suite.parent.parent.parent)!r}), peek({str(out)!r}), "
        f"peek({str(lab.course_root / 'source')!r}), peek({str(lab.course_root / '.git')!r}))",
        "import socket\ntry:\n    socket.create_connection(('127.0.0.1', 22), timeout=2)\n    print('connected')\n"
        "except OSError as e:\n    print('no network', type(e).__name__)",
        f"try:\n    open({str(lab.suite)!r}).read()\n    print('read the suite')\nexcept OSError as e:\n"
        "    print('cannot read', type(e).__name__)",
        "import numpy as np\nprint(np.arange(3).sum())"))
    assert stdout(ran, 0) == "True True\n"
    engine, results, sources, history = stdout(ran, 1).split()
    # Hidden: empty mounts, or not there at all when the checkout lives under /tmp (private /tmp).
    assert engine in ("0", "FileNotFoundError") and sources in ("0", "FileNotFoundError")
    assert history in ("0", "FileNotFoundError")
    assert results in ("0", "PermissionError", "FileNotFoundError")  # hidden, or gone with the private /tmp
    assert stdout(ran, 2).startswith("no network")
    assert stdout(ran, 3) == "cannot read FileNotFoundError\n"
    assert stdout(ran, 4) == "3\n"
    summary = session.sandbox_summary()
    assert summary["enforced"] and summary["network"] == "none"
    assert str(lab.suite.parent.parent.parent) in summary["hidden"]


def test_memory_and_fork_bombs_hit_their_limits(sandboxed):
    session, lab, out = sandboxed
    ran = session.run(notebook(
        "import numpy as np\ntry:\n    x = np.ones(10**10)\n    print('allocated')\nexcept MemoryError:\n"
        "    print('MemoryError')",
        "import os\nchildren = 0\ntry:\n    for _ in range(500):\n        pid = os.fork()\n        if pid == 0:\n"
        "            import time; time.sleep(30); os._exit(0)\n        children += 1\nexcept OSError as e:\n"
        "    print('fork refused after', children < 100, type(e).__name__)"))
    assert stdout(ran, 0) == "MemoryError\n"
    assert stdout(ran, 1) == "fork refused after True BlockingIOError\n"
    bomb_pid = session.kernel_pid
    session.close()  # kills the kernel's whole process group, the bomb's children with it
    left = [l for l in os.popen("ps -eo pid,stat,user,cmd").read().splitlines()[1:] if l.split()[0] == str(bomb_pid)]
    assert left == [] or left[0].split()[1].startswith("Z"), left
    config = session.config
    pool = KernelPool(config, warm=False, hide=hidden_paths(lab, out, out))
    try:
        fresh = pool.take()
        after = fresh.run(notebook("print('the next submission is unaffected')"))
        fresh.close()
    finally:
        pool.close()
    assert stdout(after, 0) == "the next submission is unaffected\n"


def python_under_tmp() -> set[str]:
    """Top folders of /tmp that hold the Python the kernel runs (a checkout cloned under /tmp):
    the only things bound back into a kernel's private /tmp besides its own folder."""
    found = set()
    for prefix in {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}:
        if prefix.startswith("/tmp/"):
            found.add(prefix.split("/")[2])
    return found


def test_each_kernel_has_a_private_tmp(sandboxed):
    """A file left in /tmp by one student's kernel never reaches the grader's /tmp or the next
    student's kernel (two colluding students cannot pass code through it)."""
    session, lab, out = sandboxed
    planted = f"/tmp/autograder-planted-{os.getpid()}"
    ran = session.run(notebook(
        f"import os\nopen({planted!r}, 'w').write('answers')\n"
        "own = os.path.relpath(os.path.dirname(os.getcwd()), '/tmp')\n"
        f"print(set(os.listdir('/tmp')) - {{own, {os.path.basename(planted)!r}}} <= {python_under_tmp()!r} "
        "or os.listdir('/tmp'))",
        "import os\nprint(os.path.isdir(os.getcwd()), os.access(os.getcwd(), os.W_OK))"))
    # Only its own folder and its own file: no other kernel's folder, none of the grader's files.
    assert stdout(ran, 0) == "True\n", stdout(ran, 0)
    assert stdout(ran, 1) == "True True\n"  # its working folder (under the real /tmp) is still there
    assert not os.path.exists(planted)
    assert session.sandbox_summary()["tmp"] == "private"
    pool = KernelPool(session.config, warm=False, hide=hidden_paths(lab, out, out))
    try:
        nxt = pool.take()
        after = nxt.run(notebook(f"import os\nprint(os.path.exists({planted!r}))"))
        nxt.close()
    finally:
        pool.close()
    assert stdout(after, 0) == "False\n"
