"""``autograder cloud grade``: the request the SageMaker SDK v3 builds, sent to a real API server
(moto's, on loopback: a stand-in for Amazon SageMaker and S3, which runs no job), the uploads
it makes, its refusals, and the full job in SageMaker local mode with real containers."""

from __future__ import annotations

import json
import urllib.request

import boto3
import nbformat
import pytest

from autograder.cli import main
from autograder.cloud import LOCAL_IMAGE, STUDENT_MARK, S3StandIn
from autograder.config import load_config
from autograder.course import load_lab
from autograder.demo import build_class, load_demo_class
from autograder.parity import compare
from conftest import REPO

IMAGE_URI = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/autograder-grader:1"
ROLE = "arn:aws:iam::123456789012:role/autograder-processing"


@pytest.fixture
def aws(monkeypatch):
    """A real S3 and SageMaker API on loopback (moto's server), reached as the SDK reaches Amazon:
    through AWS_ENDPOINT_URL and ordinary credentials."""
    server = S3StandIn()
    # moto keeps its state per process, not per server: start every test from an empty account.
    urllib.request.urlopen(urllib.request.Request(f"{server.endpoint}/moto-api/reset", method="POST")).close()
    for key, value in {"AWS_ENDPOINT_URL": server.endpoint, "AWS_ACCESS_KEY_ID": "testing",
                       "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "eu-west-1"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    boto3.client("s3").create_bucket(Bucket="course-bucket",
                                     CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    yield server
    server.stop()


@pytest.fixture(scope="module")
def small_class(tmp_path_factory):
    """Three Lab 1 demo students (right, factor-2 gradient, blank) plus one student of another lab."""
    lab = load_lab("linreg", REPO)
    root = tmp_path_factory.mktemp("class")
    students = load_demo_class(lab)
    build_class(lab, root / "submitted", {k: students[k] for k in ("ada", "bohr", "dirac")})
    (root / "submitted" / "only-polyreg" / "polyreg").mkdir(parents=True)
    nbformat.write(nbformat.v4.new_notebook(), str(root / "submitted" / "only-polyreg" / "polyreg" / "x.ipynb"))
    return root / "submitted"


def test_request_built_by_the_sdk_reaches_the_api(aws, small_class, tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    monkeypatch.setenv("AUTOGRADER_NOTEBOOK_TIMEOUT", "90")  # the launcher's environment, resolved here
    code = main(["cloud", "grade", "linreg", "--submissions", str(small_class), "--out", str(out),
                 "--bucket", "course-bucket", "--role", ROLE, "--image", IMAGE_URI, "--instances", "3",
                 "--instance-type", "ml.m5.large", "--max-runtime", "1800", "--seed", "11", "--no-wait",
                 "--cell-timeout", "7", "--judge-timeout", "45"])
    assert code == 0, capsys.readouterr().err
    record = json.loads((out / "cloud-job.json").read_text())
    name = record["job"]
    assert name.startswith("autograder-linreg-")
    assert f"started processing job {name}" in capsys.readouterr().out

    # What the SDK sent, as the API client saw it.
    request = record["request"]
    assert request["ProcessingResources"]["ClusterConfig"] == {"InstanceType": "ml.m5.large", "InstanceCount": 3,
                                                               "VolumeSizeInGB": 30}
    assert request["StoppingCondition"] == {"MaxRuntimeInSeconds": 1800}
    assert request["NetworkConfig"]["EnableNetworkIsolation"] is True
    assert request["AppSpecification"] == {"ImageUri": IMAGE_URI,
                                           "ContainerEntrypoint": ["python3", "-m", "autograder.processing"],
                                           "ContainerArguments": ["--lab", "linreg", "--seed", "11"]}
    assert request["RoleArn"] == ROLE

    # What the server holds.
    sm = boto3.client("sagemaker")
    job = sm.describe_processing_job(ProcessingJobName=name)
    assert job["AppSpecification"]["ContainerArguments"] == ["--lab", "linreg", "--seed", "11"]
    assert job["NetworkConfig"]["EnableNetworkIsolation"] is True
    assert job["StoppingCondition"]["MaxRuntimeInSeconds"] == 1800
    inputs = {i["InputName"]: i["S3Input"] for i in job["ProcessingInputs"]}
    assert set(inputs) == {"submissions", "course"}
    for spec in inputs.values():
        assert spec["S3DataDistributionType"] == "FullyReplicated"  # hosts shard themselves
    assert inputs["submissions"]["LocalPath"] == "/opt/ml/processing/input/submissions"
    [output] = job["ProcessingOutputConfig"]["Outputs"]
    assert (output["OutputName"], output["S3Output"]["LocalPath"]) == ("results", "/opt/ml/processing/output/results")
    tags = {t["Key"]: t["Value"] for t in sm.list_tags(ResourceArn=job["ProcessingJobArn"])["Tags"]}
    assert tags == {"autograder:lab": "linreg", "autograder:seed": "11"}

    # The uploads: this lab's notebooks only, and the course bundle.
    s3 = boto3.client("s3")
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="course-bucket", Prefix=f"autograder/{name}/")["Contents"])
    submitted = [k.split("/submissions/")[1] for k in keys if "/submissions/" in k]
    assert [k for k in submitted if not k.endswith(STUDENT_MARK)] == \
        ["ada/linreg/linreg.ipynb", "bohr/linreg/linreg.ipynb", "dirac/linreg/linreg.ipynb"]
    # Every student folder is marked, so one without this lab's folder still gets its "missing" row.
    assert sorted(k.split("/")[0] for k in submitted if k.endswith(STUDENT_MARK)) == \
        ["ada", "bohr", "dirac", "only-polyreg"]
    course = {k.split("/course/")[1] for k in keys if "/course/" in k}
    assert {"nbgrader_config.py", "source/linreg/linreg.ipynb", "release/linreg/linreg.ipynb",
            "autograder/labs/linreg/test_linreg.py", "grading-config.json"} <= course

    # The job is sent the configuration resolved here, as `grade` resolves it: the course file
    # (call_timeout 10) < this environment (notebook 90) < the command line (cell 7, judge 45).
    shipped = json.loads(s3.get_object(Bucket="course-bucket",
                                       Key=f"autograder/{name}/course/grading-config.json")["Body"].read())
    assert shipped == load_config(REPO, cell_timeout=7, judge_timeout=45).recorded() == record["config"]
    assert (shipped["cell_timeout"], shipped["notebook_timeout"], shipped["call_timeout"],
            shipped["judge_timeout"], "workers" in shipped) == (7.0, 90.0, 10.0, 45.0, False)


