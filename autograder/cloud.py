"""``autograder cloud grade``: grade a class as a SageMaker Processing job.

The launcher uploads the submissions and the course bundle to S3, starts a Processing job with
the SageMaker SDK v3 (``sagemaker.core.processing.Processor``) running the grading image, whose
entrypoint (``autograder.processing``) grades each host's share with the same code as
``autograder grade``; then it downloads every host's results and merges them into OUT exactly
as local grading writes them.

``local=True`` runs the same job through the SDK's own local mode (real containers, started
with docker-compose), with S3 served on loopback by moto's server: a stand-in for Amazon S3,
named as such wherever it appears.

The launcher resolves the grading configuration here, as ``autograder grade`` does, and ships it
in the course bundle (``grading-config.json``); the job grades with exactly that.

The SDK, boto3 and moto are the ``cloud`` extra, imported only where used (``cloud_extra``): a
missing one is one line that says how to install it.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from .config import GradingConfig
from .errors import ConfigError, CourseError, DependencyError, GraderFault
from .processing import (COURSE_INPUT, DEFAULT_PATHS, ENTRYPOINT, RESULTS_OUTPUT, SUBMISSIONS_INPUT, Merged,
                         merge_results)

LOCAL_IMAGE = "autograder-grader:latest"
LOCAL_BUCKET = "autograder-local"
LOCAL_ROLE = "arn:aws:iam::000000000000:role/autograder-local"  # local mode never uses it
LOCAL_REGION = "us-east-1"
STUDENT_MARK = ".autograder-student"
NOTHING_STARTED = "; no job was started and nothing was graded: run the same command again"  # after an upload fault
TERMINAL = {"Completed", "Failed", "Stopped"}
INSTALL_CLOUD = "pip install 'autograder[cloud]' (in the kit's checkout: .tools/bin/uv sync --frozen --all-extras)"
# The distribution that brings each top-level module of the cloud extra.
CLOUD_PACKAGES = {"sagemaker": "sagemaker-core", "boto3": "boto3", "botocore": "boto3", "moto": "moto[server]",
                  "flask": "moto[server]", "flask_cors": "moto[server]", "werkzeug": "moto[server]"}

Step = Callable[[str], None]


@contextmanager
def cloud_extra(command: str = "autograder cloud grade"):
    """Around imports of the cloud extra: a missing package is a one-line DependencyError that
    says what installs it, not an ImportError traceback."""
    try:
        yield
    except ImportError as exc:
        module = (exc.name or "").split(".")[0]
        package = CLOUD_PACKAGES.get(module, module or "a package")
        detail = " ".join(str(exc).split())
        raise DependencyError(f"{command} needs the cloud extra, and {package} is not installed ({detail}); "
                              f"install it with {INSTALL_CLOUD}", package=package) from None


@dataclass(frozen=True)
class JobSpec:
    """Everything the job request is built from (what ``--bucket``, ``--role``... set)."""

    lab: str
    bucket: str
    role: str | None
    image: str
    instances: int = 1
    instance_type: str = "ml.c5.xlarge"
    max_runtime: int = 3600
    seed: int = 0
    workers: int | None = None
    prefix: str = "autograder"
    volume_gb: int = 30

    def job_name(self) -> str:
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
        return f"autograder-{re.sub(r'[^a-zA-Z0-9-]', '-', self.lab)}-{stamp}-{secrets.token_hex(2)}"[:63]


def _s3_split(uri: str) -> tuple[str, str]:
    match = re.fullmatch(r"s3://([^/]+)/?(.*)", uri)
    if not match:
        raise ConfigError(f"not an S3 URI: {uri!r} (expected s3://bucket/prefix)")
    return match.group(1), match.group(2).strip("/")


class TransferError(GraderFault):
    """An S3 transfer stopped part-way (the server went away, access was refused, ...)."""


def _transfer_errors() -> tuple[type[BaseException], ...]:
    """What boto3 raises when a transfer fails: the connection, the service's answer, the
    transfer manager's wrapping of either, or the local file."""
    from boto3.exceptions import S3TransferFailedError, S3UploadFailedError
    from botocore.exceptions import BotoCoreError, ClientError

    return BotoCoreError, ClientError, S3UploadFailedError, S3TransferFailedError, OSError


