"""`lhs demo`'s options and its node processes, without running the whole loop.

The loop itself is run once, small, in test_loop.py; here run_demo is replaced to see
which size each option asks for, and a node process is started on a broken node.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import demo.loop
from demo.loop import DEFAULT_PERSONS, FULL_PERSONS, _NodeProcess
from protocol import LhsError
from tests.cli import run


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict:
    """Replace run_demo: record what it was asked, write nothing."""
    seen: dict = {}

    def fake(workdir: Path, *, persons: int, specs, seed: int) -> Path:
        seen.update(workdir=workdir, persons=persons, specs=tuple(specs), seed=seed)
        return tmp_path / "factsheets" / "index.html"

    monkeypatch.setattr(demo.loop, "run_demo", fake)
    return seen


def test_the_default_is_the_quick_demo(asked: dict, tmp_path: Path) -> None:
    result = run("demo", "--workdir", str(tmp_path / "w"))
    assert result.exit_code == 0, result.output
    assert asked["persons"] == DEFAULT_PERSONS < FULL_PERSONS
    assert asked["specs"] == ()


def test_full_keeps_the_full_size(asked: dict, tmp_path: Path) -> None:
    result = run("demo", "--workdir", str(tmp_path / "w"), "--full")
    assert result.exit_code == 0, result.output
    assert asked["persons"] == FULL_PERSONS == 40_000


def test_persons_sets_the_size(asked: dict, tmp_path: Path) -> None:
    result = run("demo", "--workdir", str(tmp_path / "w"), "--persons", "6000")
    assert result.exit_code == 0, result.output
    assert asked["persons"] == 6000


def test_full_and_persons_together_are_refused(asked: dict, tmp_path: Path) -> None:
    result = run("demo", "--workdir", str(tmp_path / "w"), "--full", "--persons", "6000")
    assert result.exit_code == 2
    assert "--full or --persons, not both" in result.output
    assert not asked


def test_help_names_both_sizes() -> None:
    result = run("demo", "--help")
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "--full" in text
    assert f"{DEFAULT_PERSONS:,}" in text and f"{FULL_PERSONS:,}" in text


def test_a_failing_node_is_one_line_naming_it(tmp_path: Path) -> None:
    # A node never enrolled: its agent cannot start, and says why, as `lhs node serve` would.
    folder = tmp_path / "broken"
    folder.mkdir()
    config = folder / "node.yaml"
    settings = {"coordinator": "http://127.0.0.1:9", "node_id": "broken", "data": str(folder)}
    config.write_text(yaml.safe_dump(settings), encoding="utf-8")
    node = _NodeProcess(config)
    try:
        with pytest.raises(LhsError, match=r"node broken failed: .*enrol first") as failed:
            node.poll()
    finally:
        node.close()
    assert "\n" not in str(failed.value)
    assert "serve.log" in str(failed.value)
    assert node.process.returncode == 1
