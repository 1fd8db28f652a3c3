"""The Processing-contract entrypoint, run without a container under a temporary contract root:
every submission graded exactly once whatever the number of hosts, and the merged results
equal local grading of the same class with the same seed (checked by the parity command)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.cli import main
from autograder.config import GradingConfig, load_config
from autograder.errors import ConfigError, GraderFault
from autograder.parity import compare
from autograder.processing import (merge_results, read_contract, run, shard, write_bundle,
                                   write_contract)
from conftest import FAST, REPO


def test_shard_gives_every_student_to_exactly_one_host():
    students = [f"s{i:02d}" for i in range(10)]
    hosts = ["algo-1", "algo-2", "algo-3"]
    shares = {h: shard(list(reversed(students)), hosts, h) for h in hosts}
    assert shares == {"algo-1": ["s00", "s03", "s06", "s09"], "algo-2": ["s01", "s04", "s07"],
                      "algo-3": ["s02", "s05", "s08"]}
    assert shard(["only"], hosts, "algo-3") == []


def test_contract_paths_come_from_the_job_config(tmp_path):
    config = tmp_path / "opt/ml/config"
    config.mkdir(parents=True)
    (config / "resourceconfig.json").write_text(json.dumps({"current_host": "algo-2", "hosts": ["algo-1", "algo-2"]}))
    (config / "processingjobconfig.json").write_text(json.dumps({
        "ProcessingJobName": "job-1",
        "ProcessingInputs": [{"InputName": "submissions", "S3Input": {"LocalPath": "/opt/ml/processing/input/subs"}}],
        "ProcessingOutputConfig": {"Outputs": [{"OutputName": "results",
                                                "S3Output": {"LocalPath": "/opt/ml/processing/output/r"}}]}}))
    contract = read_contract(tmp_path)
    assert contract.submissions == tmp_path / "opt/ml/processing/input/subs"
    assert contract.course == tmp_path / "opt/ml/processing/input/course"
    assert contract.results == tmp_path / "opt/ml/processing/output/r"
    assert (contract.current_host, contract.hosts, contract.host_index, contract.job_name) == \
        ("algo-2", ("algo-1", "algo-2"), 1, "job-1")


def test_missing_contract_fails_the_job_with_a_message(tmp_path):
    env = {**os.environ, "AUTOGRADER_CONTRACT_ROOT": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "autograder.processing", "--lab", "linreg", "--seed", "1"],
                          capture_output=True, text=True, env=env, cwd=tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    message = (tmp_path / "opt/ml/output/message").read_text()
    assert "resource config" in message and "is missing" in message


def test_bundle_holds_the_lab_and_nothing_else(tmp_path):
    bundle = write_bundle(REPO, "linreg", tmp_path / "bundle")
    files = {p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file()}
    assert "nbgrader_config.py" in files
    assert "source/linreg/linreg.ipynb" in files and "release/linreg/linreg.ipynb" in files
    assert {"autograder/labs/linreg/test_linreg.py", "autograder/labs/linreg/reference.py",
            "autograder/labs/linreg/lab.toml"} <= files
    assert not any("polyreg" in f or "cloud" in f.split("/")[1:2] for f in files)
    assert not any("__pycache__" in f for f in files)


def test_the_bundle_carries_the_launchers_resolved_configuration(tmp_path, monkeypatch):
    # Resolved where the bundle is written: the course file (call_timeout 10), then this environment.
    monkeypatch.setenv("AUTOGRADER_CELL_TIMEOUT", "7.5")
    bundle = write_bundle(REPO, "linreg", tmp_path / "course-default")
    shipped = json.loads((bundle / "grading-config.json").read_text())
    assert shipped == load_config(REPO).recorded()
    assert (shipped["cell_timeout"], shipped["call_timeout"], "workers" in shipped) == (7.5, 10.0, False)
    # Or exactly the configuration it is given (the command line's, in `cloud grade`).
    bundle = write_bundle(REPO, "linreg", tmp_path / "given", config=FAST)
    assert json.loads((bundle / "grading-config.json").read_text()) == FAST.recorded()


class _Graded(Exception):
    """Raised by a stand-in for grade_class once it has seen what it was called with."""


def test_the_entrypoint_grades_with_the_shipped_configuration(tmp_path, monkeypatch):
    import signal

    import autograder.grade
    from autograder.processing import main as entrypoint

    shipped = GradingConfig(cell_timeout=7.5, notebook_timeout=33, call_timeout=2.5, judge_timeout=11, workers=5)
    bundle = write_bundle(REPO, "linreg", tmp_path / "bundle", config=shipped)
    arguments = ["--lab", "linreg", "--seed", "5", "--workers", "3"]
    root = tmp_path / "root"
    write_contract(root, submissions=tmp_path, course_bundle=bundle, hosts=["algo-1"], current_host="algo-1",
                   arguments=arguments)
    monkeypatch.setenv("AUTOGRADER_CONTRACT_ROOT", str(root))
    monkeypatch.setenv("AUTOGRADER_CELL_TIMEOUT", "99")  # the container's environment changes nothing
    seen = {}

    def grade_class(lab_name, **kwargs):
        seen.update(kwargs, lab=lab_name)
        raise _Graded

    monkeypatch.setattr(autograder.grade, "grade_class", grade_class)
    handler = signal.getsignal(signal.SIGTERM)
    try:
        with pytest.raises(_Graded):
            entrypoint(arguments)
    finally:
        signal.signal(signal.SIGTERM, handler)
    config = seen["config"]
    assert (seen["lab"], seen["seed"], seen["workers"]) == ("linreg", 5, 3)
    assert config == GradingConfig.from_recorded(shipped.recorded(), workers=3)
    assert (config.cell_timeout, config.notebook_timeout, config.call_timeout, config.judge_timeout,
            config.workers) == (7.5, 33.0, 2.5, 11.0, 3)  # workers: the host's --workers, not the launcher's


def test_a_bundle_without_its_configuration_fails_the_job(tmp_path):
    bundle = write_bundle(REPO, "linreg", tmp_path / "bundle")
    (bundle / "grading-config.json").unlink()
    root = tmp_path / "root"
    write_contract(root, submissions=tmp_path / "bundle", course_bundle=bundle, hosts=["algo-1"],
                   current_host="algo-1", arguments=[])
    env = {**os.environ, "AUTOGRADER_CONTRACT_ROOT": str(root)}
    proc = subprocess.run([sys.executable, "-m", "autograder.processing", "--lab", "linreg", "--seed", "1"],
                          capture_output=True, text=True, env=env, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    course = root / "opt/ml/processing/input/course"
    message = (f"autograder: input 'course' at {course} has no grading-config.json (the launcher's grading "
               "configuration; `autograder cloud grade` writes it into the bundle)")
    assert proc.stderr == message + "\n"
    assert (root / "opt/ml/output/message").read_text() == message + "\n"


@pytest.mark.slow
def test_shipped_limits_interrupt_a_never_ending_submission(tmp_path, monkeypatch):
    """A real grading under the contract: the submission that never finishes is cut off by the
    shipped limits (2 s a cell), not by the container's environment (120 s) or the defaults (20 s)."""
    from autograder.course import load_lab
    from autograder.demo import build_class, load_demo_class

    lab = load_lab("linreg", REPO)
    build_class(lab, tmp_path / "submitted", {"fermi": load_demo_class(lab)["fermi"]})
    shipped = GradingConfig(cell_timeout=2, notebook_timeout=12, call_timeout=2, judge_timeout=4)
    bundle = write_bundle(REPO, "linreg", tmp_path / "bundle", config=shipped)
    contract = write_contract(tmp_path / "root", submissions=tmp_path / "submitted", course_bundle=bundle,
                              hosts=["algo-1"], current_host="algo-1", arguments=["--lab", "linreg", "--seed", "3"])
    monkeypatch.setenv("AUTOGRADER_CELL_TIMEOUT", "120")
    monkeypatch.setenv("AUTOGRADER_CALL_TIMEOUT", "120")
    manifest = run(contract, lab_name="linreg", seed=3, workers=1, log=lambda _text: None)
    assert manifest["statuses"] == {"fermi": "graded"}
    assert manifest["seconds"] < 60, manifest["seconds"]


