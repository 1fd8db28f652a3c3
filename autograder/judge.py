"""Stage 4 of the flow: judge. Run a lab's hidden pytest suite in the grader's own process
against a live student kernel, and turn each test into a result row.

The suite's tests call the student's functions through ``KernelBridge`` (values come back as
plain arrays and numbers) and compare them with the reference solution imported here, so
nothing the student's code does inside its kernel can change how the comparison is made.
"""

from __future__ import annotations

import contextlib
import copy
import io
import logging
import os
import traceback
import zlib
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from . import suite
from .course import Lab, load_content_module
from .errors import CourseError
from .figures import Figures
from .diagnose import Call, Raised, diagnose, load_mistakes
from .kernel import CallProblem, CallResult, KernelBridge, StudentRaised
from .results import TestResult, TestStatus

log = logging.getLogger(__name__)

def hidden_parameters(lab: Lab, seed: int) -> dict:
    """The papermill parameters a parameterized lab is graded with, drawn from the run's seed."""
    if not lab.parameterized:
        return {}
    reference = load_reference(lab)
    if not hasattr(reference, "hidden_parameters"):
        raise CourseError(f"lab {lab.name} is parameterized but its reference has no hidden_parameters(rng)",
                          lab=lab.name)
    return dict(reference.hidden_parameters(np.random.default_rng([seed, zlib.crc32(b"parameters")])))


def load_reference(lab: Lab) -> ModuleType:
    """The lab's reference solution (imported once per process)."""
    return load_content_module(lab, lab.reference.name, what="the reference solution")


class StudentProxy:
    """``student.predict(x, w, b)`` calls the student's ``predict`` in their kernel.

    Every call of the current test is kept (the arguments as the test gave them, what came back or
    which exception the student's code raised), so a failed test can be diagnosed afterwards."""

    def __init__(self, bridge: KernelBridge):
        self._bridge = bridge
        self.calls: list[Call] = []

    def call(self, function: str, *args: Any, spy: tuple[str, ...] = (), timeout: float | None = None) -> CallResult:
        """Call with options: ``spy`` records the calls the function makes to other graded functions."""
        kept = copy.deepcopy(args)
        try:
            result = self._bridge.call(function, *args, spy=spy, timeout=timeout)
        except StudentRaised as exc:
            self.calls.append(Call(function, kept, Raised(exc.ename)))
            raise
        self.calls.append(Call(function, kept, result.value))
        return result

    def modules(self) -> list[str]:
        """The top-level modules loaded in the kernel (for the allowed-libraries check)."""
        return self._bridge.modules()

    def value(self, name: str) -> Any:
        """The value the notebook left in the variable ``name`` (an experiment's named result)."""
        return self._bridge.value(name)

    def __getattr__(self, function: str):
        if function.startswith("_"):
            raise AttributeError(function)
        return lambda *args: self.call(function, *args).value


@dataclass
class Judgement:
    tests: list[TestResult]
    grader_errors: list[str]
    calls: int = 0


