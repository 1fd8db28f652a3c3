"""Hostile and broken submissions for Lab 1: each gets its true score and a clear status."""

import os

import nbformat
import pytest

from autograder.course import load_lab
from autograder.demo import build_submission, solutions
from autograder.grade import grade_class

from conftest import FAST, kernel_processes_left

pytestmark = pytest.mark.slow

# The fork bomb of issue 12: its children sleep on, holding the kernel's process limit, unless the
# grader stops them when the cell ends.
BOMB = "import os, time\nfor _i in range(3000):\n    if os.fork() == 0:\n        time.sleep(20); os._exit(0)\n"

CASES = {
    # student: (cells inserted after a grade id, answers replaced, expected score, expected note/message part)
    # Of 36. Every case imports a module the lab does not allow (os, sys, ctypes, builtins), which
    # costs the 2 compliance points; the rest is what the functions and figures earn.
    "exit_in_plain_cell": ({"fit_intro": "import os\nos._exit(1)"}, {}, 34.0, "killed its kernel"),
    "segfault": ({"rates_intro": "import ctypes\nctypes.string_at(0)"}, {}, 34.0, "killed its kernel"),
    # The cell that defines cost_grid kills the kernel, so it is left out of the recovery run: its
    # 3 points go, and the cost surface, which needs it, cannot be drawn (3 more).
    "exit_in_answer_cell": ({}, {"cost_grid": "import numpy as np\n\ndef cost_grid(x, y, w_values, b_values):\n"
                                             "    return np.zeros((len(b_values), len(w_values)))\n\n"
                                             "import os\nos._exit(3)"}, 28.0, "without cost_grid"),
    "sys_exit": ({"data": "import sys\nsys.exit(0)"}, {}, 34.0, ""),
    # compute_cost returns 0 (4 points); the patched builtins break matplotlib's autoscaling in the
    # student's own kernel, so the cost surface's axes really are wrong (1 point).
    "patches_numpy": ({"data": "import numpy as np\nnp.allclose = lambda *a, **k: True\n"
                               "np.testing.assert_allclose = lambda *a, **k: None\n"
                               "import builtins\nbuiltins.abs = lambda v: 0"},
                      {"compute_cost": "def compute_cost(x, y, w, b):\n    return 0.0"}, 29.0, ""),
    # An ndarray subclass that claims equality with anything and lies about its values: the judge
    # reads the real buffer and compares in its own process, so only the shape point survives.
    "lying_objects": ({}, {"cost_grid": "import numpy as np\nclass Liar(np.ndarray):\n"
                                        "    def __eq__(self, other):\n        return True\n"
                                        "    def tolist(self):\n        return [1.0]\n\n"
                                        "def cost_grid(x, y, w_values, b_values):\n"
                                        "    return np.zeros((len(b_values), len(w_values))).view(Liar)"},
                      34.0, ""),
    # The bomb at the top of an answer cell: the fork that fails at the process limit raises, so
    # that cell's function is never defined (4 points); every other part keeps its points.
    "lingering_fork_bomb": ({}, {"compute_gradient_loop": lambda solution: BOMB + solution}, 30.0,
                            "processes running when it finished"),
    # A function that leaves 20 sleeping children behind on every call, and is right: what each
    # call leaves is stopped, so the later calls (and the other functions) still have processes.
    "forks_when_called": ({}, {"compute_gradient_loop": lambda solution: solution.replace(
        "def compute_gradient_loop(x, y, w, b):\n",
        "def compute_gradient_loop(x, y, w, b):\n    import os, time\n    for _ in range(20):\n"
        "        if os.fork() == 0:\n            time.sleep(20); os._exit(0)\n", 1)}, 34.0, ""),
}


@pytest.fixture(scope="module")
def graded(course, tmp_path_factory):
    lab = load_lab("linreg", course)
    subs = tmp_path_factory.mktemp("hostile")
    reference = solutions(lab)
    for student, (insert, answers, _, _) in CASES.items():
        folder = subs / student / "linreg"
        folder.mkdir(parents=True)
        answers = {k: v(reference[k]) if callable(v) else v for k, v in answers.items()}
        nbformat.write(build_submission(lab, answers, insert), str(folder / "linreg.ipynb"))
    honest = subs / "honest" / "linreg"
    honest.mkdir(parents=True)
    nbformat.write(build_submission(lab, {}), str(honest / "linreg.ipynb"))
    outside = subs.parent / "outside.ipynb"
    nbformat.write(build_submission(lab, {}), str(outside))
    (subs / "symlinked" / "linreg").mkdir(parents=True)
    os.symlink(outside, subs / "symlinked" / "linreg" / "linreg.ipynb")
    out = tmp_path_factory.mktemp("hostile-out")
    result = grade_class("linreg", submissions=subs, out=out, seed=5, course_root=course, config=FAST)
    return {r.student: r.to_json() for r in result.results}


