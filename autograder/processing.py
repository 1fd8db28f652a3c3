"""The grading container's entrypoint: one host of a SageMaker Processing job.

It follows the Processing contract and then runs the very same ``grade_class`` as
``autograder grade``; nothing is re-implemented for the cloud.

    /opt/ml/config/resourceconfig.json        {"current_host": "algo-2", "hosts": ["algo-1", "algo-2"], ...}
    /opt/ml/config/processingjobconfig.json   the job's request (inputs, outputs, arguments, ...)
    /opt/ml/processing/input/submissions/     <student>/<lab>/<notebook>.ipynb (nbgrader layout)
    /opt/ml/processing/input/course/          the course bundle (see ``write_bundle``), with
                                              grading-config.json: the launcher's resolved limits
    /opt/ml/processing/output/results/        <student>/<lab>/result.json + executed notebook,
                                              and hosts/<host>.json, hosts/<host>-grades.csv
    /opt/ml/output/message                    why the job failed (read by SageMaker)

Every host sees every submission (FullyReplicated input, which SageMaker local mode also
accepts) and grades a deterministic share of them: the sorted student list, every n-th student
starting at the host's index in ``hosts``. A student's failure is a result row; the job fails
(non-zero exit and ``/opt/ml/output/message``) only when grading itself cannot run.

The job grades with exactly the configuration the launcher resolved (``nbgrader_config.py`` <
its ``AUTOGRADER_*`` environment < its command line, as ``autograder grade`` does), shipped in
the bundle as ``grading-config.json`` (``GradingConfig.recorded()``); the container's own
environment does not change it. Only ``workers`` is the host's: ``--workers`` or its cores.

``AUTOGRADER_CONTRACT_ROOT`` moves the whole contract under another folder, so the entrypoint
runs without a container (tests, ``make demo`` where Docker is missing).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .config import GradingConfig
from .errors import AutograderError, ConfigError
from .grade import ClassGrading

CONTRACT_ROOT_ENV = "AUTOGRADER_CONTRACT_ROOT"
PROCESSING = "opt/ml/processing"
SUBMISSIONS_INPUT = "submissions"
COURSE_INPUT = "course"
RESULTS_OUTPUT = "results"
DEFAULT_PATHS = {
    SUBMISSIONS_INPUT: f"/{PROCESSING}/input/submissions",
    COURSE_INPUT: f"/{PROCESSING}/input/course",
    RESULTS_OUTPUT: f"/{PROCESSING}/output/results",
}
HOSTS_DIR = "hosts"
BUNDLE_CONFIG = "grading-config.json"  # in the course bundle: the launcher's GradingConfig.recorded()
ENTRYPOINT = ["python3", "-m", "autograder.processing"]  # the image's; the launcher sets it on every job


@dataclass(frozen=True)
class Contract:
    """Where this host's inputs, outputs and configuration are."""

    root: Path
    submissions: Path
    course: Path
    results: Path
    current_host: str
    hosts: tuple[str, ...]
    job_name: str

    @property
    def host_index(self) -> int:
        return self.hosts.index(self.current_host)

    @property
    def message_file(self) -> Path:
        return self.root / "opt/ml/output/message"


def shard(students: list[str], hosts: tuple[str, ...] | list[str], current_host: str) -> list[str]:
    """The students ``current_host`` grades: every n-th of the sorted list, from its index.

    Every student lands on exactly one host, the split is the same on every host (each sees the
    whole list), and hosts differ in load by at most one submission.
    """
    index = list(hosts).index(current_host)
    return sorted(students)[index::len(hosts)]


def _inside(root: Path, absolute: str) -> Path:
    return root / absolute.lstrip("/")


def _read_json(path: Path, what: str) -> dict:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{what} {path} is missing: not running under the SageMaker Processing contract") from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{what} {path} is unreadable: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{what} {path} is not a JSON object")
    return data