def _run_hosts(tmp_path: Path, submissions: Path, seed: int, hosts: list[str]) -> Path:
    """Run the entrypoint once per host (in-process, FAST limits shipped in the bundle) and gather
    their outputs as S3 would (every host uploads to the same prefix)."""
    bundle = write_bundle(REPO, "linreg", tmp_path / "bundle", config=FAST)
    job_output = tmp_path / "job-output"
    for host in hosts:
        contract = write_contract(tmp_path / host, submissions=submissions, course_bundle=bundle, hosts=hosts,
                                  current_host=host, arguments=["--lab", "linreg", "--seed", str(seed)])
        run(contract, lab_name="linreg", seed=seed, workers=FAST.workers, log=lambda _text: None)
        shutil.copytree(contract.results, job_output, dirs_exist_ok=True)
    return job_output


@pytest.mark.slow
def test_three_hosts_grade_each_submission_once_and_match_local(demo, tmp_path):
    seed = demo.grading.seed
    job_output = _run_hosts(tmp_path, demo.submissions, seed, ["algo-1", "algo-2", "algo-3"])
    manifests = [json.loads(p.read_text()) for p in sorted((job_output / "hosts").glob("*.json"))]
    assert [m["host"] for m in manifests] == ["algo-1", "algo-2", "algo-3"]
    graded = sorted(s for m in manifests for s in m["students"])
    everyone = sorted(r.student for r in demo.grading.results)
    assert graded == everyone  # each exactly once
    assert [len(m["students"]) for m in manifests] == [3, 3, 2]  # 8 students over 3 hosts

    merged = merge_results(job_output, tmp_path / "merged", lab_name="linreg", course_root=REPO,
                           expected_students=everyone)
    assert (tmp_path / "merged" / "grades.csv").read_text() == demo.grading.grades_csv.read_text()
    report = compare(demo.grading.out, tmp_path / "merged")
    assert report.ok, [m.line() for m in report.mismatches]
    assert report.tests_compared == sum(len(r.tests) for r in demo.grading.results)
    assert report.values_compared > 100
    assert {r.student: r.score for r in merged.results} == \
        {r.student: r.score for r in demo.grading.results}


