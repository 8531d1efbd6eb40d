"""Settings: read from LHS_* variables or test_config, checked, with defaults in the instance."""

from __future__ import annotations

from pathlib import Path

import pytest

from coordinator import create_app
from coordinator.config import SETTINGS, load_settings, secret_key
from coordinator.errors import ConfigError


def test_defaults_live_in_the_instance_folder(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, environ={})
    assert settings.database_url == f"sqlite:///{tmp_path / 'coordinator.sqlite3'}"
    assert settings.coordinator_key_file == tmp_path / "coordinator.key"
    assert settings.max_content_length == 8 * 1024 * 1024
    assert (settings.poll_clock_skew, settings.deadline_days, settings.default_min_cell) == (
        300,
        7,
        10,
    )


def test_environment_then_overrides(tmp_path: Path) -> None:
    environ = {"LHS_DEADLINE_DAYS": "14", "LHS_MAX_BODY_BYTES": "4096"}
    settings = load_settings(tmp_path, {"DEADLINE_DAYS": 3}, environ)
    assert settings.deadline_days == 3 and settings.max_content_length == 4096


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"LHS_POLL_CLOCK_SKEW": "5m"}, "LHS_POLL_CLOCK_SKEW: expected a whole number"),
        ({"LHS_DEFAULT_MIN_CELL": "5"}, "LHS_DEFAULT_MIN_CELL: must be at least 10"),
        ({"LHS_DATABASE_URL": "   "}, "LHS_DATABASE_URL: must not be empty"),
    ],
)
def test_bad_values_name_the_variable(tmp_path: Path, environ: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(tmp_path, environ=environ)


def test_every_setting_is_documented() -> None:
    for setting in SETTINGS:
        assert setting.env.startswith("LHS_") and setting.help.endswith(".")


def test_secret_key_comes_from_the_environment_or_is_random() -> None:
    assert secret_key({"LHS_SECRET_KEY": "s3cret"}) == "s3cret"
    assert secret_key({}) != secret_key({})


def test_app_takes_the_body_limit_from_settings(config: dict) -> None:
    app = create_app({**config, "MAX_CONTENT_LENGTH": 2048})
    assert app.config["MAX_CONTENT_LENGTH"] == 2048
    assert app.config["SECRET_KEY"]
