"""The kernel's one interface: the sandbox spec, the kernel-manager interface, and a notebook run
that gives the same result whichever way its kernel was started."""

import json
import os
import resource
import stat
import time

import nbformat
import pytest

from autograder import execute
from autograder.config import GradingConfig
from autograder.kernel import KernelManager, KernelPool, SandboxSpec, TIMEOUT_ENAME, can_fork
from autograder.kernel.engine import RunContext
from autograder.kernel.forkserver import ForkedKernelManager
from autograder.kernel.managers import JupyterKernelManager
from autograder.kernel.sandbox import Limits, enforce, needed_paths, prepare

CONFIG = GradingConfig(workers=1, cell_timeout=10, notebook_timeout=30, call_timeout=5, memory_mb=1024,
                       max_processes=32)
LIMITS = {"RLIMIT_AS": 1024 * 2**20, "RLIMIT_FSIZE": 64 * 2**20, "RLIMIT_NOFILE": 1024, "RLIMIT_CORE": 0,
          "RLIMIT_CPU": 240}  # cpu: notebook_timeout 30 + 30 calls x 5 s + 60
WITH_NAMESPACES = {"namespaces": True, "setuid": True, "reason": ""}
SETUID_ONLY = {"namespaces": False, "setuid": True, "reason": "unshare or mount refused"}
NOT_ROOT = {"namespaces": False, "setuid": False, "reason": "not running as root"}


def legacy_summary(sandbox: dict, config: GradingConfig) -> dict:
    """execution.sandbox as KernelSession.sandbox_summary wrote it from its sandbox dict before
    the spec existed (kept verbatim: results must not change)."""
    if not sandbox:
        return {"enforced": False, "why": "sandbox is off" if config.sandbox == "off"
                else "kernels are not fork-started (fork_kernels is off or unavailable)"}
    return {"enforced": True, "unprivileged_uid": sandbox.get("uid"),
            "network": "none" if sandbox.get("isolate") else "not isolated",
            "tmp": "private" if sandbox.get("isolate") else "shared",
            "hidden_by": "mount namespace" if sandbox.get("isolate") else "permissions (0700)",
            "hidden": sandbox.get("hide", []),
            "limits": {k.removeprefix("RLIMIT_").lower(): v for k, v in sandbox.get("limits", {}).items()},
            **({"note": sandbox["note"]} if "note" in sandbox else {})}


@pytest.fixture
def folders(tmp_path):
    tmp_path = tmp_path.resolve()
    kernel_dir = tmp_path / "autograder-kernel-x"
    kernel_dir.mkdir()
    (kernel_dir / "work").mkdir()
    (kernel_dir / "work" / "data.csv").write_text("1,2\n")
    hidden = tmp_path / "results"
    hidden.mkdir(mode=0o755)
    hidden.chmod(0o755)
    return kernel_dir, hidden


def test_the_spec_for_a_kernel_with_namespaces(folders):
    kernel_dir, hidden = folders
    spec = SandboxSpec.for_kernel(CONFIG, kernel_dir=str(kernel_dir), isolation=WITH_NAMESPACES,
                                  hide=(str(hidden), str(kernel_dir.parent), "/no/such/folder"))
    uid = 100_000 + os.stat(kernel_dir).st_ino % 2_000_000_000
    # The kernel's own parent folder and folders that do not exist are never hidden.
    assert spec.as_dict() == {"isolate": True, "hide": [str(hidden)], "keep": [str(kernel_dir)], "uid": uid,
                              "expose": needed_paths(), "limits": {**LIMITS, "RLIMIT_NPROC": 32}}
    assert spec.summary() == {
        "enforced": True, "unprivileged_uid": uid, "network": "none", "tmp": "private",
        "hidden_by": "mount namespace", "hidden": [str(hidden)],
        "limits": {"as": 1024 * 2**20, "fsize": 64 * 2**20, "nofile": 1024, "core": 0, "cpu": 240, "nproc": 32}}
    assert spec.summary() == legacy_summary(spec.as_dict(), CONFIG)


@pytest.mark.parametrize("isolation, note", [(WITH_NAMESPACES, None), (SETUID_ONLY, "unshare or mount refused"),
                                             (NOT_ROOT, "not running as root"), ({}, "no isolation")])
def test_the_spec_round_trips_through_the_fork_servers_dict(folders, isolation, note):
    kernel_dir, hidden = folders
    spec = SandboxSpec.for_kernel(CONFIG, kernel_dir=str(kernel_dir), hide=(str(hidden),), isolation=isolation)
    wire = json.loads(json.dumps(spec.as_dict()))  # what the fork server reads
    assert SandboxSpec.from_dict(wire) == spec
    assert spec.note == note
    assert spec.summary() == legacy_summary(wire, CONFIG)
    if isolation.get("setuid"):
        assert spec.uid is not None and spec.hide == (str(hidden),)
        assert spec.limits.processes == 32
    else:  # without a uid of its own a kernel is only limited: nothing hidden, no process limit
        assert wire == {"limits": LIMITS, "note": note}
        assert spec.summary()["hidden"] == [] and "nproc" not in spec.summary()["limits"]


def test_no_spec_when_the_sandbox_is_off(folders):
    kernel_dir, _ = folders
    off = GradingConfig(workers=1, sandbox="off")
    assert SandboxSpec.for_kernel(off, kernel_dir=str(kernel_dir), isolation=WITH_NAMESPACES) is None
    from autograder.kernel.sandbox import sandbox_summary

    assert sandbox_summary(None, off) == legacy_summary({}, off) == {"enforced": False, "why": "sandbox is off"}
    assert sandbox_summary(None, CONFIG) == {
        "enforced": False, "why": "kernels are not fork-started (fork_kernels is off or unavailable)"}