def test_a_job_that_wrote_nothing_is_a_grader_fault(aws, small_class, tmp_path, capsys):
    """moto's server marks the job Completed at once and runs nothing: the launcher must notice
    that no host wrote results, never report an empty class as graded."""
    code = main(["cloud", "grade", "linreg", "--submissions", str(small_class), "--out", str(tmp_path / "out"),
                 "--bucket", "course-bucket", "--role", ROLE, "--image", IMAGE_URI, "--seed", "3"])
    err = capsys.readouterr().err
    assert code == 3
    assert "wrote no results" in err.splitlines()[-1]
    assert "Completed" in err


def test_s3_submissions_are_used_in_place(aws, small_class, tmp_path):
    from autograder.cloud import students_under, upload_folder

    s3 = boto3.client("s3")
    upload_folder(s3, small_class, "course-bucket", "term1/linreg-subs")
    assert students_under(s3, "course-bucket", "term1/linreg-subs", "linreg") == ["ada", "bohr", "dirac"]
    assert main(["cloud", "grade", "linreg", "--submissions", "s3://course-bucket/term1/linreg-subs",
                 "--out", str(tmp_path / "out"), "--bucket", "course-bucket", "--role", ROLE, "--image", IMAGE_URI,
                 "--no-wait"]) == 0
    record = json.loads((tmp_path / "out" / "cloud-job.json").read_text())
    assert record["submissions"] == "s3://course-bucket/term1/linreg-subs"


