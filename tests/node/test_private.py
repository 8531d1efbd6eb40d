"""The node's state is its own: folders 0700 and files 0600 whatever the umask."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from lhs.cli import cli
from node.agent.state import NodeState
from node.private import write_private


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask():
    """Run under the common umask 022, which leaves new files readable by everyone."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def test_state_folder_database_and_log_are_private(tmp_path: Path, open_umask) -> None:
    folder = tmp_path / "state"
    folder.mkdir(mode=0o755)  # made by hand, too open
    state = NodeState(folder)
    try:
        state.event("test", "a first record")
        state.aggregation.save_key(7, ("national", "NL"), 1, b"k" * 32)
    finally:
        state.close()
    assert _mode(folder) == 0o700
    files = sorted(p.name for p in folder.iterdir())
    assert "agent.sqlite" in files and "audit.jsonl" in files and "audit.jsonl.head" in files
    for name in files:  # the database, its journal, the log and its head; the ledger folder
        assert _mode(folder / name) == (0o700 if name == "ledger" else 0o600), name


def test_keys_are_written_private(tmp_path: Path, open_umask) -> None:
    key = tmp_path / "keys" / "node.key"
    write_private(key, b"secret")
    assert _mode(key) == 0o600 and _mode(key.parent) == 0o700


def test_check_install_reports_what_is_not_private(tmp_path: Path, open_umask) -> None:
    config = tmp_path / "node.yaml"
    config.write_text(f"keys: keys\nstate: state\ndata: {tmp_path / 'extract'}\n")
    (tmp_path / "extract").mkdir()
    keys = tmp_path / "keys"
    write_private(keys / "node.key", b"secret")
    state = NodeState(tmp_path / "state")
    state.event("test", "a first record")
    state.close()
    fine = CliRunner().invoke(cli, ["node", "check-install", "--config", str(config)])
    assert fine.exit_code == 0 and fine.output.startswith("ok: "), fine.output
    os.chmod(keys / "node.key", 0o644)  # a copy or a restore by hand
    os.chmod(tmp_path / "state", 0o755)
    os.chmod(config, 0o666)
    wrong = CliRunner().invoke(cli, ["node", "check-install", "--config", str(config)])
    lines = wrong.output.splitlines()
    assert wrong.exit_code == 1 and len(lines) == 3, wrong.output
    assert all(line.startswith("wrong: ") and "chmod" in line for line in lines)
    assert any("node.key is 0o644" in line for line in lines)