class _JudgePlugin:
    def __init__(self, lab: Lab, bridge: KernelBridge, seed: int, sources: dict[str, str],
                 notebook=None, parameters: dict | None = None, figures: Figures | None = None):
        self._lab = lab
        self._figures = figures if figures is not None else Figures()
        self.sources = dict(sources)
        # Underscored: pytest collects this object's attributes, and the fixtures carry the plain names.
        self._notebook = notebook
        self._parameters = dict(parameters or {})
        self.bridge = bridge
        self.seed = seed
        self.reference = load_reference(lab)
        self.mistakes = load_mistakes(lab)
        self.proxy = StudentProxy(bridge)
        self.outcomes: dict[str, TestResult] = {}
        self.order: list[str] = []
        self.problems: list[str] = []
        self.grader_errors: list[str] = []

    @pytest.fixture
    def student(self):
        return self.proxy

    @pytest.fixture
    def rng(self, request):
        # Seeded by the run's seed and the test's name: a test draws the same inputs whatever
        # order tests run in, and two runs with the same seed draw the same inputs.
        return np.random.default_rng([self.seed, zlib.crc32(request.node.name.encode())])

    @pytest.fixture
    def student_source(self):
        """The source of each answer cell, by its grade id (read from the notebook, never run here)."""
        return dict(self.sources)

    @pytest.fixture
    def executed(self):
        """The executed notebook as data (outputs included); nothing in it is run here."""
        return self._notebook

    @pytest.fixture
    def figures(self):
        """The figures the notebook showed, described as data (``autograder.figures``)."""
        return self._figures

    @pytest.fixture
    def parameters(self):
        """The papermill parameters the grader injected (parameterized labs)."""
        return dict(self._parameters)

    @pytest.fixture
    def lab(self):
        """The lab being graded (its ``allowed_imports``, its functions)."""
        return self._lab

    @pytest.fixture
    def ref(self):
        return self.reference

    def pytest_collection_modifyitems(self, session, config, items):
        declared = self._lab.function_points()
        totals = {name: 0.0 for name in declared}
        for item in items:
            marker = item.get_closest_marker("graded")
            if marker is None:
                self.problems.append(f"hidden test {item.name} has no @graded(function, points) marker")
                continue
            function, points = marker.kwargs.get("function"), float(marker.kwargs.get("points", 0))
            if function not in declared:
                self.problems.append(f"hidden test {item.name} grades {function!r}, which is not a graded "
                                     f"function of the notebook ({', '.join(declared)})")
                continue
            totals[function] += points
            self.order.append(item.nodeid)
            self.outcomes[item.nodeid] = TestResult(item.name, function, 0.0, points, TestStatus.NOT_RUN)
        for name, want in declared.items():
            if abs(totals[name] - want) > 1e-9:
                self.problems.append(f"hidden tests for {name} carry {totals[name]:g} points but the notebook's "
                                     f"test_{name} cell says {want:g}")

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item):
        self.proxy.calls = []
        suite._compared = []
        try:
            yield
        finally:
            outcome = self.outcomes.get(item.nodeid)
            if outcome is not None:
                outcome.values = suite._compared
            suite._compared = None

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        report = (yield).get_result()
        outcome = self.outcomes.get(item.nodeid)
        if outcome is None or (call.when != "call" and report.passed):
            return
        if call.when == "call":
            outcome.seconds = call.duration
        if report.passed:
            outcome.status, outcome.points, outcome.message = TestStatus.PASSED, outcome.max_points, ""
            return
        if report.skipped:
            outcome.status, outcome.message = TestStatus.SKIPPED, str(getattr(call.excinfo, "value", ""))
            return
        exc = call.excinfo.value if call.excinfo else None
        outcome.points = 0.0
        if isinstance(exc, suite.Mismatch):
            outcome.status, outcome.message = TestStatus.FAILED, str(exc)
        elif isinstance(exc, CallProblem):
            outcome.status, outcome.message = TestStatus(exc.status), str(exc)
        elif isinstance(exc, AssertionError):
            outcome.status, outcome.message = TestStatus.FAILED, (str(exc).splitlines() or ["wrong value"])[0]
        if outcome.status in (TestStatus.FAILED, TestStatus.ERROR):
            self._diagnose(outcome)
            return
        if not isinstance(exc, (suite.Mismatch, CallProblem, AssertionError)):
            outcome.status = TestStatus.GRADER_ERROR
            outcome.message = "the grader failed on this test; your instructor has been told"
            detail = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__, limit=-3)) if exc else ""
            self.grader_errors.append(f"{item.name}: {type(exc).__name__}: {exc}\n{detail}")

    def _diagnose(self, outcome: TestResult) -> None:
        """Add the named mistake that explains a failed test, if one does, to its message."""
        try:
            mistake = diagnose(self.proxy.calls, outcome.function, self.mistakes, self.reference)
        except Exception as exc:  # noqa: BLE001 - a diagnosis is a courtesy: never a grade's undoing
            log.warning("diagnosing %s failed: %s: %s", outcome.name, type(exc).__name__, exc)
            return
        if mistake is not None:
            outcome.diagnosis = {"mistake": mistake.name, "text": mistake.diagnosis}
            outcome.message = f"{outcome.message.rstrip('.')}. {mistake.diagnosis}"


def judge(lab: Lab, bridge: KernelBridge, *, seed: int, sources: dict[str, str] | None = None,
          notebook=None, parameters: dict | None = None, figures: Figures | None = None) -> Judgement:
    """Run the lab's hidden suite against ``bridge``; return one outcome per hidden test.

    Raises:
        CourseError: the hidden suite is broken (does not collect, or its points disagree
            with the notebook's), which no submission can be graded against.
    """
    plugin = _JudgePlugin(lab, bridge, seed, sources or {}, notebook, parameters, figures)
    args = [str(lab.suite), "-q", "-s", "-p", "no:cacheprovider", "-p", "no:stepwise",
            "--import-mode=importlib", "-c", os.devnull, f"--rootdir={lab.content_dir}",
            "-W", "ignore::pytest.PytestAssertRewriteWarning"]
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        code = pytest.main(args, plugins=[plugin])
    if plugin.problems:
        raise CourseError(f"lab {lab.name}: hidden suite is inconsistent: " + "; ".join(plugin.problems), lab=lab.name)
    output = sink.getvalue()
    if code == pytest.ExitCode.INTERRUPTED and "KeyboardInterrupt" in output:
        raise KeyboardInterrupt
    if code in (pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.USAGE_ERROR, pytest.ExitCode.INTERRUPTED,
                pytest.ExitCode.NO_TESTS_COLLECTED) or not plugin.order:
        tail = " | ".join(line for line in output.strip().splitlines()[-4:] if line.strip())
        raise CourseError(f"lab {lab.name}: hidden suite {lab.suite.name} did not run (pytest exit {int(code)}): {tail}",
                          lab=lab.name)
    tests = [plugin.outcomes[nodeid] for nodeid in plugin.order]
    return Judgement(tests=tests, grader_errors=plugin.grader_errors, calls=bridge.calls)