def read_contract(root: Path | None = None) -> Contract:
    """Read the job's configuration files and resolve the input and output folders by name."""
    root = Path(root if root is not None else os.environ.get(CONTRACT_ROOT_ENV, "/"))
    resources = _read_json(root / "opt/ml/config/resourceconfig.json", "resource config")
    hosts = resources.get("hosts")
    current = resources.get("current_host")
    if not isinstance(hosts, list) or not hosts or current not in hosts:
        raise ConfigError(f"resource config names no current_host among its hosts: {resources}")
    job = _read_json(root / "opt/ml/config/processingjobconfig.json", "processing job config")
    paths = dict(DEFAULT_PATHS)
    for item in job.get("ProcessingInputs") or []:
        local = (item.get("S3Input") or {}).get("LocalPath")
        if item.get("InputName") in paths and local:
            paths[item["InputName"]] = local
    for item in (job.get("ProcessingOutputConfig") or {}).get("Outputs") or []:
        local = (item.get("S3Output") or {}).get("LocalPath")
        if item.get("OutputName") in paths and local:
            paths[item["OutputName"]] = local
    return Contract(root=root, submissions=_inside(root, paths[SUBMISSIONS_INPUT]),
                    course=_inside(root, paths[COURSE_INPUT]), results=_inside(root, paths[RESULTS_OUTPUT]),
                    current_host=str(current), hosts=tuple(str(h) for h in hosts),
                    job_name=str(job.get("ProcessingJobName", "local")))


def write_bundle(course_root: Path, lab_name: str, dest: Path, *, config: GradingConfig | None = None) -> Path:
    """Copy what grading ``lab_name`` needs into ``dest``, laid out as a course folder:
    ``nbgrader_config.py``, ``source/<lab>/``, ``release/<lab>/`` and the lab's content under
    ``autograder/labs/<lab>/`` (hidden suite, reference), plus ``grading-config.json``: ``config``
    (default: the course's, resolved here as ``autograder grade`` resolves it) without
    ``workers``. The job reads the course from here, so a changed lab needs no new image."""
    from .config import load_config
    from .course import load_lab

    lab = load_lab(lab_name, course_root)
    lab.release_template()  # a missing release is the instructor's fault: say so before uploading
    dest = Path(dest)
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    shutil.copy2(lab.course_root / "nbgrader_config.py", dest / "nbgrader_config.py")
    ignore = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", "*.pyc")
    shutil.copytree(lab.source_dir, dest / "source" / lab.name, ignore=ignore)
    shutil.copytree(lab.release_dir, dest / "release" / lab.name, ignore=ignore)
    shutil.copytree(lab.content_dir, dest / "autograder" / "labs" / lab.name, ignore=ignore)
    config = config or load_config(lab.course_root)
    (dest / BUNDLE_CONFIG).write_text(json.dumps(config.recorded(), indent=2) + "\n")
    return dest


def read_bundle_config(course: Path, *, workers: int | None = None) -> GradingConfig:
    """The configuration the launcher shipped in the bundle at ``course``, with this host's
    ``workers`` (default: its cores).

    Raises:
        ConfigError: the bundle has no ``grading-config.json``, or it is not a valid recorded
            configuration.
    """
    path = Path(course) / BUNDLE_CONFIG
    if not path.is_file():
        raise ConfigError(f"input {COURSE_INPUT!r} at {course} has no {BUNDLE_CONFIG} (the launcher's grading "
                          "configuration; `autograder cloud grade` writes it into the bundle)")
    try:
        record = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    try:
        return GradingConfig.from_recorded(record, workers=workers)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}", field=exc.field) from None


