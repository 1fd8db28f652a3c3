"""The command line: exit statuses and the one-line messages a user sees."""
import json

import pytest

from autograder.cli import main

from conftest import REPO


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_unknown_lab(capsys, course, tmp_path):
    code, out, err = run(capsys, "grade", "nope", "--submissions", str(tmp_path), "--out", str(tmp_path / "o"),
                         "--course", str(course))
    assert code == 2
    assert err == "autograder: error: unknown lab 'nope' (labs in this course: linreg, polyreg, cloud)\n"


def test_missing_submissions_folder(capsys, course, tmp_path):
    code, out, err = run(capsys, "grade", "linreg", "--submissions", str(tmp_path / "nowhere"),
                         "--out", str(tmp_path / "o"), "--course", str(course))
    assert code == 2
    assert err == f"autograder: error: submissions folder {tmp_path / 'nowhere'} does not exist\n"


def test_unknown_student(capsys, course, tmp_path):
    code, out, err = run(capsys, "grade", "linreg", "--submissions", str(tmp_path), "--out", str(tmp_path / "o"),
                         "--student", "zed", "--course", str(course))
    assert code == 2
    assert err == f"autograder: error: no submission folder for student 'zed' in {tmp_path}\n"


def test_bad_option_value(capsys, course, tmp_path):
    code, out, err = run(capsys, "grade", "linreg", "--submissions", str(tmp_path), "--out", str(tmp_path / "o"),
                         "--workers", "0", "--course", str(course))
    assert code == 2
    assert err == "autograder: error: workers must be at least 1, got 0\n"


def test_usage_error_exits_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["grade"])
    assert info.value.code == 2


def test_labs(capsys):
    code, out, err = run(capsys, "labs", "--course", str(REPO))
    assert code == 0
    lines = out.splitlines()
    assert [line.split()[0] for line in lines] == ["linreg", "polyreg", "cloud"]
    assert "linreg     Lab 1: Stellar luminosity from first principles  (36 autograded points + 4 by hand; " \
           "functions 22: predict, compute_cost, compute_gradient_loop, compute_gradient, cost_grid, gradient_descent; " \
           "figures 9: plot_data, plot_cost_surface, plot_convergence, plot_fit; experiments 3: compare_learning_rates; " \
           "compliance 2: compliance)" in lines


def test_labs_json_gives_points_by_kind(capsys):
    code, out, _ = run(capsys, "labs", "--json", "--course", str(REPO))
    assert code == 0
    doc = {entry["lab"]: entry for entry in json.loads(out)}
    assert list(doc) == ["linreg", "polyreg", "cloud"]
    linreg = doc["linreg"]
    assert linreg["points_by_kind"] == {"function": 22.0, "figure": 9.0, "experiment": 3.0, "compliance": 2.0,
                                        "manual": 4.0}
    assert sum(p["points"] for p in linreg["parts"]) == linreg["autograded_points"] == 36.0
    assert {p["name"]: p["kind"] for p in linreg["parts"]}["plot_cost_surface"] == "figure"
    for entry in doc.values():  # every lab's kinds add up to its points
        kinds = entry["points_by_kind"]
        assert sum(v for k, v in kinds.items() if k != "manual") == entry["autograded_points"]


@pytest.mark.slow
def test_grade_an_invalid_submission_exits_0_with_a_table(capsys, course, tmp_path):
    (tmp_path / "s" / "amy" / "linreg").mkdir(parents=True)
    (tmp_path / "s" / "amy" / "linreg" / "linreg.ipynb").write_text("")
    code, out, err = run(capsys, "grade", "linreg", "--submissions", str(tmp_path / "s"), "--out",
                         str(tmp_path / "o"), "--course", str(course))
    assert code == 0
    assert "amy " in out and "0/36  invalid: linreg.ipynb is empty (0 bytes)" in out
    assert "[1/1] 1 not graded amy: invalid 0/36  (elapsed" in err
    assert (tmp_path / "o" / "grades.csv").is_file()