@pytest.mark.parametrize("student", sorted(CASES))
def test_true_score_and_clear_note(graded, student):
    _, _, score, note = CASES[student]
    result = graded[student]
    assert result["status"] == "graded"
    assert result["score"] == score, [(t["name"], t["message"]) for t in result["tests"] if t["status"] != "passed"]
    if note:
        assert any(note in n for n in result["notes"]), result["notes"]


def test_a_killed_kernel_is_reported(graded):
    problems = graded["exit_in_plain_cell"]["execution"]["problems"]
    assert [p["kind"] for p in problems] == ["kernel_died"]
    assert graded["exit_in_plain_cell"]["message"] == "1 cell killed the kernel"


def test_symlinked_submission_is_refused(graded):
    result = graded["symlinked"]
    assert (result["status"], result["score"]) == ("invalid", 0.0)
    assert result["message"] == "the notebook is a symbolic link, which is not graded: submit the files themselves"


def test_the_rest_of_the_batch_is_graded_as_alone(graded):
    assert graded["honest"]["score"] == 36.0
    assert all(r["status"] == "graded" and not r["grader_errors"] for r in graded.values() if r["student"] != "symlinked")


def test_a_lingering_fork_bomb_costs_only_its_cell(graded):
    bomber = graded["lingering_fork_bomb"]
    lost = {t["function"] for t in bomber["tests"] if t["points"] < t["max_points"]}
    assert lost == {"compute_gradient_loop", "compliance"}, lost
    problems = bomber["execution"]["problems"]
    # The bomb's cell raised at the process limit; after it, only the cells that use the function it
    # never defined fail (no later cell is short of a thread or a process).
    assert problems[0]["ename"] == "BlockingIOError", problems
    assert all(p["ename"] == "NameError" and "compute_gradient_loop" in p["evalue"] for p in problems[1:]), problems
    assert any("stopped them" in n for n in bomber["notes"]), bomber["notes"]
    assert kernel_processes_left() == []  # nothing a kernel started outlives the batch


def test_sigkill_mid_batch_then_rerun_resumes_with_the_same_results(course, tmp_path):
    """Nothing is lost: kill the grader with SIGKILL mid-batch, run again, get what one run gives."""
    import json
    import signal
    import subprocess
    import sys
    import time

    lab = load_lab("linreg", course)
    subs = tmp_path / "submitted"
    for i in range(6):
        folder = subs / f"s{i}" / "linreg"
        folder.mkdir(parents=True)
        answers = {} if i % 2 == 0 else {"compute_cost": "def compute_cost(x, y, w, b):\n    return 1.0"}
        nbformat.write(build_submission(lab, answers), str(folder / "linreg.ipynb"))
    command = [sys.executable, "-m", "autograder.cli", "grade", "linreg", "--submissions", str(subs),
               "--seed", "3", "--workers", "2", "--course", str(course), "-q"]
    killed_out = tmp_path / "killed"
    proc = subprocess.Popen(command + ["--out", str(killed_out)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    while len(list(killed_out.glob("*/linreg/result.json"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # the grader, its workers, their zygotes and kernels
    proc.wait()
    finished = len(list(killed_out.glob("*/linreg/result.json")))
    assert 2 <= finished < 6
    resumed = subprocess.run(command + ["--out", str(killed_out)], capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert f"reused {finished} unchanged result(s)" in resumed.stdout
    clean = subprocess.run(command + ["--out", str(tmp_path / "clean")], capture_output=True, text=True)
    assert clean.returncode == 0

    def outcome(folder):
        rows = {}
        for path in sorted(folder.glob("*/linreg/result.json")):
            r = json.loads(path.read_text())
            rows[r["student"]] = (r["status"], r["score"], [(t["name"], t["points"], t["message"]) for t in r["tests"]])
        return rows

    assert outcome(killed_out) == outcome(tmp_path / "clean")
    assert [s for s, (_, score, _) in sorted(outcome(killed_out).items())] == [f"s{i}" for i in range(6)]
    assert {score for _, score, _ in outcome(killed_out).values()} == {36.0, 32.0}
    assert list(killed_out.glob("*/linreg/.partial.*")) == []  # the interrupted ones were graded again


def test_functions_slow_on_every_call_cannot_stretch_the_batch(course, tmp_path):
    """A predict that sleeps 0.4 s per call stays under the 5 s call limit every time; the
    judge's total budget for student code (judge_timeout) still ends its judging on time."""
    from conftest import grade_one

    slow = ("import time\nimport numpy as np\n\ndef predict(x, w, b):\n    time.sleep(0.4)\n"
            "    return w * np.asarray(x, dtype=float) + b")
    result = grade_one(course, tmp_path, "linreg", {"predict": slow}, judge_timeout=2.0, workers=1)
    assert result["status"] == "graded"
    refused = [t for t in result["tests"] if "are used up" in t["message"] or "ran out" in t["message"]]
    assert refused, [t["message"] for t in result["tests"]]
    assert result["score"] < 36
    assert result["timings"]["judge"] < 2.0 + 10  # the budget, plus the judge's own work and one interrupt