def test_a_spec_without_a_uid_can_only_limit():
    with pytest.raises(ValueError, match="without a uid of its own can only set limits"):
        SandboxSpec(limits=Limits.from_dict(LIMITS), hide=("/srv/course",))
    with pytest.raises(ValueError, match="without a uid of its own"):
        SandboxSpec(limits=Limits.from_dict(LIMITS), namespaces=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="handing a folder to another uid needs root")
def test_prepare_hands_the_kernel_its_folder_and_closes_hidden_ones(folders):
    kernel_dir, hidden = folders
    spec = SandboxSpec.for_kernel(CONFIG, kernel_dir=str(kernel_dir), hide=(str(hidden),), isolation=SETUID_ONLY)
    prepare(spec, str(kernel_dir))
    owners = {os.stat(p).st_uid for p in (kernel_dir, kernel_dir / "work", kernel_dir / "work" / "data.csv")}
    assert owners == {spec.uid}
    assert stat.S_IMODE(os.stat(hidden).st_mode) == 0o700  # no namespaces: closed by permissions
    hidden.chmod(0o755)
    with_ns = SandboxSpec.for_kernel(CONFIG, kernel_dir=str(kernel_dir), hide=(str(hidden),),
                                     isolation=WITH_NAMESPACES)
    prepare(with_ns, str(kernel_dir))
    assert stat.S_IMODE(os.stat(hidden).st_mode) == 0o755  # hidden by a mount in the kernel instead


def test_enforce_sets_the_limits_from_the_wire_dict():
    # Address space left large: the forked child is a whole pytest process.
    spec = SandboxSpec.from_dict({"limits": {**LIMITS, "RLIMIT_AS": 64 * 2**30, "RLIMIT_NOFILE": 200},
                                  "note": "not running as root"})
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover (the child)
        try:
            enforce(spec)
            got = [resource.getrlimit(getattr(resource, name)) for name in ("RLIMIT_NOFILE", "RLIMIT_CPU", "RLIMIT_AS")]
            os.write(write, json.dumps(got).encode())
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    with os.fdopen(read) as f:
        got = json.loads(f.read())
    assert got == [[200, 200], [240, 245], [64 * 2**30, 64 * 2**30]]


def test_both_kinds_of_kernel_manager_implement_the_interface():
    for cls in (ForkedKernelManager, JupyterKernelManager):
        assert issubclass(cls, KernelManager)
        assert not cls.__abstractmethods__, cls
    # nbclient's side of a manager, for a forked kernel, comes from the interface itself.
    assert ForkedKernelManager.interrupt_kernel is KernelManager.interrupt_kernel


def test_a_cells_time_limit_is_what_is_left_of_the_notebooks():
    context = RunContext(km=None, kc=None, kernel_name="python3", startup_timeout=60, cell_timeout=20,
                         deadline=time.monotonic() + 5, max_output_bytes=1024)
    assert 4 < context.cell_timeout_for(None) <= 5
    context.deadline = time.monotonic() + 100
    assert context.cell_timeout_for(None) == 20
    context.deadline = time.monotonic() - 1
    assert context.cell_timeout_for(None) == 0.5


def tiny_notebook():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# tiny"),
        nbformat.v4.new_code_cell("import numpy as np\nprint(np.arange(4).sum())"),
        nbformat.v4.new_code_cell("1 / 0"),
        # A student's own exception of the timeout's name is an error, not a timeout.
        nbformat.v4.new_code_cell(f"class {TIMEOUT_ENAME}(Exception):\n    pass\nraise {TIMEOUT_ENAME}('fake')"),
        nbformat.v4.new_code_cell("import time\nwhile True:\n    time.sleep(0.01)"),
        nbformat.v4.new_code_cell("x = 6 * 7\nx"),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def visible(execution):
    """Per cell, what the student sees (outputs without timing metadata)."""
    cells = []
    for cell in execution.notebook.cells:
        outs = []
        for out in cell.get("outputs", []):
            if out.output_type == "stream":
                outs.append(("stream", out.name, out.text))
            elif out.output_type == "error":
                outs.append(("error", out.ename, out.evalue))
            else:
                outs.append((out.output_type, out.get("data", {}).get("text/plain")))
        cells.append(outs)
    return cells


@pytest.mark.slow
def test_a_notebook_gives_the_same_result_forked_or_not():
    config = GradingConfig(workers=1, cell_timeout=2, notebook_timeout=30)
    seen = {}
    for fork in (True, False):
        pool = KernelPool(config, warm=False, fork=fork)
        try:
            session = pool.take()
            assert (session.server is not None) == (fork and can_fork(config))
            assert isinstance(session.km, KernelManager)
            assert isinstance(session.km, ForkedKernelManager if session.server else JupyterKernelManager)
            ran = execute.execute_notebook(session, tiny_notebook())
            pid = session.kernel_pid
            assert session.kernel_alive() and session.km.alive() and session.km.start_error() == ""
            assert isinstance(session.connection_info()["key"], bytes)
            session.close()
            assert not session.kernel_alive() and session.kernel_pid is None
        finally:
            pool.close()
        assert isinstance(pid, int)
        seen[fork] = (visible(ran), [p.as_dict() for p in ran.problems], ran.kernel_alive)
    assert seen[True] == seen[False]
    outputs, problems, alive = seen[True]
    assert outputs[1] == [("stream", "stdout", "6\n")]
    assert outputs[2][0][:2] == ("error", "ZeroDivisionError")
    assert outputs[5] == [("execute_result", "42")]
    assert [(p["cell"], p["kind"], p["ename"]) for p in problems] == [
        (2, "error", "ZeroDivisionError"), (3, "error", TIMEOUT_ENAME), (4, "timeout", TIMEOUT_ENAME)]
    assert alive