@pytest.mark.slow
def test_one_host_entrypoint_as_a_process_matches_local(demo, tmp_path):
    """The real entrypoint command, configured as a container is (environment, contract files),
    with the demo's FAST limits shipped in the bundle as `cloud grade` ships the launcher's."""
    seed = demo.grading.seed
    bundle = write_bundle(REPO, "linreg", tmp_path / "bundle", config=FAST)
    root = tmp_path / "root"
    write_contract(root, submissions=demo.submissions, course_bundle=bundle, hosts=["algo-1"], current_host="algo-1",
                   arguments=["--lab", "linreg", "--seed", str(seed)])
    env = {**os.environ, "AUTOGRADER_CONTRACT_ROOT": str(root)}
    proc = subprocess.run([sys.executable, "-m", "autograder.processing", "--lab", "linreg", "--seed", str(seed)],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "algo-1: grading 8 of 8 submission(s)" in proc.stdout
    assert not (root / "opt/ml/output/message").exists()
    results = root / "opt/ml/processing/output/results"
    assert sorted(p.name for p in (results / "hosts").iterdir()) == ["algo-1-grades.csv", "algo-1.json"]
    merge_results(results, tmp_path / "merged", lab_name="linreg", course_root=REPO)
    assert main(["parity", str(demo.grading.out), str(tmp_path / "merged"), "--json", str(tmp_path / "p.json")]) == 0
    assert json.loads((tmp_path / "p.json").read_text())["ok"] is True


def test_merge_refuses_a_missing_host_or_a_lost_student(tmp_path):
    out = tmp_path / "job"
    (out / "hosts").mkdir(parents=True)
    manifest = {"host": "algo-1", "hosts": ["algo-1", "algo-2"], "students": ["ada"], "seed": 1, "seconds": 1.0}
    (out / "hosts" / "algo-1.json").write_text(json.dumps(manifest))
    with pytest.raises(GraderFault, match="algo-2 wrote no results"):
        merge_results(out, tmp_path / "m", lab_name="linreg", course_root=REPO)
    (out / "hosts" / "algo-2.json").write_text(json.dumps({**manifest, "host": "algo-2", "students": []}))
    with pytest.raises(GraderFault, match="no host graded bohr"):
        merge_results(out, tmp_path / "m", lab_name="linreg", course_root=REPO, expected_students=["ada", "bohr"])
    with pytest.raises(GraderFault, match="wrote no readable result.json"):
        merge_results(out, tmp_path / "m", lab_name="linreg", course_root=REPO)


def test_a_missing_hosts_students_are_named_and_the_rest_merged(demo, tmp_path):
    """A host that never wrote its output (its container killed, say): the results of the hosts
    that finished are merged, the students lost are named, and no grades.csv claims a whole class."""
    job = tmp_path / "job"
    (job / "hosts").mkdir(parents=True)
    manifest = {"host": "algo-1", "hosts": ["algo-1", "algo-2"], "students": ["ada", "bohr"], "seed": 1,
                "seconds": 1.0}
    (job / "hosts" / "algo-1.json").write_text(json.dumps(manifest))
    for student in ("ada", "bohr"):
        shutil.copytree(demo.grading.out / student, job / student)
    out = tmp_path / "merged"
    with pytest.raises(GraderFault) as info:
        merge_results(job, out, lab_name="linreg", course_root=REPO, expected_students=["ada", "bohr", "curie"])
    assert str(info.value) == (f"host(s) algo-2 wrote no results: no result for curie; the 2 result(s) that came "
                               f"back are merged into {out}; `cloud grade --resume` grades only the missing")
    assert sorted(p.name for p in out.iterdir()) == ["ada", "bohr"]
    assert (out / "bohr" / "linreg" / "result.json").read_bytes() == \
        (demo.grading.out / "bohr" / "linreg" / "result.json").read_bytes()


def test_contract_without_inputs_is_a_job_failure(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    contract = write_contract(tmp_path / "root", submissions=empty, course_bundle=empty, hosts=["algo-1"],
                              current_host="algo-1", arguments=[])
    with pytest.raises(ConfigError, match="not a course bundle"):
        run(contract, lab_name="linreg", seed=1, config=FAST)


@pytest.mark.slow
def test_hosts_as_concurrent_processes_match_local_grading(tmp_path):
    """What `make demo` does without Docker: every host is the real entrypoint command, all
    running at once, each under its own contract root; merged, they equal local grading."""
    from autograder.course import load_lab
    from autograder.demo import build_class, load_demo_class
    from autograder.grade import grade_class
    from autograder.processing import run_without_container

    lab = load_lab("cloud", REPO)
    build_class(lab, tmp_path / "submitted", load_demo_class(lab))
    # Both with the course's own limits (resolved from nbgrader_config.py, shipped in the bundle).
    local = grade_class("cloud", submissions=tmp_path / "submitted", out=tmp_path / "local", seed=17,
                        course_root=REPO)
    lines: list[str] = []
    merged = run_without_container("cloud", submissions=tmp_path / "submitted", out=tmp_path / "merged", seed=17,
                                   hosts=2, course_root=REPO, scratch=tmp_path / "scratch", log=lines.append)
    assert [m["host"] for m in merged.manifests] == ["algo-1", "algo-2"]
    assert sorted(s for m in merged.manifests for s in m["students"]) == sorted(r.student for r in local.results)
    assert any(line.startswith("algo-2: grading 2 of 5") for line in lines), lines
    report = compare(tmp_path / "local", tmp_path / "merged")
    assert report.ok, [m.line() for m in report.mismatches]
    assert {r.student: r.score for r in merged.results} == {r.student: r.score for r in local.results}
