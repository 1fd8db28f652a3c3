"""Faults around a grading run (issue 12): a busy results folder, SIGTERM, a full disk, corrupt and
half-written files left in OUT. Each asserts the outcome and that nothing is lost."""

import json
import os
import signal
import subprocess
import sys
import time

import nbformat
import pytest

from autograder.course import load_lab
from autograder.demo import build_submission
from autograder.results import LOCK_NAME, results_lock

from conftest import kernel_processes_left

pytestmark = pytest.mark.slow

WRONG_COST = {"compute_cost": "def compute_cost(x, y, w, b):\n    return 1.0"}


def _class(course, folder, n):
    lab = load_lab("linreg", course)
    for i in range(n):
        target = folder / f"s{i}" / "linreg"
        target.mkdir(parents=True)
        nbformat.write(build_submission(lab, {} if i % 2 == 0 else WRONG_COST), str(target / "linreg.ipynb"))
    return folder


def _command(course, subs, out, workers=1):
    return [sys.executable, "-m", "autograder.cli", "grade", "linreg", "--submissions", str(subs), "--out", str(out),
            "--seed", "3", "--workers", str(workers), "--course", str(course), "-q", "--cell-timeout", "8",
            "--notebook-timeout", "40", "--call-timeout", "5"]


def _scores(out):
    return {json.loads(p.read_text())["student"]: json.loads(p.read_text())["score"]
            for p in sorted(out.glob("*/linreg/result.json"))}


def _mid_batch(course, subs, out):
    """A two-worker `grade` run, once its first result is written and the next submissions are
    mid-run."""
    proc = subprocess.Popen(_command(course, subs, out, workers=2), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list(out.glob("*/linreg/result.json")) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)
    return proc


def _leftovers(out):
    return sorted(str(p.relative_to(out)) for p in out.rglob(".*") if p.name != LOCK_NAME)