def upload_folder(s3, folder: Path, bucket: str, prefix: str, *, only: Callable[[Path], bool] | None = None) -> int:
    """Upload every regular file under ``folder`` to ``s3://bucket/prefix/<relative path>``.

    Raises:
        TransferError: the upload stopped part-way; says after how many of how many files.
    """
    files = []
    for path in sorted(Path(folder).rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue  # a symlink in a submission is refused by grading; never follow it here
        relative = path.relative_to(folder)
        if only is None or only(relative):
            files.append((path, relative))
    for count, (path, relative) in enumerate(files):
        try:
            s3.upload_file(str(path), bucket, f"{prefix}/{relative.as_posix()}")
        except _transfer_errors() as exc:
            raise TransferError(f"the upload to s3://{bucket}/{prefix} stopped after {count} of {len(files)} "
                                f"file(s), at {relative.as_posix()}: {_one_line(exc)}") from None
    return len(files)


def put_marks(s3, bucket: str, prefix: str, students: list[str]) -> None:
    """One empty marker object per student folder (S3 has no empty folders)."""
    for count, student in enumerate(students):
        try:
            s3.put_object(Bucket=bucket, Key=f"{prefix}/{student}/{STUDENT_MARK}", Body=b"")
        except _transfer_errors() as exc:
            raise TransferError(f"the upload to s3://{bucket}/{prefix} stopped after {count} of {len(students)} "
                                f"student marker(s): {_one_line(exc)}") from None


def _keys_under(s3, bucket: str, prefix: str) -> Iterator[tuple[str, str]]:
    """``(key, key relative to prefix)`` of every object under ``s3://bucket/prefix/``."""
    prefix = prefix.rstrip("/") + "/"
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            yield item["Key"], item["Key"][len(prefix):]


def download_prefix(s3, bucket: str, prefix: str, dest: Path) -> int:
    """Download every object under ``s3://bucket/prefix/`` into ``dest`` (keys stay relative).

    Raises:
        TransferError: the listing or a download failed; says after how many files.
    """
    try:
        keys = [(key, relative) for key, relative in _keys_under(s3, bucket, prefix)
                if relative and not relative.endswith("/") and ".." not in Path(relative).parts]
    except _transfer_errors() as exc:
        raise TransferError(f"listing s3://{bucket}/{prefix} failed: {_one_line(exc)}") from None
    for count, (key, relative) in enumerate(keys):
        target = Path(dest) / relative
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(bucket, key, str(target))
        except _transfer_errors() as exc:
            raise TransferError(f"the download of s3://{bucket}/{prefix} stopped after {count} of {len(keys)} "
                                f"file(s), at {relative}: {_one_line(exc)}") from None
    return len(keys)


def students_under(s3, bucket: str, prefix: str, lab: str) -> list[str]:
    """Student folders of an S3 submissions prefix in nbgrader's layout (``<student>/<lab>/...``)."""
    found = set()
    for _, relative in _keys_under(s3, bucket, prefix):
        parts = relative.split("/")
        if len(parts) >= 3 and parts[1] == lab:
            found.add(parts[0])
    return sorted(found)


def build_processor(spec: JobSpec, session, *, local: bool):
    """The SDK's Processor for the grading image: entrypoint, network isolation, stopping
    condition, tags."""
    with cloud_extra():
        from sagemaker.core.network import NetworkConfig
        from sagemaker.core.processing import Processor

    return Processor(
        role=None if local else spec.role,
        image_uri=spec.image,
        instance_count=spec.instances,
        instance_type="local" if local else spec.instance_type,
        entrypoint=ENTRYPOINT,
        volume_size_in_gb=spec.volume_gb,
        max_runtime_in_seconds=spec.max_runtime,
        base_job_name=f"autograder-{spec.lab}",
        sagemaker_session=session,
        env={"PYTHONUNBUFFERED": "1"},
        tags=[{"Key": "autograder:lab", "Value": spec.lab}, {"Key": "autograder:seed", "Value": str(spec.seed)}],
        network_config=NetworkConfig(enable_network_isolation=True),
    )


def job_io(spec: JobSpec, submissions_uri: str, course_uri: str, results_uri: str):
    """The job's inputs (FullyReplicated: every host sees the whole class and picks its share)
    and its one output."""
    with cloud_extra():
        from sagemaker.core.shapes import ProcessingInput, ProcessingOutput, ProcessingS3Input, ProcessingS3Output

    def s3_input(name: str, uri: str) -> ProcessingInput:
        return ProcessingInput(input_name=name, s3_input=ProcessingS3Input(
            s3_uri=uri, local_path=DEFAULT_PATHS[name], s3_data_type="S3Prefix", s3_input_mode="File",
            s3_data_distribution_type="FullyReplicated"))

    inputs = [s3_input(SUBMISSIONS_INPUT, submissions_uri), s3_input(COURSE_INPUT, course_uri)]
    outputs = [ProcessingOutput(output_name=RESULTS_OUTPUT, s3_output=ProcessingS3Output(
        s3_uri=results_uri, local_path=DEFAULT_PATHS[RESULTS_OUTPUT], s3_upload_mode="EndOfJob"))]
    arguments = ["--lab", spec.lab, "--seed", str(spec.seed)]
    if spec.workers:
        arguments += ["--workers", str(spec.workers)]
    return inputs, outputs, arguments


class S3StandIn:
    """moto's S3-compatible server on loopback: the stand-in for Amazon S3 in local mode."""

    def __init__(self) -> None:
        import logging

        with cloud_extra("autograder cloud grade --local"):
            from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise

        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"

    def stop(self) -> None:
        self._server.stop()


def docker_problem(*, compose: bool = True) -> str | None:
    """Why real containers cannot run here (with docker-compose too, as SageMaker local mode
    needs, unless ``compose=False``), or None if they can."""
    import subprocess

    if shutil.which("docker") is None:
        return "docker is not installed (.ci/machine-setup installs docker.io)"
    if compose and shutil.which("docker-compose") is None:
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True)
        if probe.returncode != 0:
            return "neither `docker compose` nor docker-compose is installed"
    try:
        info = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True,
                              timeout=60)
    except subprocess.TimeoutExpired:
        return "docker info did not answer within 60 s"
    if info.returncode != 0:
        reason = (info.stderr.strip().splitlines() or ["no message"])[-1]
        return f"the Docker engine is not reachable (start dockerd): {reason}"
    return None