@pytest.mark.parametrize("where, message", [
    ("s/o", "the results folder {s}/o is inside the submissions folder {s}; its results would be read as a "
            "student's folder: give an --out outside it"),
    ("s", "the results folder {s} is the submissions folder; give another --out (for example beside it, as "
          "nbgrader's autograded/ is beside submitted/)"),
    (".", "the submissions folder {s} is inside the results folder {t}; give an --out that does not hold the "
          "submissions"),
    ("file", "the results folder {t}/file is a file, not a folder"),
])
def test_a_results_folder_overlapping_the_submissions_is_refused(capsys, course, tmp_path, where, message):
    subs = tmp_path / "s"
    (subs / "amy" / "linreg").mkdir(parents=True)
    (tmp_path / "file").write_text("x")
    out = tmp_path / where if where != "." else tmp_path
    code, _, err = run(capsys, "grade", "linreg", "--submissions", str(subs), "--out", str(out),
                       "--course", str(course))
    assert (code, err) == (2, "autograder: error: " + message.format(s=subs, t=tmp_path) + "\n")
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == ["file", "s", "s/amy", "s/amy/linreg"]


def test_thousands_of_empty_student_folders_are_each_missing_in_one_run(capsys, course, tmp_path):
    """10,000 were tried by hand (README); 2,000 keep the suite quick."""
    subs = tmp_path / "s"
    for i in range(2000):
        (subs / f"s{i:04d}").mkdir(parents=True)
    code, out, err = run(capsys, "grade", "linreg", "--submissions", str(subs), "--out", str(tmp_path / "o"),
                         "--course", str(course), "-q")
    assert code == 0, err
    assert "not graded: 2000 missing (each student's reason is in the table and its result.json)" in out
    statuses = {json.loads(p.read_text())["status"] for p in (tmp_path / "o").glob("*/linreg/result.json")}
    assert statuses == {"missing"} and len(list((tmp_path / "o").glob("*/linreg/result.json"))) == 2000
    assert len((tmp_path / "o" / "grades.csv").read_text().splitlines()) == 2001


@pytest.mark.slow
def test_release_check(capsys):
    code, out, err = run(capsys, "release", "linreg", "--check", "--course", str(REPO))
    assert code == 0
    assert out == "release/linreg is current and leak-free (linreg.ipynb)\n"


def test_a_broken_course_file_is_the_same_line_from_release_grade_and_cloud_grade(capsys, tmp_path):
    from conftest import copy_course

    root = copy_course(tmp_path / "course")
    (root / "nbgrader_config.py").write_text("c = get_config()\nc.CourseDirectory.course_id = 'x\n")
    commands = [["release", "linreg"],
                ["grade", "linreg", "--submissions", str(tmp_path), "--out", str(tmp_path / "o")],
                ["cloud", "grade", "linreg", "--submissions", str(tmp_path), "--out", str(tmp_path / "c"), "--local"]]
    seen = set()
    for argv in commands:
        code, out, err = run(capsys, *argv, "--course", str(root))
        assert code == 2, argv
        seen.add(err)
    [err] = seen  # the same line from each command
    assert err.startswith(f"autograder: error: cannot read {root / 'nbgrader_config.py'}: ")
    assert err.endswith("(nbgrader_config.py, line 2)\n") and err.count("\n") == 1


@pytest.mark.parametrize("argv, message", [
    (["grade", "linreg", "--judge-timeout", "0"], "judge_timeout must be a positive number of seconds, got 0.0"),
    (["grade", "linreg", "--call-timeout", "-2"], "call_timeout must be a positive number of seconds, got -2.0"),
    (["cloud", "grade", "linreg", "--cell-timeout", "0"], "cell_timeout must be a positive number of seconds, got 0.0"),
    (["cloud", "grade", "linreg", "--notebook-timeout", "-1"],
     "notebook_timeout must be a positive number of seconds, got -1.0"),
])
def test_limits_reach_the_configuration_in_grade_and_cloud_grade(argv, message, capsys, course, tmp_path):
    code, out, err = run(capsys, *argv, "--submissions", str(tmp_path), "--out", str(tmp_path / "o"),
                         "--course", str(course))
    assert (code, err) == (2, f"autograder: error: {message}\n")


