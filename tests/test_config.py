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