def image_problem(image: str) -> str | None:
    import subprocess

    probe = subprocess.run(["docker", "image", "inspect", image], capture_output=True)
    if probe.returncode != 0:
        return f"image {image} is not built (`make image` builds it, about 6 min the first time)"
    return None


def cloud_grade(lab_name: str, *, submissions: str | Path, out: Path, bucket: str | None = None,
                role: str | None = None, image: str | None = None, instances: int = JobSpec.instances,
                instance_type: str = JobSpec.instance_type, max_runtime: int = JobSpec.max_runtime,
                seed: int | None = None, local: bool = False, workers: int | None = None,
                config: GradingConfig | None = None, course_root: Path | None = None, wait: bool = True,
                poll_seconds: float = 15.0, resume: bool = False, on_step: Step = print) -> Merged | str:
    """Grade ``lab_name`` as a Processing job; return the merged results (or, with
    ``wait=False``, the started job's name).

    Args:
        config: the limits the job grades with, shipped in the course bundle (default: the
            course's, resolved as ``autograder grade`` resolves them: ``nbgrader_config.py`` <
            ``AUTOGRADER_*`` environment). Its ``workers`` stays here: each host grades
            ``workers`` submissions at once (default: its cores).
        resume: send only the students whose result in ``out`` is missing, or stands for another
            notebook or seed, and grade them with the seed of ``out``'s earlier job; the merged
            set is then the results kept and the new ones.

    Raises:
        ConfigError: missing bucket/role/image for a real account, bad submissions location,
            Docker unusable for ``local``, nothing in ``out`` to resume.
        DependencyError: the cloud extra (SDK, boto3, moto for ``local``) is not installed.
        GraderFault: the job failed, or its output lacks a host or a student.
    """
    from .config import load_config
    from .course import find_course_root, load_lab
    from .load import student_folders
    from .processing import write_bundle

    root = Path(course_root) if course_root else find_course_root()
    lab = load_lab(lab_name, root)
    config = config or load_config(root)
    if instances < 1:
        raise ConfigError("--instances must be at least 1")
    if not local:
        missing = [flag for flag, value in (("--bucket", bucket), ("--role", role), ("--image", image)) if not value]
        if missing:
            raise ConfigError(f"{', '.join(missing)} required for a real account (or pass --local)")
    with cloud_extra("autograder cloud grade" + (" --local" if local else "")):  # before any upload
        import boto3  # noqa: F401
        import sagemaker.core.processing  # noqa: F401
        if local:
            import moto.server  # noqa: F401
    if local:
        problem = docker_problem() or image_problem(image or LOCAL_IMAGE)
        if problem:
            raise ConfigError(f"--local needs real containers: {problem}")
    kept: list = []
    if resume:
        seed = _resumed_seed(Path(out), lab.name, seed, submissions)
    seed = secrets.randbelow(2**31) if seed is None else int(seed)
    spec = JobSpec(lab=lab.name, bucket=bucket or LOCAL_BUCKET, role=role or LOCAL_ROLE,
                   image=image or LOCAL_IMAGE, instances=instances,
                   instance_type=instance_type or JobSpec.instance_type, max_runtime=max_runtime, seed=seed,
                   workers=workers)
    stand_in = S3StandIn() if local else None
    try:
        session, s3 = _sessions(spec, local=local, endpoint=stand_in.endpoint if stand_in else None)
        if stand_in:
            on_step(f"S3 stand-in (moto server) on {stand_in.endpoint}, bucket {spec.bucket}")
            s3.create_bucket(Bucket=spec.bucket)
        job_name = spec.job_name()
        base = f"{spec.prefix}/{job_name}"
        with tempfile.TemporaryDirectory(prefix="autograder-cloud-") as scratch:
            scratch = Path(scratch)
            if str(submissions).startswith("s3://"):
                sub_bucket, sub_prefix = _s3_split(str(submissions))
                submissions_uri = f"s3://{sub_bucket}/{sub_prefix}"
                expected = students_under(s3, sub_bucket, sub_prefix, lab.name)
                if not expected:
                    raise CourseError(f"no submissions of {lab.name} in {submissions}")
            else:
                folder = Path(submissions)
                if not folder.is_dir():
                    raise CourseError(f"submissions folder {folder} does not exist")
                expected, _ = student_folders(folder, lab.name)
                if not expected:
                    raise CourseError(f"no submissions of {lab.name} in {submissions}")
                if resume:
                    kept = _still_current(folder, Path(out), lab, seed)
                    expected = [s for s in expected if s not in {r.student for r in kept}]
                    on_step(f"resuming with seed {seed}: {len(kept)} student(s) keep their result in {out}, "
                            f"{len(expected)} to grade")
                    if not expected:
                        return _merged_with(kept, [], Path(out), lab, seed, root)
                sending = set(expected)
                try:
                    count = upload_folder(s3, folder, spec.bucket, f"{base}/submissions",
                                          only=lambda rel: len(rel.parts) >= 3 and rel.parts[1] == lab.name
                                          and rel.parts[0] in sending)
                    # A student with no folder for this lab still gets a row ("missing"), as in local
                    # grading: S3 has no empty folders, so each student folder is marked by a file.
                    put_marks(s3, spec.bucket, f"{base}/submissions", expected)
                except TransferError as exc:
                    raise TransferError(f"{exc}{NOTHING_STARTED}") from None
                submissions_uri = f"s3://{spec.bucket}/{base}/submissions"
                on_step(f"uploaded {count} file(s) of {len(expected)} student(s) to {submissions_uri}")
            bundle = write_bundle(root, lab.name, scratch / "course", config=config)
            try:
                count = upload_folder(s3, bundle, spec.bucket, f"{base}/course")
            except TransferError as exc:
                raise TransferError(f"{exc}{NOTHING_STARTED}") from None
            course_uri = f"s3://{spec.bucket}/{base}/course"
            results_uri = f"s3://{spec.bucket}/{base}/results"
            on_step(f"uploaded the course bundle ({count} files) to {course_uri}; limits: cell "
                    f"{config.cell_timeout:g} s, notebook {config.notebook_timeout:g} s, call "
                    f"{config.call_timeout:g} s, judge {config.judge_timeout:g} s")

            processor = build_processor(spec, session, local=local)
            inputs, outputs, arguments = job_io(spec, submissions_uri, course_uri, results_uri)
            sent: dict = {}
            if hasattr(session.sagemaker_client, "meta"):  # a real API client (Amazon's, or a stand-in)
                session.sagemaker_client.meta.events.register(
                    "provide-client-params.sagemaker.CreateProcessingJob",
                    lambda params, **_: sent.update(json.loads(json.dumps(params, default=str))))
            on_step(f"starting processing job {job_name}: {spec.instances} x "
                    f"{'local container' if local else spec.instance_type}, image {spec.image}, seed {seed}")
            started = time.monotonic()
            failure = None
            try:
                processor.run(inputs=inputs, outputs=outputs, arguments=arguments, job_name=job_name,
                              wait=False, logs=False)
            except Exception as exc:  # the SDK raises plain exceptions (ClientError, RuntimeError...)
                failure = f"processing job {job_name} failed: {_job_failure(exc)}"
            finally:
                _write_job_record(Path(out), job_name, spec, local, submissions_uri, course_uri, results_uri, sent,
                                  config=config)
            if failure is None and not wait:
                return job_name
            if failure is None and not local:
                try:
                    _wait(session, job_name, poll_seconds, on_step)
                except GraderFault as exc:
                    failure = str(exc)
            on_step(f"job {job_name} {'failed' if failure else 'finished'} after {time.monotonic() - started:.0f} s; "
                    "downloading results")
            job_output = scratch / "results"
            try:
                downloaded = download_prefix(s3, spec.bucket, f"{base}/results", job_output)
            except TransferError as exc:
                where = ("the S3 stand-in's copy goes with this run" if local
                         else f"they stay at {results_uri}")
                raise TransferError(f"processing job {job_name} {'failed' if failure else 'finished'}, but {exc}; "
                                    f"{where}: `cloud grade --resume` with the same OUT grades only the students "
                                    "missing from it") from None
            if failure:
                # Whatever its hosts finished is a whole result (each written atomically, with the
                # job's seed and limits): kept, so that --resume grades only the rest.
                raise GraderFault(f"{failure}; " + _salvage(job_output, Path(out), lab.name, expected, seed))
            if not downloaded:
                raise GraderFault(f"processing job {job_name} wrote no results to {results_uri}")
            merged = merge_results(job_output, Path(out), lab_name=lab.name, course_root=root,
                                   expected_students=expected)
            if kept:
                merged = _merged_with(kept, merged.results, Path(out), lab, seed, root, merged.manifests)
            merged.seconds = time.monotonic() - started
            return merged
    finally:
        if stand_in:
            stand_in.stop()