def write_contract(root: Path, *, submissions: Path, course_bundle: Path, hosts: list[str], current_host: str,
                   arguments: list[str], job_name: str = "autograder-local") -> Contract:
    """Lay out a contract root as SageMaker would for one host (inputs copied in, config files
    written); used to run the entrypoint without a container."""
    root = Path(root)
    for name, src in ((SUBMISSIONS_INPUT, submissions), (COURSE_INPUT, course_bundle)):
        dest = _inside(root, DEFAULT_PATHS[name])
        if dest.exists():
            shutil.rmtree(dest)
        shutil.copytree(src, dest, symlinks=True)
    _inside(root, DEFAULT_PATHS[RESULTS_OUTPUT]).mkdir(parents=True, exist_ok=True)
    config = root / "opt/ml/config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "resourceconfig.json").write_text(json.dumps(
        {"current_host": current_host, "hosts": hosts, "network_interface_name": "eth0"}))
    (config / "processingjobconfig.json").write_text(json.dumps({
        "ProcessingJobName": job_name,
        "AppSpecification": {"ImageUri": "none (entrypoint run directly)",
                             "ContainerEntrypoint": ENTRYPOINT,
                             "ContainerArguments": arguments},
        "ProcessingInputs": [{"InputName": name, "S3Input": {"LocalPath": DEFAULT_PATHS[name],
                                                             "S3DataDistributionType": "FullyReplicated"}}
                             for name in (SUBMISSIONS_INPUT, COURSE_INPUT)],
        "ProcessingOutputConfig": {"Outputs": [{"OutputName": RESULTS_OUTPUT,
                                                "S3Output": {"LocalPath": DEFAULT_PATHS[RESULTS_OUTPUT]}}]},
        "ProcessingResources": {"ClusterConfig": {"InstanceCount": len(hosts), "InstanceType": "local"}},
    }))
    return read_contract(root)


def run(contract: Contract, *, lab_name: str, seed: int, workers: int | None = None,
        config: GradingConfig | None = None, log=print) -> dict:
    """Grade this host's share into the results folder; return the host's manifest.

    ``config`` defaults to the configuration the launcher shipped in the bundle
    (``grading-config.json``), with ``workers`` (default: this host's cores)."""
    from .grade import grade_class
    from .record import environment
    from .report import write_class_grades
    from .results import write_json

    if not contract.submissions.is_dir():
        raise ConfigError(f"input {SUBMISSIONS_INPUT!r} is missing at {contract.submissions}")
    if not (contract.course / "nbgrader_config.py").is_file():
        raise ConfigError(f"input {COURSE_INPUT!r} at {contract.course} is not a course bundle "
                          "(no nbgrader_config.py)")
    if config is None:
        config = read_bundle_config(contract.course, workers=workers)
    started = time.monotonic()
    picked: list[str] = []

    def share(students: list[str]) -> list[str]:
        picked.extend(shard(students, contract.hosts, contract.current_host))
        log(f"{contract.current_host}: grading {len(picked)} of {len(students)} submission(s) "
            f"(host {contract.host_index + 1} of {len(contract.hosts)}), seed {seed}")
        return list(picked)

    def progress(done: int, total: int, result) -> None:
        log(f"{contract.current_host}: [{done}/{total}] {result.student}: {result.status} "
            f"{result.score:g}/{result.max_score:g}")

    contract.results.mkdir(parents=True, exist_ok=True)
    grading = grade_class(lab_name, submissions=contract.submissions, out=contract.results, workers=workers,
                          seed=seed, course_root=contract.course, config=config, on_progress=progress,
                          share=share, exclusive=False)  # the hosts share the folder, each its own students
    # Every host writes the same result folders' parent: keep the per-host class file apart.
    hosts_dir = contract.results / HOSTS_DIR
    hosts_dir.mkdir(exist_ok=True)
    write_class_grades(grading, path=hosts_dir / f"{contract.current_host}-grades.csv")
    manifest = {
        "job": contract.job_name,
        "host": contract.current_host,
        "hosts": list(contract.hosts),
        "lab": lab_name,
        "seed": seed,
        "students": sorted(r.student for r in grading.results),
        "statuses": {r.student: str(r.status) for r in grading.results},
        "grader_errors": [r.student for r in grading.grader_errors],
        "seconds": round(time.monotonic() - started, 3),
        "environment": environment(),
    }
    write_json(hosts_dir / f"{contract.current_host}.json", manifest)
    _wait_for_other_hosts(contract, log)
    return manifest