@pytest.mark.parametrize("argv, message", [
    ([], "--bucket, --role, --image required for a real account (or pass --local)"),
    (["--bucket", "b", "--role", ROLE, "--image", IMAGE_URI, "--instances", "0"], "--instances must be at least 1"),
    (["--bucket", "b", "--role", ROLE, "--image", IMAGE_URI, "--submissions", "s3:/x"], None),
])
def test_bad_arguments_are_one_line_errors(argv, message, small_class, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    base = ["cloud", "grade", "linreg", "--out", str(tmp_path / "o")]
    if "--submissions" not in argv:
        base += ["--submissions", str(small_class)]
    code = main(base + argv)
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    if message:
        assert message in err


@pytest.mark.parametrize("missing, flags, package", [
    ("boto3", ["--bucket", "b", "--role", ROLE, "--image", IMAGE_URI], "boto3"),
    ("sagemaker", ["--bucket", "b", "--role", ROLE, "--image", IMAGE_URI], "sagemaker-core"),
    ("moto", ["--local"], "moto[server]"),
])
def test_a_missing_cloud_extra_is_one_line_naming_the_install(missing, flags, package, tmp_path, capsys,
                                                              monkeypatch):
    """As if the package were not installed: None in sys.modules (for it and every submodule
    already imported) makes each import of it fail."""
    import sys

    for name in [m for m in sys.modules if m == missing or m.startswith(missing + ".")] + [missing]:
        monkeypatch.setitem(sys.modules, name, None)
    code = main(["cloud", "grade", "linreg", "--submissions", str(tmp_path), "--out", str(tmp_path / "o"),
                 "--course", str(REPO), *flags])
    err = capsys.readouterr().err
    command = "autograder cloud grade" + (" --local" if "--local" in flags else "")
    assert code == 2, err
    line, rest = err.split("\n", 1)
    assert rest == "" and "Traceback" not in line
    assert line.startswith(f"autograder: error: {command} needs the cloud extra, and {package} is not installed (")
    assert missing in line.split("(", 1)[1]  # then the import's own words, e.g. "import of boto3 halted; ..."
    assert line.endswith("); install it with pip install 'autograder[cloud]' "
                         "(in the kit's checkout: .tools/bin/uv sync --frozen --all-extras)")
    assert not (tmp_path / "o").exists()  # refused before anything was written


def test_the_s3_stand_in_without_moto_is_one_line(monkeypatch):
    import sys

    from autograder.errors import DependencyError

    for name in [m for m in sys.modules if m == "moto" or m.startswith("moto.")] + ["moto"]:
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(DependencyError) as info:
        S3StandIn()
    assert info.value.package == "moto[server]"
    message = str(info.value)
    assert message.startswith("autograder cloud grade --local needs the cloud extra, and moto[server] is not "
                              "installed (") and "\n" not in message
    assert message.endswith("install it with pip install 'autograder[cloud]' "
                            "(in the kit's checkout: .tools/bin/uv sync --frozen --all-extras)")


@pytest.mark.slow
def test_local_mode_job_in_real_containers_matches_local_grading(grading_image, small_class, tmp_path, capsys):
    """The whole cloud path: upload to the S3 stand-in, the SDK's local mode starts two real
    containers of the grading image with docker-compose, each grades its share under the
    Processing contract, results come back through S3 and merge; parity with local grading."""
    assert grading_image == LOCAL_IMAGE
    cloud_out, local_out = tmp_path / "cloud", tmp_path / "local"
    code = main(["cloud", "grade", "linreg", "--submissions", str(small_class), "--out", str(cloud_out),
                 "--local", "--instances", "2", "--seed", "21"])
    captured = capsys.readouterr()
    assert code == 0, captured.err[-3000:]
    assert "S3 stand-in (moto server)" in captured.err
    hosts = {p.stem: json.loads(p.read_text()) for p in (cloud_out / "hosts").glob("*.json")}
    assert len(hosts) == 2
    assert sorted(s for m in hosts.values() for s in m["students"]) == ["ada", "bohr", "dirac", "only-polyreg"]
    for manifest in hosts.values():
        assert manifest["environment"]["kernel_python"] != str(REPO / ".venv" / "bin" / "python")  # in the image

    assert main(["grade", "linreg", "--submissions", str(small_class), "--out", str(local_out), "--seed", "21",
                 "-q"]) == 0
    capsys.readouterr()
    report = compare(local_out, cloud_out)
    assert report.ok, [m.line() for m in report.mismatches]
    rows = {row["student"]: (row["b"]["status"], row["b"]["score"]) for row in report.submissions}
    assert rows == {"ada": ("graded", 36.0), "bohr": ("graded", 32.0), "dirac": ("graded", 0.0),
                    "only-polyreg": ("missing", 0.0)}
    assert (cloud_out / "grades.csv").read_text() == (local_out / "grades.csv").read_text()


# --- faults on the way to and from S3, and --resume (issue 12, item 7) ----------------------------

@pytest.fixture
def s3_process(monkeypatch):
    """moto's S3 server as its own process on loopback (a stand-in for Amazon S3, reached through
    AWS_ENDPOINT_URL), so that a test can kill it, connections and all, as an S3 gone away."""
    import socket
    import subprocess
    import sys
    import time

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/").close()
            break
        except OSError:
            assert time.monotonic() < deadline, "moto's server did not start"
            time.sleep(0.2)
    for key, value in {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "eu-west-1", "AWS_MAX_ATTEMPTS": "2"}.items():
        monkeypatch.setenv(key, value)  # two attempts: botocore's retries kept short
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    boto3.client("s3").create_bucket(Bucket="course-bucket",
                                     CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    yield server
    server.kill()
    server.wait()


def _kill_server_at(monkeypatch, server, operation, nth):
    """SIGKILL the S3 server just before the ``nth`` call of ``operation`` goes out."""
    from botocore.client import BaseClient

    real, seen = BaseClient._make_api_call, []

    def call(self, name, params):
        if name == operation:
            seen.append(params.get("Key"))
            if len(seen) == nth:
                server.kill()
                server.wait()
        return real(self, name, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", call)
    return seen


def test_s3_gone_mid_upload_is_one_line_and_nothing_is_started(s3_process, small_class, tmp_path, capsys,
                                                                monkeypatch):
    seen = _kill_server_at(monkeypatch, s3_process, "PutObject", 3)
    out = tmp_path / "out"
    code = main(["cloud", "grade", "linreg", "--submissions", str(small_class), "--out", str(out),
                 "--bucket", "course-bucket", "--role", ROLE, "--image", IMAGE_URI, "--seed", "3"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 3 and len(seen) == 3, err
    assert err[-1].startswith("autograder: error: the upload to s3://course-bucket/autograder/autograder-linreg-")
    assert "/submissions stopped after 2 of 3 file(s), at dirac/linreg/linreg.ipynb: " in err[-1]
    assert err[-1].endswith("; no job was started and nothing was graded: run the same command again")
    assert "Traceback" not in "\n".join(err) and not out.exists()


def test_s3_gone_mid_download_says_how_far_it_got(s3_process, tmp_path, monkeypatch):
    from autograder.cloud import TransferError, download_prefix

    s3 = boto3.client("s3")
    for key in ("a", "b", "c"):
        s3.put_object(Bucket="course-bucket", Key=f"job/results/{key}", Body=key.encode())
    _kill_server_at(monkeypatch, s3_process, "HeadObject", 2)
    with pytest.raises(TransferError) as info:
        download_prefix(s3, "course-bucket", "job/results", tmp_path / "dest")
    assert str(info.value).startswith("the download of s3://course-bucket/job/results stopped after 1 of 3 "
                                      "file(s), at b: ")
    assert (tmp_path / "dest" / "a").read_text() == "a"


@pytest.fixture
def graded_out(small_class, tmp_path):
    """OUT as an earlier `cloud grade --seed 5` leaves it: each student's result (graded here
    with the same code and seed, which parity shows equal) and the job record."""
    out = tmp_path / "out"
    assert main(["grade", "linreg", "--submissions", str(small_class), "--out", str(out), "--seed", "5", "-q",
                 "--cell-timeout", "8", "--notebook-timeout", "40", "--call-timeout", "5"]) == 0
    (out / "cloud-job.json").write_text(json.dumps({"job": "autograder-linreg-earlier", "lab": "linreg", "seed": 5}))
    return out


@pytest.mark.slow
def test_resume_sends_only_the_students_whose_result_is_stale(aws, small_class, graded_out, tmp_path, capsys):
    import shutil

    subs = tmp_path / "subs"
    shutil.copytree(small_class, subs)
    capsys.readouterr()
    # Every result current: no job at all, the class file rewritten from OUT.
    (graded_out / "grades.csv").unlink()
    base = ["cloud", "grade", "linreg", "--submissions", str(subs), "--out", str(graded_out),
            "--bucket", "course-bucket", "--role", ROLE, "--image", IMAGE_URI, "--resume"]
    assert main(base) == 0
    out, err = capsys.readouterr()
    assert "resuming with seed 5: 4 student(s) keep their result" in err and ", 0 to grade" in err
    assert "hosts:     none: every student's result in OUT was current" in out
    assert boto3.client("sagemaker").list_processing_jobs()["ProcessingJobSummaries"] == []
    rows = (graded_out / "grades.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["ada", "bohr", "dirac", "only-polyreg"]

    # bohr resubmits: only bohr is sent, with the earlier seed.
    notebook = subs / "bohr" / "linreg" / "linreg.ipynb"
    nb = nbformat.read(str(notebook), as_version=4)
    nb.cells[-1].source += "\n# resubmitted"
    nbformat.write(nb, str(notebook))
    assert main(base) == 3  # moto's server runs no job: nothing comes back, which is said
    err = capsys.readouterr().err
    assert "resuming with seed 5: 3 student(s) keep their result" in err and ", 1 to grade" in err
    record = json.loads((graded_out / "cloud-job.json").read_text())
    assert record["seed"] == 5 and record["request"]["AppSpecification"]["ContainerArguments"][-1] == "5"
    keys = [o["Key"].split("/submissions/")[1] for o in boto3.client("s3").list_objects_v2(
        Bucket="course-bucket", Prefix=f"autograder/{record['job']}/submissions/")["Contents"]]
    assert sorted(keys) == ["bohr/.autograder-student", "bohr/linreg/linreg.ipynb"]


@pytest.mark.parametrize("record, extra, message", [
    (None, [], "--resume: {out} holds no cloud-job.json of an earlier `cloud grade`; run without --resume"),
    ({"lab": "polyreg", "seed": 5}, [], "--resume: {out} holds a job of lab polyreg, not linreg"),
    ({"lab": "linreg", "seed": 5}, ["--seed", "6"], "--resume grades with the earlier job's seed 5; --seed 6 "
                                                    "differs (drop --seed, or grade into a new OUT)"),
    ({"lab": "linreg", "seed": 5}, ["--submissions", "s3://b/p"], "--resume needs a local submissions folder (it "
                                                                  "compares each notebook with the result OUT "
                                                                  "holds for it)"),
])
def test_resume_refusals_are_one_line(aws, small_class, tmp_path, capsys, record, extra, message):
    out = tmp_path / "out"
    out.mkdir()
    if record:
        (out / "cloud-job.json").write_text(json.dumps(record))
    argv = ["cloud", "grade", "linreg", "--submissions", str(small_class), "--out", str(out), "--bucket",
            "course-bucket", "--role", ROLE, "--image", IMAGE_URI, "--resume", *extra]
    assert main(argv) == 2
    assert capsys.readouterr().err == f"autograder: error: {message.format(out=out)}\n"


@pytest.mark.slow
def test_a_host_container_killed_mid_job_keeps_what_finished_and_resume_grades_the_rest(grading_image, tmp_path):
    """Local mode, two real containers: one is killed (`docker kill`, as a lost instance) while the
    job runs. The launcher says so in one line and keeps every result its hosts finished; then
    `--resume` grades only the students left, and the class is whole and right."""
    import re
    import subprocess
    import sys
    import time

    lab = load_lab("linreg", REPO)
    students = load_demo_class(lab)
    subs = tmp_path / "submitted"
    build_class(lab, subs, {k: students[k] for k in ("ada", "bohr", "euler", "fermi", "gauss", "hopper")})
    out = tmp_path / "out"
    command = [sys.executable, "-m", "autograder.cli", "cloud", "grade", "linreg", "--submissions", str(subs),
               "--out", str(out), "--local", "--instances", "2", "--seed", "21", "--cell-timeout", "8",
               "--notebook-timeout", "40", "--call-timeout", "5"]
    before = set(subprocess.run(["docker", "ps", "-q"], capture_output=True, text=True).stdout.split())
    job = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    victim, deadline = None, time.monotonic() + 300
    while victim is None and time.monotonic() < deadline and job.poll() is None:
        listed = subprocess.run(["docker", "ps", "--format", "{{.ID}} {{.Names}}"], capture_output=True,
                                text=True).stdout.split("\n")
        # Local mode names a container <random>-algo-<n>-<random>.
        victim = next((line.split()[0] for line in listed if re.search(r"-algo-2-[a-z0-9]+$", line)
                       and line.split()[0] not in before), None)
        time.sleep(0.5)
    assert victim, "the job's second container never ran"
    time.sleep(8)  # mid-job: its kernels are busy with a notebook
    subprocess.run(["docker", "kill", victim], capture_output=True, check=True)
    stdout, stderr = job.communicate(timeout=600)
    lines = stderr.strip().splitlines()
    assert job.returncode == 3, stderr[-3000:]
    assert lines[-1].startswith("autograder: error: processing job autograder-linreg-")
    assert " failed: a container of the local-mode job exited with code 137 (killed: SIGKILL, `docker kill` or " \
        "out of memory), and docker-compose stopped the others; " in lines[-1]
    kept = sorted(p.parent.parent.name for p in out.glob("*/linreg/result.json"))
    assert len(kept) < 6 and not (out / "grades.csv").exists()
    if kept:
        assert f"the {len(kept)} result(s) its hosts finished are kept in {out}" in lines[-1]

    resumed = subprocess.run(command + ["--resume"], capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"resuming with seed 21: {len(kept)} student(s) keep their result in {out}, {6 - len(kept)} to grade" \
        in resumed.stderr
    rows = {line.split(",")[0]: line.split(",") for line in (out / "grades.csv").read_text().splitlines()[1:]}
    scores = {json.loads(p.read_text())["student"]: json.loads(p.read_text())["score"]
              for p in out.glob("*/linreg/result.json")}
    assert sorted(rows) == ["ada", "bohr", "euler", "fermi", "gauss", "hopper"]
    assert scores == {"ada": 36.0, "bohr": 32.0, "euler": 32.0, "fermi": 32.0, "gauss": 31.0, "hopper": 33.0}
