"""The grading image (infra/Dockerfile, built by infra/build-image.sh) and the infra assets.

The image tests build the real image once per session with the real script (no network inside
the build, a debootstrap base where no registry can be pulled from) and look inside it with
real containers. They skip, saying why, only where Docker cannot run. The IAM and template
tests need no Docker.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import BUILD_SCRIPT, REPO

KEY_PACKAGES = ("numpy", "nbgrader", "papermill", "ipykernel", "matplotlib")
ENTRYPOINT = ["python3", "-m", "autograder.processing"]


def in_image(image: str, code: str) -> str:
    """Run Python code in a throw-away container of ``image`` (no network) and return its stdout."""
    run = subprocess.run(["docker", "run", "--rm", "--network", "none", "--entrypoint", "python3", image, "-c", code],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, f"python3 in {image} failed: {run.stderr[-2000:]}"
    return run.stdout


def lock_versions(marker_env: dict) -> dict[str, str]:
    """The version uv.lock pins for each package that applies to an interpreter with ``marker_env``
    (the lock exported as the image's build does, markers evaluated here, independently)."""
    from packaging.markers import Marker
    from packaging.utils import canonicalize_name

    export = subprocess.run([str(REPO / ".tools" / "bin" / "uv"), "export", "--frozen", "--no-dev",
                             "--no-emit-project", "--no-hashes", "--project", str(REPO)],
                            capture_output=True, text=True, check=True, env={**os.environ, "UV_NO_PROGRESS": "1"})
    versions: dict[str, str] = {}
    for line in export.stdout.splitlines():
        if not line or line[0] in "# " or "==" not in line:
            continue
        requirement, _, marker = line.partition(" ; ")
        if marker and not Marker(marker.strip()).evaluate(marker_env):
            continue
        name, _, version = requirement.strip().partition("==")
        assert canonicalize_name(name) not in versions, f"the lock pins {name} twice for this interpreter"
        versions[canonicalize_name(name)] = version.strip()
    return versions


# ------------------------------------------------------------------------------------- the image


@pytest.mark.slow
def test_image_installs_exactly_the_locked_versions(grading_image):
    found = json.loads(in_image(grading_image, """
import importlib.metadata as m, json, os, platform, sys
print(json.dumps({
    "env": {"implementation_name": sys.implementation.name, "implementation_version": platform.python_version(),
            "os_name": os.name, "platform_machine": platform.machine(), "platform_release": platform.release(),
            "platform_system": platform.system(), "platform_version": platform.version(),
            "python_full_version": platform.python_version(),
            "platform_python_implementation": platform.python_implementation(),
            "python_version": ".".join(platform.python_version_tuple()[:2]), "sys_platform": sys.platform},
    "installed": {d.metadata["Name"]: d.version for d in m.distributions()},
}))"""))
    from packaging.utils import canonicalize_name

    installed = {canonicalize_name(name): version for name, version in found["installed"].items()}
    locked = lock_versions(found["env"])
    for name in KEY_PACKAGES:
        assert name in locked, f"{name} is not in the lock"
        assert installed.get(name) == locked[name], f"{name}: image has {installed.get(name)}, lock pins {locked[name]}"
    # Every locked package is there at its locked version, and nothing else is (pip comes with the venv).
    wrong = {name: (installed.get(name), version) for name, version in locked.items() if installed.get(name) != version}
    assert not wrong, f"image differs from the lock (image, lock): {wrong}"
    extra = set(installed) - set(locked) - {"pip", "autograder"}
    assert not extra, f"installed but not locked: {sorted(extra)}"


@pytest.mark.slow
def test_image_runs_the_processing_entrypoint_of_this_working_tree(grading_image):
    inspect = subprocess.run(["docker", "image", "inspect", grading_image, "--format", "{{json .Config}}"],
                             capture_output=True, text=True, check=True)
    config = json.loads(inspect.stdout)
    assert config["Entrypoint"] == ENTRYPOINT
    assert config.get("User", "") in ("", "root", "0")
    # The entrypoint module is there and is this tree's code: every module of the package matches.
    digests = json.loads(in_image(grading_image, """
import hashlib, json, pathlib, autograder, importlib.util
assert importlib.util.find_spec("autograder.processing") is not None
root = pathlib.Path(autograder.__file__).parent
print(json.dumps({p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                  for p in sorted(root.rglob("*.py"))}))"""))
    ours = {p.relative_to(REPO / "autograder").as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted((REPO / "autograder").rglob("*.py")) if "__pycache__" not in p.parts}
    assert "processing.py" in digests
    assert digests == ours, f"stale modules in the image: {sorted(set(digests.items()) ^ set(ours.items()))}"
    # And the entrypoint itself starts (its own usage line, without a job).
    run = subprocess.run(["docker", "run", "--rm", "--network", "none", grading_image, "--help"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "autograder.processing" in run.stdout and "--lab" in run.stdout


@pytest.mark.slow
def test_image_has_what_the_kernels_need(grading_image):
    facts = json.loads(in_image(grading_image, """
import glob, json, os, tempfile
from importlib.metadata import version
from jupyter_client.kernelspec import KernelSpecManager
spec = KernelSpecManager().get_kernel_spec("python3")
home = os.environ["HOME"]
print(json.dumps({
    "argv0": spec.argv[0], "uid": os.getuid(), "home": home, "home_writable": os.access(home, os.W_OK),
    "mpl_cache": glob.glob(os.path.join(os.environ["MPLCONFIGDIR"], "fontlist-*.json")),
    "grader_mpl_cache": glob.glob(os.path.join(tempfile.gettempdir(),
                                               f"autograder-mpl-0-{version('matplotlib')}", "fontlist-*.json")),
    "path0": os.environ["PATH"].split(":")[0],
}))"""))
    assert facts["argv0"] in ("/opt/autograder/bin/python", "/opt/autograder/bin/python3")  # this environment's
    assert facts["uid"] == 0 and facts["home"] == "/root" and facts["home_writable"]
    assert len(facts["mpl_cache"]) == 1, "matplotlib's font cache was not built into the image"
    assert len(facts["grader_mpl_cache"]) == 1, "the grader's per-kernel font cache was not built into the image"
    assert facts["path0"] == "/opt/autograder/bin"


@pytest.mark.slow
def test_build_script_names_a_base_it_cannot_pull_in_one_line(grading_image, tmp_path):
    run = subprocess.run(["bash", str(BUILD_SCRIPT), "autograder-grader:never-built"], capture_output=True, text=True,
                         timeout=600, env={**os.environ, "BASE_IMAGE": "autograder-test/no-such-base:0",
                                           "IMAGE_BUILD_DIR": str(tmp_path)})
    assert run.returncode != 0
    errors = [line for line in run.stderr.splitlines() if line.startswith("build-image: error:")]
    assert len(errors) == 1 and "BASE_IMAGE=autograder-test/no-such-base:0" in errors[0], run.stderr
    assert "Traceback" not in run.stderr


def test_build_script_refuses_an_unknown_option():
    run = subprocess.run(["bash", str(BUILD_SCRIPT), "--fast"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert run.stderr.strip() == "build-image: error: unknown option --fast (usage: infra/build-image.sh [TAG])"


# ------------------------------------------------------------------------- IAM policy and template


def _template() -> dict:
    from cfnlint.decode import decode

    template, problems = decode(str(REPO / "infra" / "template.yaml"))
    assert not problems, problems
    return json.loads(json.dumps(template))


def _unsub(value):
    """The template's documents with each {"Fn::Sub": "..."} replaced by its string: the form of
    infra/iam-policy.json, whose placeholders use the same names."""
    if isinstance(value, dict):
        if set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
            return value["Fn::Sub"]
        return {key: _unsub(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_unsub(item) for item in value]
    return value


def _policies() -> dict:
    return json.loads((REPO / "infra" / "iam-policy.json").read_text())


def test_template_documents_are_those_of_iam_policy_json():
    resources = _unsub(_template()["Resources"])
    role = resources["ExecutionRole"]["Properties"]
    documents = _policies()
    assert role["AssumeRolePolicyDocument"] == documents["ExecutionRoleTrustPolicy"]
    assert [p["PolicyDocument"] for p in role["Policies"]] == [documents["ExecutionRolePolicy"]]
    assert resources["LauncherPolicy"]["Properties"]["PolicyDocument"] == documents["LauncherPolicy"]
    # Every placeholder used is explained.
    text = json.dumps({k: v for k, v in documents.items() if k.endswith("Policy")})
    import re

    assert set(re.findall(r"\$\{[^}]+\}", text)) == set(documents["Placeholders"])


def test_policies_are_least_privilege():
    documents = _policies()
    wildcard_ok = {"ecr:GetAuthorizationToken", "cloudwatch:PutMetricData"}
    for name in ("ExecutionRolePolicy", "LauncherPolicy"):
        for statement in documents[name]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            assert all("*" not in action for action in actions), (name, statement["Sid"])
            if statement["Effect"] == "Allow" and "*" in resources:
                assert set(actions) <= wildcard_ok, (name, statement["Sid"])
            for resource in resources:
                if resource.startswith("arn:${AWS::Partition}:s3:::${Bucket}/"):
                    assert resource.startswith("arn:${AWS::Partition}:s3:::${Bucket}/${Prefix}/*/"), resource
    execution = {s["Sid"]: s for s in documents["ExecutionRolePolicy"]["Statement"]}
    assert execution["WriteResults"]["Resource"].endswith("/results/*")
    assert execution["ReadSubmissionsAndCourse"]["Action"] == "s3:GetObject"
    assert execution["ProcessingJobMetricsOnly"]["Condition"] == {
        "StringEquals": {"cloudwatch:namespace": "/aws/sagemaker/ProcessingJobs"}}
    launcher = {s["Sid"]: s for s in documents["LauncherPolicy"]["Statement"]}
    pass_role = launcher["PassOnlyTheExecutionRoleOnlyToSageMaker"]
    assert pass_role["Resource"] == "${ExecutionRole.Arn}"
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}
    assert launcher["RefuseJobsWithNetworkAccess"]["Effect"] == "Deny"
    job_actions = {a for s in documents["LauncherPolicy"]["Statement"] if s["Effect"] == "Allow"
                   for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"]) if a.startswith("sagemaker:")}
    assert job_actions == {"sagemaker:CreateProcessingJob", "sagemaker:DescribeProcessingJob",
                           "sagemaker:StopProcessingJob", "sagemaker:AddTags"}
    trust = documents["ExecutionRoleTrustPolicy"]["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "sagemaker.amazonaws.com"}]


def test_template_passes_cfn_lint():
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    if not cfn_lint.exists():
        pytest.skip("cfn-lint is not installed in this environment (moto[server] in the dev group brings it)")
    run = subprocess.run([str(cfn_lint), "--regions", "us-east-1", "eu-west-1", "--", str(REPO / "infra" / "template.yaml")],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    template = _template()
    bucket = template["Resources"]["Bucket"]["Properties"]
    assert bucket["PublicAccessBlockConfiguration"] == {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                                        "IgnorePublicAcls": True, "RestrictPublicBuckets": True}
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert set(template["Outputs"]) >= {"BucketName", "ExecutionRoleArn", "RepositoryUri"}


HOSTILE_CELL = """
import os, glob
print("uid", os.getuid())
for path in ("/opt/ml/processing/input/course/autograder/labs/linreg/test_linreg.py",
             "/opt/ml/processing/input/course/source/linreg/linreg.ipynb"):
    try:
        open(path).read()
        print("READ", path)
    except OSError as e:
        print("refused", type(e).__name__)
for path in ("/opt/ml/processing/output/results/mallory/linreg/result.json",
             "/opt/ml/processing/output/results/grades.csv"):
    try:
        open(path, "w").write("{}")
        print("WROTE", path)
    except OSError as e:
        print("refused", type(e).__name__)
"""


@pytest.mark.slow
def test_kernels_in_the_container_run_unprivileged_and_cannot_reach_hidden_files(grading_image, tmp_path):
    """Docker (like SageMaker) refuses namespaces, but each kernel still gets a uid of its own and
    the course bundle, submissions and results are closed to it by permissions."""
    import nbformat

    from autograder.course import load_lab
    from autograder.demo import build_submission
    from autograder.processing import write_bundle, write_contract

    lab = load_lab("linreg", REPO)
    subs = tmp_path / "submitted"
    (subs / "mallory" / "linreg").mkdir(parents=True)
    nbformat.write(build_submission(lab, {}, insert_after={"predict": HOSTILE_CELL}),
                   str(subs / "mallory" / "linreg" / "linreg.ipynb"))
    root = tmp_path / "root"
    write_contract(root, submissions=subs, course_bundle=write_bundle(REPO, "linreg", tmp_path / "bundle"),
                   hosts=["algo-1"], current_host="algo-1", arguments=["--lab", "linreg", "--seed", "5"])
    run = subprocess.run(["docker", "run", "--rm", "--network", "none", "-v", f"{root / 'opt/ml'}:/opt/ml",
                          grading_image, "--lab", "linreg", "--seed", "5"], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:] + run.stdout[-2000:]
    folder = root / "opt/ml/processing/output/results/mallory/linreg"
    result = json.loads((folder / "result.json").read_text())
    # Full marks but the compliance points: the hostile cell imports os and glob, which Lab 1 does not allow.
    assert result["status"] == "graded" and result["score"] == 34
    assert {n: f["points"] for n, f in result["functions"].items() if f["points"] != f["max_points"]} == {"compliance": 0.0}
    sandbox = result["execution"]["sandbox"]
    assert sandbox["enforced"] and sandbox["hidden_by"] == "permissions (0700)"
    executed = nbformat.read(str(folder / "linreg.ipynb"), as_version=4)
    [printed] = [o.get("text", "") for c in executed.cells if "HOSTILE" not in c.source and "print(\"uid\"" in c.source
                 for o in c.get("outputs", []) if o.get("name") == "stdout"]
    lines = printed.splitlines()
    assert lines[0].startswith("uid ") and lines[0] != "uid 0"
    assert lines[1:] == ["refused PermissionError"] * 4, lines
