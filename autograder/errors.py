"""The kit's one exception tree.

Which is which (and the exit status of the ``autograder`` command, ``exit_code``: the one place
that says which status a kind of failure gets; the CLI reads it from the class):

- ``AutograderError`` (2): the base; the CLI turns any of these into one line. Exit 2 is a fault
  of the input or the course.
- ``ConfigError`` (2): a setting has a wrong value or type, or ``nbgrader_config.py`` does not load.
- ``DependencyError`` (2): an optional dependency a command needs (the cloud extra) is not
  installed; the message names the command that installs it.
- ``CourseError`` (2): the course folder or a lab is missing or malformed (unknown lab, no source
  notebook, a hidden suite whose points disagree with the notebook's).
- ``OutputError`` (2): the results folder cannot be used: another ``grade`` run holds it, or it
  cannot be written (full, read-only, failing). Every result written before stays intact.
- ``Stopped`` (130 or 143; a ``KeyboardInterrupt``, not an ``AutograderError``): the run was
  stopped by Ctrl-C or SIGTERM; finished results are kept and the same command resumes.
- ``CheckFailed`` (1): a check the user asked for did not pass (``parity`` found a mismatch, a
  notebook fails its visible checks). Commands that report such an outcome exit with its status.
- ``ReleaseError`` (1, a ``CheckFailed``): generating a release failed, or the release leaks or
  is stale.
- ``SubmissionError``: one submission cannot be graded as given (not JSON, not a notebook,
  another lab's notebook). It becomes that student's result row, never a crashed batch.
- ``GraderFault`` (3): the grader itself failed on a submission (a kernel that would not start,
  a bug in a hidden test). Recorded in the result and reported; the batch goes on, and the
  command exits 3.

A student's mistakes (a wrong value, an exception in their code, a timeout) are not exceptions
of this tree at all: they are test results with a status and a message.
"""

from __future__ import annotations


class AutograderError(Exception):
    """Base class of every error the kit raises on purpose."""

    exit_code = 2


class ConfigError(AutograderError):
    """A configuration value is invalid."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.field = field


class DependencyError(AutograderError):
    """An optional dependency is not installed; the message says what installs it."""

    def __init__(self, message: str, *, package: str | None = None):
        super().__init__(message)
        self.package = package


class CourseError(AutograderError):
    """The course layout or a lab's content is missing or inconsistent."""

    def __init__(self, message: str, *, lab: str | None = None):
        super().__init__(message)
        self.lab = lab


class OutputError(AutograderError):
    """The results folder is busy (another run holds its lock) or cannot be written."""


class Stopped(KeyboardInterrupt):
    """The run was stopped by a signal; ``finished`` results of this run were written first."""

    def __init__(self, signum: int = 2, finished: int | None = None):
        super().__init__(signum)
        self.signum = signum
        self.finished = finished

    @property
    def exit_code(self) -> int:
        return 128 + self.signum  # as a shell reports a command a signal stopped


class CheckFailed(AutograderError):
    """A check the user asked for did not pass; what failed is in the command's report."""

    exit_code = 1


class ReleaseError(CheckFailed):
    """A release could not be generated, leaks something it must not, or is stale."""

    def __init__(self, message: str, *, lab: str | None = None, problems: list[str] | None = None):
        super().__init__(message)
        self.lab = lab
        self.problems = list(problems or [])


class SubmissionError(AutograderError):
    """A submission cannot be graded as given; it is recorded as that student's result."""

    def __init__(self, message: str, *, status: str = "invalid", student: str | None = None,
                 notebook: str | None = None):
        super().__init__(message)
        self.status = status
        self.student = student
        self.notebook = notebook


class GraderFault(AutograderError):
    """The grader failed on a submission through no fault of the student's."""

    exit_code = 3

    def __init__(self, message: str, *, student: str | None = None, test: str | None = None):
        super().__init__(message)
        self.student = student
        self.test = test