def _salvage(job_output: Path, out: Path, lab: str, expected: list[str], seed: int) -> str:
    """Merge into ``out`` every readable result a failed job's hosts wrote for ``expected``
    students with ``seed``; say how many were kept and which students are still to grade."""
    from .processing import merge_one, named
    from .results import read_result, result_file

    kept = [s for s in expected if (r := read_result(result_file(job_output, s, lab))) is not None
            and r.seed == seed and merge_one(job_output, out, s, lab) is not None]
    left = [s for s in expected if s not in kept]
    if not kept:
        return "no result came back; run the same command again"
    return (f"the {len(kept)} result(s) its hosts finished are kept in {out}; `cloud grade --resume` grades "
            f"only the {len(left)} left ({named(left)})" if left else f"yet every student's result came back "
            f"and is kept in {out}; `cloud grade --resume` writes the class file")


def _resumed_seed(out: Path, lab: str, seed: int | None, submissions) -> int:
    """The seed of ``out``'s earlier job (its ``cloud-job.json``), which a resumed run grades with."""
    if str(submissions).startswith("s3://"):
        raise ConfigError("--resume needs a local submissions folder (it compares each notebook with the "
                          "result OUT holds for it)")
    record_path = out / "cloud-job.json"
    try:
        record = json.loads(record_path.read_text())
        earlier, earlier_lab = int(record["seed"]), record["lab"]
    except FileNotFoundError:
        raise ConfigError(f"--resume: {out} holds no cloud-job.json of an earlier `cloud grade`; "
                          "run without --resume") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"--resume: cannot read {record_path}: {_one_line(exc)}") from None
    if earlier_lab != lab:
        raise ConfigError(f"--resume: {out} holds a job of lab {earlier_lab}, not {lab}")
    if seed is not None and int(seed) != earlier:
        raise ConfigError(f"--resume grades with the earlier job's seed {earlier}; --seed {seed} differs "
                          "(drop --seed, or grade into a new OUT)")
    return earlier