def _wait_for_other_hosts(contract: Contract, log, limit: float = 6 * 3600, poll: float = 2.0) -> None:
    """In SageMaker local mode every host is a container of one docker-compose project, which
    stops them all as soon as the first one exits: a host that finishes early would cut off the
    others mid-class. There (and only there) ``/opt/ml/shared`` is a folder common to all hosts;
    each host marks itself done in it and exits once every host has. On SageMaker proper each
    instance ends on its own and the folder does not exist."""
    shared = contract.root / "opt/ml/shared"
    if len(contract.hosts) < 2 or not shared.is_dir():
        return
    done = shared / "autograder-done"
    done.mkdir(exist_ok=True)
    (done / contract.current_host).write_text("done\n")
    started = time.monotonic()
    waiting: list[str] = []
    while time.monotonic() - started < limit:
        left = [h for h in contract.hosts if not (done / h).exists()]
        if not left:
            return
        if left != waiting:
            log(f"{contract.current_host}: finished; waiting for {', '.join(left)} (local mode stops every "
                "container when one exits)")
            waiting = left
        time.sleep(poll)


@dataclass
class Merged(ClassGrading):
    """A job's results merged from all its hosts into one result set, with each host's manifest."""

    manifests: list[dict] = field(default_factory=list)


def merge_results(job_output: Path, out: Path, *, lab_name: str, course_root: Path | None = None,
                  expected_students: list[str] | None = None) -> Merged:
    """Merge every host's output (``job_output`` holds ``hosts/`` and ``<student>/<lab>/``) into
    ``out`` as local grading writes it: ``<student>/<lab>/`` folders and one ``grades.csv``.

    Raises GraderFault when a host is missing, a student was graded twice or not at all: a
    merged set that silently lacks a student would be a lost result. A missing host's students
    are named; the results the other hosts wrote are merged first (no ``grades.csv``, since the
    class is not complete), so ``cloud grade --resume`` grades only the missing ones.
    """
    from .course import load_lab
    from .errors import GraderFault
    from .report import write_class_grades

    job_output, out = Path(job_output), Path(out)
    manifests = [json.loads(p.read_text()) for p in sorted((job_output / HOSTS_DIR).glob("*.json"))]
    if not manifests:
        raise GraderFault(f"the job wrote no host manifest under {job_output / HOSTS_DIR}: it graded nothing")
    hosts = manifests[0]["hosts"]
    missing_hosts = sorted(set(hosts) - {m["host"] for m in manifests})
    owner: dict[str, str] = {}
    for m in manifests:
        for student in m["students"]:
            if student in owner:
                raise GraderFault(f"student {student!r} was graded by both {owner[student]} and {m['host']}")
            owner[student] = m["host"]
    lost = sorted(set(expected_students or ()) - set(owner))
    if missing_hosts or lost:
        problem = (f"host(s) {', '.join(missing_hosts)} wrote no results" if missing_hosts
                   else f"no host graded {named(lost)}")
        if not owner or not lost:  # nothing to keep, or students not known: refuse it whole
            raise GraderFault(problem)
        merged = [s for s in sorted(owner) if merge_one(job_output, out, s, lab_name) is not None]
        lost = sorted(set(lost) | (set(owner) - set(merged)))
        raise GraderFault(f"{problem}: no result for {named(lost)}; the {len(merged)} result(s) that came "
                          f"back are merged into {out}; `cloud grade --resume` grades only the missing")
    results = []
    for student in sorted(owner):
        result = merge_one(job_output, out, student, lab_name)
        if result is None:
            raise GraderFault(f"{owner[student]} listed {student!r} but wrote no readable result.json")
        results.append(result)
    hosts_out = out / HOSTS_DIR
    hosts_out.mkdir(parents=True, exist_ok=True)
    for path in (job_output / HOSTS_DIR).iterdir():
        shutil.copy2(path, hosts_out / path.name)
    functions = [f.name for f in load_lab(lab_name, course_root).functions]
    merged = Merged(lab=lab_name, out=out, results=results, graded=len(results), reused=0,
                    seed=manifests[0]["seed"], seconds=max((m["seconds"] for m in manifests), default=0.0),
                    functions=functions, manifests=manifests)
    write_class_grades(merged)
    return merged


def named(students: list[str], most: int = 10) -> str:
    """``a, b, c`` or, for a long list, ``a, b, ... and 40 more``: a message stays one line."""
    shown = ", ".join(students[:most])
    return shown + (f" and {len(students) - most} more" if len(students) > most else "")


