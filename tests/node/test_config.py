"""The node's settings file."""

from __future__ import annotations

from pathlib import Path

import pytest

from node.config import NodeConfig, load_config
from node.errors import NodeError


def test_no_file_gives_the_contract_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LHS_NODE_CONFIG", raising=False)
    assert load_config() == NodeConfig(data=None, schema=None, min_cell=10)


def test_settings_and_environment_placeholders(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("LHS_DB_PASSWORD", "s3cret")
    path = tmp_path / "node.yaml"
    path.write_text(
        "data: postgresql+psycopg://lhs:${LHS_DB_PASSWORD}@db/omop\nschema: cdm\nmin_cell: 15\n"
    )
    config = load_config(path)
    assert config.data == "postgresql+psycopg://lhs:s3cret@db/omop"
    assert (config.schema, config.min_cell) == ("cdm", 15)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("min_cell: 5\n", "min_cell must be a whole number of at least 10"),
        ("min_cell: ten\n", "min_cell must be a whole number of at least 10"),
        ("colour: red\n", "unknown setting 'colour'"),
        ("data: [1, 2\n", "not valid YAML"),
        ("- a\n", "must be a mapping"),
        ("data: postgresql://u:${NOPE_NOT_SET}@h/db\n", "NOPE_NOT_SET is not set"),
        # A password written out: refused, with how to do it instead.
        ("data: postgresql+psycopg://lhs:hunter2@db/omop\n", "put \\$\\{LHS_DB_PASSWORD\\}"),
        ("data: postgresql://lhs:pw${X}@db/omop\n", "the password is written in the file"),
    ],
)
def test_bad_settings_are_refused_in_one_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "node.yaml"
    path.write_text(text)
    with pytest.raises(NodeError, match=message) as info:
        load_config(path)
    assert "\n" not in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(NodeError, match="no such config file"):
        load_config(tmp_path / "absent.yaml")
