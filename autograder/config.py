"""Typed configuration of the grading engine, in one place.

Precedence: ``nbgrader_config.py`` (section ``c.Autograder``) < ``AUTOGRADER_<FIELD>`` environment
variables < keyword arguments (the command line). Every field has a description; unknown keys in
the file are an error, so a typo never silently falls back to a default.

``load_course_config`` is the one reader of ``nbgrader_config.py`` (the engine's section here,
nbgrader's sections for releases and the gradebook). ``GradingConfig.recorded()`` is the
configuration as a job receives it and a result records it; ``GradingConfig.from_recorded`` reads
it back through the same checks.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from .errors import ConfigError

ENV_PREFIX = "AUTOGRADER_"
PER_HOST = ("workers",)  # fields each grading machine sets for itself; never recorded or shipped


def _cpu_count() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class GradingConfig:
    """Limits and choices for grading one class."""

    cell_timeout: float = field(default=20.0, metadata={
        "help": "Seconds one notebook cell may run before the kernel is interrupted."})
    notebook_timeout: float = field(default=120.0, metadata={
        "help": "Seconds the whole notebook may run; cells after that get no more time."})
    call_timeout: float = field(default=10.0, metadata={
        "help": "Seconds one call of a student function may take while the hidden suite judges it."})
    judge_timeout: float = field(default=60.0, metadata={
        "help": "Seconds of student code the whole hidden suite may wait for on one submission; once spent, "
                "the remaining calls are refused (so a function that is slow, but under call_timeout, on "
                "every call cannot stretch a batch)."})
    startup_timeout: float = field(default=60.0, metadata={
        "help": "Seconds to wait for a kernel to start."})
    workers: int = field(default_factory=_cpu_count, metadata={
        "help": "Submissions graded at once, each in its own worker process and kernel."})
    kernel_name: str = field(default="python3", metadata={
        "help": "Jupyter kernel that runs student notebooks (the notebook's own choice is ignored)."})
    prewarm: bool = field(default=True, metadata={
        "help": "Launch the next submission's kernel while the current one is graded (each kernel is still fresh)."})
    fork_kernels: bool = field(default=True, metadata={
        "help": "Fork kernels from a process that has already imported ipykernel, numpy and matplotlib "
                "(Linux, the python3 kernel); each kernel is still a fresh process."})
    sandbox: str = field(default="auto", metadata={
        "help": "'auto': resource limits on every forked kernel and, when the grader runs as root, an "
                "unprivileged uid of its own, no network and hidden course files; 'off': none of it."})
    memory_mb: int = field(default=3072, metadata={
        "help": "Address space (MB) a kernel may use; beyond it allocations fail with MemoryError."})
    max_processes: int = field(default=64, metadata={
        "help": "Processes and threads a sandboxed kernel's uid may run (stops fork bombs)."})
    max_output_mb: float = field(default=8.0, metadata={
        "help": "Output a notebook may print (in MB) before the rest is cut and discarded."})
    max_payload_mb: float = field(default=64.0, metadata={
        "help": "Largest value (in MB of JSON) a student function may return to the judge."})

    def __post_init__(self) -> None:
        for name in ("cell_timeout", "notebook_timeout", "call_timeout", "judge_timeout", "startup_timeout",
                     "max_payload_mb", "max_output_mb"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be a positive number of seconds, got {getattr(self, name)}", field=name)
        if self.sandbox not in ("auto", "off"):
            raise ConfigError(f"sandbox must be 'auto' or 'off', got {self.sandbox!r}", field="sandbox")
        if self.workers < 1:
            raise ConfigError(f"workers must be at least 1, got {self.workers}", field="workers")

    @classmethod
    def fields_help(cls) -> dict[str, str]:
        return {f.name: f.metadata.get("help", "") for f in dataclasses.fields(cls)}

    def recorded(self) -> dict[str, Any]:
        """Every field but ``workers`` (which is the grading machine's own business, not the
        grade's), in field order, as plain JSON values: what a cloud job receives and a result
        records."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in PER_HOST}

    @classmethod
    def from_recorded(cls, record: Mapping[str, Any], **overrides: Any) -> GradingConfig:
        """The configuration ``recorded()`` wrote, checked as a config file's values are.

        A field the record lacks takes its default. ``overrides`` (``None`` means "not given")
        come on top, e.g. the host's own ``workers``.

        Raises:
            ConfigError: the record is not a mapping, names an unknown field, or holds a bad value.
        """
        if not isinstance(record, Mapping):
            raise ConfigError(f"a recorded grading configuration must be a JSON object, got {record!r}")
        known = _known_fields()
        for key in record:
            if key not in known:
                raise ConfigError(f"the recorded grading configuration has unknown option {key!r}; "
                                  f"known options: {', '.join(known)}", field=str(key))
        return _build(dict(record), overrides)


def _coerce(name: str, raw: Any, target: type | str) -> Any:
    kind = {"float": float, "int": int, "str": str, "bool": bool}.get(
        target if isinstance(target, str) else target.__name__)
    if kind is bool:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{name} must be true or false, got {raw!r}", field=name)
    try:
        if kind is int and isinstance(raw, float) and not raw.is_integer():
            raise ValueError
        return kind(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be of type {kind.__name__}, got {raw!r}", field=name) from None


def load_course_config(course_root: Path):
    """The course's ``nbgrader_config.py`` as a traitlets ``Config`` (empty if there is none).

    The one reader of that file: the engine's ``c.Autograder`` section (``load_config``) and
    nbgrader's sections (releases, the gradebook) come from here, with the same error.

    Raises:
        ConfigError: the file does not load (a syntax error in the instructor's file); one line,
            ``cannot read <path>: <error>``.
    """
    from traitlets.config import Config
    from traitlets.config.loader import ConfigFileNotFound, PyFileConfigLoader

    config = Config()
    path = Path(course_root) / "nbgrader_config.py"
    if not path.is_file():
        return config
    try:
        config.merge(PyFileConfigLoader(path.name, path=str(path.parent)).load_config())
    except ConfigFileNotFound:  # removed between the check and the read
        return config
    except Exception as exc:  # whatever the instructor's file raises: say where, in one line
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise ConfigError(f"cannot read {path}: {detail}") from None
    return config


def _autograder_section(course_root: Path) -> dict[str, Any]:
    """The ``c.Autograder`` section of the course's ``nbgrader_config.py`` as a plain dict."""
    config = load_course_config(course_root)
    section = config.get("Autograder", {})
    return {key: section[key] for key in section}


def _known_fields() -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(GradingConfig)}


def _build(values: dict[str, Any], overrides: Mapping[str, Any]) -> GradingConfig:
    """``values`` with ``overrides`` on top (``None`` means not given), coerced and checked."""
    known = _known_fields()
    for key, raw in overrides.items():
        if key not in known:
            raise ConfigError(f"unknown option {key}", field=key)
        if raw is not None:
            values[key] = raw
    typed = {key: _coerce(key, raw, known[key].type) for key, raw in values.items()}
    return GradingConfig(**typed)


def load_config(course_root: Path | None = None, *, environ: Mapping[str, str] | None = None,
                **overrides: Any) -> GradingConfig:
    """Build the grading configuration: file < environment < explicit overrides.

    Args:
        course_root: folder holding ``nbgrader_config.py``; without it only defaults apply.
        environ: environment to read ``AUTOGRADER_*`` from (default: ``os.environ``).
        **overrides: values from the command line; ``None`` means "not given".
    """
    environ = os.environ if environ is None else environ
    known = _known_fields()
    values: dict[str, Any] = {}
    if course_root is not None:
        for key, raw in _autograder_section(Path(course_root)).items():
            if key not in known:
                raise ConfigError(f"nbgrader_config.py sets unknown option c.Autograder.{key}; "
                                  f"known options: {', '.join(sorted(known))}", field=key)
            values[key] = raw
    for key in known:
        env_key = ENV_PREFIX + key.upper()
        if env_key in environ and environ[env_key] != "":
            values[key] = environ[env_key]
    return _build(values, overrides)