def test_a_second_run_on_the_same_out_refuses_and_a_killed_run_leaves_no_stuck_lock(course, tmp_path):
    subs, out = _class(course, tmp_path / "submitted", 1), tmp_path / "out"
    with results_lock(out):
        busy = subprocess.run(_command(course, subs, out), capture_output=True, text=True)
    assert busy.returncode == 2
    lines = busy.stderr.strip().splitlines()
    assert len(lines) == 1 and "is being graded by another run (pid " in lines[0], busy.stderr
    assert not list(out.glob("*/linreg/*"))  # it touched nothing
    # A holder killed with SIGKILL: the operating system lets go of the lock with it.
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom autograder.results import results_lock\n"
                               f"with results_lock({str(out)!r}):\n    print('held', flush=True)\n    time.sleep(60)"],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline() == "held\n"
    holder.kill()
    holder.wait()
    done = subprocess.run(_command(course, subs, out), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert _scores(out) == {"s0": 36.0}


def test_sigterm_stops_within_seconds_leaves_nothing_half_written_and_the_next_run_resumes(course, tmp_path):
    subs, out = _class(course, tmp_path / "submitted", 4), tmp_path / "out"
    proc = _mid_batch(course, subs, out)
    asked = time.monotonic()
    proc.send_signal(signal.SIGTERM)  # the grader only, as a scheduler or `kill` would
    _, err = proc.communicate(timeout=30)
    took = time.monotonic() - asked
    assert proc.returncode == 143, err
    assert took < 12, took
    finished = len(list(out.glob("*/linreg/result.json")))
    assert 1 <= finished < 4
    assert f"stopped (SIGTERM); {finished} submission(s) graded in this run are kept" in err, err
    assert _leftovers(out) == []
    time.sleep(1)  # kernels watch their zygote, which went with its worker
    assert kernel_processes_left() == []
    resumed = subprocess.run(_command(course, subs, out, workers=2), capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert f"reused {finished} unchanged result(s)" in resumed.stdout
    assert _scores(out) == {f"s{i}": 36.0 if i % 2 == 0 else 32.0 for i in range(4)}


def test_a_full_disk_is_one_line_keeps_every_earlier_result_and_a_rerun_completes(course, tmp_path):
    if os.getuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    subs, out = _class(course, tmp_path / "submitted", 4), tmp_path / "out"
    out.mkdir()
    # Each submission writes about 450 kB (executed notebook and result): two fit, the third does not.
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1200k", "tmpfs", str(out)]).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        full = subprocess.run(_command(course, subs, out), capture_output=True, text=True)
        assert full.returncode == 2, full.stderr
        lines = full.stderr.strip().splitlines()
        assert len(lines) == 1 and "cannot write results under" in lines[0] and "No space left on device" in lines[0]
        assert "Traceback" not in full.stderr
        kept = _scores(out)
        assert 1 <= len(kept) < 4 and kept == {s: 36.0 if s in ("s0", "s2") else 32.0 for s in kept}
        assert f"the {len(kept)} result(s) this run wrote before are intact" in lines[0]
        assert [p for p in _leftovers(out) if p.endswith(".tmp") or ".partial." in p] == []
        subprocess.run(["mount", "-o", "remount,size=20m", str(out)], check=True)  # space freed
        rerun = subprocess.run(_command(course, subs, out), capture_output=True, text=True)
        assert rerun.returncode == 0, rerun.stderr
        assert f"reused {len(kept)} unchanged result(s)" in rerun.stdout
        assert _scores(out) == {"s0": 36.0, "s1": 32.0, "s2": 36.0, "s3": 32.0}
    finally:
        subprocess.run(["umount", "-l", str(out)])


def test_a_corrupt_result_and_stray_half_written_files_are_graded_again(course, tmp_path):
    subs, out = _class(course, tmp_path / "submitted", 2), tmp_path / "out"
    first = subprocess.run(_command(course, subs, out), capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    broken = out / "s1" / "linreg" / "result.json"
    broken.write_text(broken.read_text()[:500])  # cut off mid-write by a crash
    strays = [out / "s0" / "linreg" / ".result.json.x1.tmp", out / "s1" / "linreg" / ".partial.linreg.ipynb",
              out / ".grades.csv.x2.tmp"]
    for path in strays:
        path.write_text("{")
    again = subprocess.run(_command(course, subs, out), capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert "graded 1, reused 1 unchanged result(s)" in again.stdout
    assert _scores(out) == {"s0": 36.0, "s1": 32.0}
    assert not any(path.exists() for path in strays)


def _workers_of(pid):
    """The grader's worker processes (spawned by multiprocessing), by pid."""
    from autograder.kernel import strays

    found = []
    for p in strays.process_table():
        if p.ppid == pid:
            try:
                cmdline = open(f"/proc/{p.pid}/cmdline", "rb").read()
            except OSError:
                continue
            if b"spawn_main" in cmdline:
                found.append(p.pid)
    return found


def test_a_worker_killed_mid_submission_costs_nothing(course, tmp_path):
    subs, out = _class(course, tmp_path / "submitted", 4), tmp_path / "out"
    proc = _mid_batch(course, subs, out)
    workers = _workers_of(proc.pid)
    assert len(workers) == 2, workers
    os.kill(workers[0], signal.SIGKILL)  # as the out-of-memory killer would
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    assert "a grading worker died mid-batch" in stderr
    assert _scores(out) == {f"s{i}": 36.0 if i % 2 == 0 else 32.0 for i in range(4)}
    assert _leftovers(out) == []


def test_a_workers_fork_server_killed_mid_batch_costs_nothing(course, tmp_path):
    """The kernels of a killed zygote die with it: the submission that was running is run again
    in a kernel of a new zygote, not charged with a dead kernel."""
    from autograder.kernel import strays

    subs, out = _class(course, tmp_path / "submitted", 4), tmp_path / "out"
    proc = _mid_batch(course, subs, out)
    workers = set(_workers_of(proc.pid))
    zygotes = [p.pid for p in strays.process_table() if p.ppid in workers
               and b"autograder.kernel.forkserver" in open(f"/proc/{p.pid}/cmdline", "rb").read()]
    assert zygotes, "no fork server found"
    os.kill(zygotes[0], signal.SIGKILL)
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    results = [json.loads(p.read_text()) for p in sorted(out.glob("*/linreg/result.json"))]
    assert [(r["status"], r["execution"]["kernel_alive"]) for r in results] == [("graded", True)] * 4
    assert _scores(out) == {f"s{i}": 36.0 if i % 2 == 0 else 32.0 for i in range(4)}
