"""The node's state is its own: folders 0700 and files 0600 whatever the umask."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

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