def test_option_defaults_are_the_library_functions_defaults(capsys):
    import inspect

    from autograder.bench import run_bench
    from autograder.cli import build_parser
    from autograder.cloud import JobSpec, cloud_grade
    from autograder.demo import run_demo
    from autograder.exports import export_lab
    from autograder.parity import compare

    def default(function, name):
        return inspect.signature(function).parameters[name].default

    parse = build_parser().parse_args
    parity = parse(["parity", "a", "b"])
    assert (parity.rtol, parity.atol) == (default(compare, "rtol"), default(compare, "atol")) == (1e-9, 1e-12)
    cloud = parse(["cloud", "grade", "linreg", "--submissions", "s", "--out", "o"])
    assert (cloud.instances, cloud.instance_type, cloud.max_runtime, cloud.workers) == \
        tuple(default(cloud_grade, name) for name in ("instances", "instance_type", "max_runtime", "workers")) == \
        (JobSpec.instances, JobSpec.instance_type, JobSpec.max_runtime, None) == (1, "ml.c5.xlarge", 3600, None)
    assert (cloud.cell_timeout, cloud.notebook_timeout, cloud.call_timeout, cloud.judge_timeout) == (None,) * 4
    bench = parse(["bench"])
    assert (bench.submissions, bench.lab) == (default(run_bench, "submissions"), default(run_bench, "lab_name"))
    assert parse(["demo"]).out == default(run_demo, "out")
    assert parse(["export", "linreg", "--results", "r"]).visibility == default(export_lab, "visibility")

    # The help shows the same values.
    helps = {}
    for command in (["parity"], ["cloud", "grade"], ["bench"], ["demo"], ["export"]):
        with pytest.raises(SystemExit):
            main([*command, "--help"])
        helps[" ".join(command)] = " ".join(capsys.readouterr().out.split())
    assert "relative tolerance for compared values (default 1e-09)" in helps["parity"]
    assert "absolute tolerance for compared values (default 1e-12)" in helps["parity"]
    assert "hosts; each grades every n-th student (default 1)" in helps["cloud grade"]
    assert "--instance-type INSTANCE_TYPE (default ml.c5.xlarge;" in helps["cloud grade"]
    assert "stopping condition in seconds (default 3600)" in helps["cloud grade"]
    assert "--local default: autograder-grader:latest" in helps["cloud grade"]
    assert "seconds per notebook cell (default: nbgrader_config.py's c.Autograder.cell_timeout or " \
           "AUTOGRADER_CELL_TIMEOUT, else 20)" in helps["cloud grade"]
    assert "size of the generated class (default 40)" in helps["bench"]
    assert "demo folder (default: ./demo/<lab>)" in helps["demo"]
    assert "Gradescope visibility of the results (default: visible)" in helps["export"]


def test_exit_statuses_are_the_error_classes(capsys):
    import inspect
    import re

    from autograder import cli
    from autograder.errors import (AutograderError, CheckFailed, ConfigError, CourseError, DependencyError,
                                   GraderFault, ReleaseError, SubmissionError)

    assert [c.exit_code for c in (AutograderError, ConfigError, CourseError, DependencyError, SubmissionError)] == \
        [2] * 5
    assert (CheckFailed.exit_code, ReleaseError.exit_code, GraderFault.exit_code) == (1, 1, 3)
    assert cli._exit_status() == cli._exit_status(None, None) == 0
    assert cli._exit_status(None, CheckFailed) == 1
    assert cli._exit_status(AutograderError, GraderFault, CheckFailed) == 3
    # No command spells a status: Ctrl-C and SIGTERM are the Stopped class's (128 + the signal).
    assert re.findall(r"return ([1-9][0-9]*)\b", inspect.getsource(cli)) == []
    from autograder.errors import OutputError, Stopped

    assert (OutputError.exit_code, Stopped(2).exit_code, Stopped(15).exit_code) == (2, 130, 143)