def _still_current(folder: Path, out: Path, lab, seed: int) -> list:
    """The results in ``out`` a resumed run keeps: graded with ``seed`` for the very notebook the
    student's folder holds now (as local grading reuses a result), the grader not at fault."""
    from .load import file_digest, find_submissions
    from .results import read_result, result_file

    kept = []
    for sub in find_submissions(folder, lab):
        result = read_result(result_file(out, sub.student, lab.name))
        if result is not None and result.seed == seed and result.reusable_for(file_digest(sub.path)):
            kept.append(result)
    return kept


def _merged_with(kept: list, new: list, out: Path, lab, seed: int, root: Path, manifests: list | None = None) -> Merged:
    """The class after a resumed job: the results kept and the new ones, in one ``grades.csv``."""
    from .report import write_class_grades

    merged = Merged(lab=lab.name, out=out, results=sorted([*kept, *new], key=lambda r: r.student),
                    graded=len(new), reused=len(kept), seed=seed, seconds=0.0,
                    functions=[f.name for f in lab.functions], manifests=manifests or [])
    write_class_grades(merged)
    return merged


def _write_job_record(out: Path, job_name: str, spec: JobSpec, local: bool, submissions_uri: str,
                      course_uri: str, results_uri: str, request: dict, *, config: GradingConfig) -> None:
    """``OUT/cloud-job.json``: which job produced these results, the configuration it was sent,
    and the exact request the SDK sent."""
    from .results import write_json

    write_json(out / "cloud-job.json", {
        "job": job_name, "mode": "local" if local else "sagemaker", "lab": spec.lab, "seed": spec.seed,
        "image": spec.image, "instances": spec.instances, "submissions": submissions_uri, "course": course_uri,
        "results": results_uri, "config": config.recorded(), "request": request or None,
    })