def merge_one(job_output: Path, out: Path, student: str, lab_name: str):
    """Copy one student's result folder from the job's output into ``out``; return its result
    (None, and nothing copied, when its result.json cannot be read)."""
    from .results import read_result, result_dir, result_file

    result = read_result(result_file(job_output, student, lab_name))
    if result is None:
        return None
    dest = result_dir(out, student, lab_name)
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(result_dir(job_output, student, lab_name), dest)
    return result


def run_without_container(lab_name: str, *, submissions: Path, out: Path, seed: int, hosts: int = 2,
                          course_root: Path | None = None, config: GradingConfig | None = None, scratch: Path,
                          log=print) -> Merged:
    """Run a job's hosts as plain processes (no Docker), each the real entrypoint command under
    its own temporary contract root, all at once as a job's instances run; then gather their
    outputs as S3 would and merge them into ``out``. ``config`` is shipped as the launcher ships
    it (default: the course's)."""
    import subprocess

    from .course import find_course_root

    root = Path(course_root) if course_root else find_course_root()
    scratch = Path(scratch)
    bundle = write_bundle(root, lab_name, scratch / "bundle", config=config)
    names = [f"algo-{i + 1}" for i in range(hosts)]
    arguments = ["--lab", lab_name, "--seed", str(seed), "--workers", "1"]
    procs = {}
    for host in names:
        contract = write_contract(scratch / host, submissions=submissions, course_bundle=bundle, hosts=names,
                                  current_host=host, arguments=arguments)
        env = {**os.environ, CONTRACT_ROOT_ENV: str(contract.root)}
        procs[host] = (contract, subprocess.Popen([sys.executable, *ENTRYPOINT[1:], *arguments],
                                                  env=env, cwd=scratch, stdout=subprocess.PIPE,
                                                  stderr=subprocess.STDOUT, text=True))
    job_output = scratch / "job-output"
    failed = []
    for host, (contract, proc) in procs.items():
        for line in proc.stdout:
            log(line.rstrip())
        if proc.wait() != 0:
            message = contract.message_file.read_text().strip() if contract.message_file.exists() else ""
            failed.append(f"{host}: {message or f'exit {proc.returncode}'}")
            continue
        shutil.copytree(contract.results, job_output, dirs_exist_ok=True)
    if not failed:
        return merge_results(job_output, out, lab_name=lab_name, course_root=root)
    from .errors import GraderFault
    from .load import student_folders

    students, _ = student_folders(Path(submissions), lab_name)
    try:  # what the hosts that finished wrote is kept; the message names the students lost
        merge_results(job_output, out, lab_name=lab_name, course_root=root, expected_students=students)
    except GraderFault as exc:
        raise GraderFault("processing job failed: " + "; ".join(failed) + f"; {exc}") from None
    raise GraderFault("processing job failed: " + "; ".join(failed))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.processing",
                                     description="Grade this host's share of a class under the Processing contract.")
    parser.add_argument("--lab", required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--workers", type=int, default=None,
                        help="submissions graded at once on this host (default: its cores); every other "
                             f"limit comes from the bundle's {BUNDLE_CONFIG}")
    args = parser.parse_args(argv)
    contract = None

    def stopped(signum, _frame):  # StopProcessingJob, the stopping condition, `docker stop`
        raise ConfigError(f"stopped by signal {signal.Signals(signum).name} before grading finished "
                          "(StopProcessingJob or the job's MaxRuntimeInSeconds); finished results are kept")

    signal.signal(signal.SIGTERM, stopped)
    try:
        contract = read_contract()
        manifest = run(contract, lab_name=args.lab, seed=args.seed, workers=args.workers,
                       log=lambda text: print(text, flush=True))
    except (AutograderError, OSError) as exc:
        message = f"autograder: {exc}"
        print(message, file=sys.stderr, flush=True)
        root = contract.root if contract else Path(os.environ.get(CONTRACT_ROOT_ENV, "/"))
        try:
            target = root / "opt/ml/output/message"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(message[:1024] + "\n")
        except OSError:
            pass
        return 2
    errors = manifest["grader_errors"]
    print(f"{manifest['host']}: done, {len(manifest['students'])} graded in {manifest['seconds']:.1f} s"
          + (f"; grader failed on {', '.join(errors)}" if errors else ""), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
