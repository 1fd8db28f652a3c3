from pathlib import Path

import pytest

from autograder.config import GradingConfig, load_config
from autograder.errors import ConfigError


def write_config(folder: Path, body: str) -> Path:
    (folder / "nbgrader_config.py").write_text("c = get_config()\n" + body)
    return folder


def test_defaults_without_a_file(tmp_path):
    config = load_config(tmp_path, environ={})
    assert config.cell_timeout == 20.0
    assert config.kernel_name == "python3"
    assert config.workers >= 1


def test_precedence_file_then_environment_then_arguments(tmp_path):
    write_config(tmp_path, "c.Autograder.cell_timeout = 7\nc.Autograder.call_timeout = 4\nc.Autograder.workers = 3\n")
    config = load_config(tmp_path, environ={"AUTOGRADER_CALL_TIMEOUT": "5", "AUTOGRADER_WORKERS": "2"}, workers=1)
    assert (config.cell_timeout, config.call_timeout, config.workers) == (7.0, 5.0, 1)


def test_unknown_option_in_file_is_named(tmp_path):
    write_config(tmp_path, "c.Autograder.cell_timout = 7\n")
    with pytest.raises(ConfigError, match=r"unknown option c.Autograder.cell_timout; known options: .*cell_timeout"):
        load_config(tmp_path, environ={})


def test_wrong_type_from_environment(tmp_path):
    with pytest.raises(ConfigError, match=r"workers must be of type int, got 'many'"):
        load_config(tmp_path, environ={"AUTOGRADER_WORKERS": "many"})


def test_non_positive_limit_rejected():
    with pytest.raises(ConfigError, match="call_timeout must be a positive number of seconds, got 0"):
        GradingConfig(call_timeout=0)
    with pytest.raises(ConfigError, match="judge_timeout must be a positive number of seconds, got -1"):
        GradingConfig(judge_timeout=-1)


def test_the_course_file_is_read():
    repo = Path(__file__).resolve().parent.parent
    config = load_config(repo, environ={})
    assert config.notebook_timeout == 120.0
    assert set(GradingConfig.fields_help()) >= {"cell_timeout", "notebook_timeout", "call_timeout", "workers"}


def test_recorded_is_every_field_but_workers_and_round_trips_through_json():
    import dataclasses
    import json

    config = GradingConfig(cell_timeout=7.5, notebook_timeout=30, call_timeout=2, judge_timeout=11, workers=3,
                           kernel_name="python3", prewarm=False, sandbox="off", memory_mb=1024)
    record = config.recorded()
    assert list(record) == [f.name for f in dataclasses.fields(GradingConfig) if f.name != "workers"]
    assert (record["cell_timeout"], record["notebook_timeout"], record["prewarm"], record["sandbox"]) == \
        (7.5, 30, False, "off")
    shipped = json.loads(json.dumps(record))
    assert GradingConfig.from_recorded(shipped, workers=3) == config
    assert GradingConfig.from_recorded(shipped).workers == GradingConfig().workers  # the host's own
    assert GradingConfig.from_recorded({}).recorded() == GradingConfig().recorded()  # absent: defaults


@pytest.mark.parametrize("record, message", [
    ({"cell_timout": 7}, "the recorded grading configuration has unknown option 'cell_timout'; known options: "
                         "cell_timeout, notebook_timeout, call_timeout, judge_timeout, startup_timeout, workers, "
                         "kernel_name, prewarm, fork_kernels, sandbox, memory_mb, max_processes, max_output_mb, "
                         "max_payload_mb"),
    ({"cell_timeout": "soon"}, "cell_timeout must be of type float, got 'soon'"),
    ({"call_timeout": 0}, "call_timeout must be a positive number of seconds, got 0.0"),
    ({"prewarm": "maybe"}, "prewarm must be true or false, got 'maybe'"),
    ([["cell_timeout", 3]], "a recorded grading configuration must be a JSON object, got [['cell_timeout', 3]]"),
])
def test_from_recorded_refuses_in_one_line(record, message):
    with pytest.raises(ConfigError) as info:
        GradingConfig.from_recorded(record)
    assert str(info.value) == message


def test_syntax_error_in_the_course_file_is_one_line_from_every_reader(tmp_path):
    from autograder.config import load_course_config
    from autograder.release import course_config

    path = write_config(tmp_path, "c.Autograder.cell_timeout = = 3\n") / "nbgrader_config.py"
    messages = set()
    for read in (load_course_config, course_config, lambda root: load_config(root, environ={})):
        with pytest.raises(ConfigError) as info:
            read(tmp_path)
        messages.add(str(info.value))
    assert messages == {f"cannot read {path}: invalid syntax (nbgrader_config.py, line 2)"}


def test_course_config_holds_nbgrader_sections_and_the_engine_section():
    from autograder.config import load_course_config

    repo = Path(__file__).resolve().parent.parent
    config = load_course_config(repo)
    assert config.CourseDirectory.course_id == "stellar-ml"
    assert config.Autograder.call_timeout == 10
    assert load_course_config(repo / "source") == {}  # no file: an empty config