def _job_failure(exc: BaseException) -> str:
    """Why a job failed, in the user's terms: local mode reports its docker-compose command line."""
    found = re.search(r"Failed to run: \[.*docker-compose.*\]\. Process exited with code: (\d+)", str(exc))
    if not found:
        return _one_line(exc)
    code = int(found.group(1))
    why = {137: " (killed: SIGKILL, `docker kill` or out of memory)", 143: " (stopped: SIGTERM)"}.get(code, "")
    return f"a container of the local-mode job exited with code {code}{why}, and docker-compose stopped the others"


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return (text[:300] + "...") if len(text) > 300 else text or type(exc).__name__


def _sessions(spec: JobSpec, *, local: bool, endpoint: str | None):
    """The SDK session and an S3 client that talk to the same S3 (Amazon's, or the stand-in)."""
    with cloud_extra():
        import boto3

    if local:
        with cloud_extra("autograder cloud grade --local"):
            from sagemaker.core.local.local_session import LocalSession

        boto = boto3.Session(aws_access_key_id="stand-in", aws_secret_access_key="stand-in",
                             region_name=LOCAL_REGION)
        session = LocalSession(boto_session=boto, s3_endpoint_url=endpoint, default_bucket=spec.bucket,
                               disable_local_code=True)
        return session, boto.client("s3", endpoint_url=endpoint)
    with cloud_extra():
        from sagemaker.core.helper.session_helper import Session

    boto = boto3.Session()
    if boto.region_name is None:
        raise ConfigError("no AWS region configured (set AWS_DEFAULT_REGION or a profile's region)")
    session = Session(boto_session=boto, default_bucket=spec.bucket)
    return session, boto.client("s3")


def _wait(session, job_name: str, poll_seconds: float, on_step: Step) -> None:
    """Poll the job until it ends, reporting each change of status; fail on Failed/Stopped."""
    client = session.sagemaker_client
    last = None
    started = reported = time.monotonic()
    while True:
        description = client.describe_processing_job(ProcessingJobName=job_name)
        status = description["ProcessingJobStatus"]
        if status != last or time.monotonic() - reported >= 60:  # a line a minute on a long job
            on_step(f"job {job_name}: {status} (after {time.monotonic() - started:.0f} s)")
            last, reported = status, time.monotonic()
        if status in TERMINAL:
            break
        time.sleep(poll_seconds)
    if status != "Completed":
        reason = description.get("FailureReason") or description.get("ExitMessage") or "no reason given"
        raise GraderFault(f"processing job {job_name} {status.lower()}: {_one_line(reason)}")
