"""`lhs demo`'s options, its node processes and its serving, without running the whole loop.

The loop itself is run once, small, in test_loop.py; here run_demo is replaced to see
which size each option asks for, and a node process is started on a broken node.
"""

from __future__ import annotations

import re
import urllib.request
from pathlib import Path

import pytest
import yaml

import demo.loop
from coordinator import create_app
from demo.nodes import NodeProcess
from demo.world import DEFAULT_PERSONS, FULL_PERSONS
from protocol import LhsError
from tests.cli import run


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict:
    """Replace run_demo: record what it was asked, write nothing."""
    seen: dict = {}

    def fake(workdir: Path, *, persons: int, specs, seed: int, serve: bool) -> Path:
        seen.update(workdir=workdir, persons=persons, specs=tuple(specs), seed=seed, serve=serve)
        return tmp_path / "factsheets" / "index.html"

    monkeypatch.setattr(demo.loop, "run_demo", fake)
    return seen


def test_the_default_is_the_quick_demo(asked: dict, tmp_path: Path) -> None:
    result = run("demo", "--workdir", str(tmp_path / "w"))
    assert result.exit_code == 0, result.output
    assert asked["persons"] == DEFAULT_PERSONS < FULL_PERSONS
    assert asked["specs"] == ()
    assert asked["serve"] is False  # not at a terminal: it ends instead of serving


def test_serve_keeps_the_pages_served_at_the_end(asked: dict, tmp_path: Path) -> None:
    assert run("demo", "--workdir", str(tmp_path / "w"), "--serve").exit_code == 0
    assert asked["serve"] is True


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
    node = NodeProcess(config)
    try:
        with pytest.raises(LhsError, match=r"node broken failed: .*enrol first") as failed:
            node.poll()
    finally:
        node.close()
    assert "\n" not in str(failed.value)
    assert "serve.log" in str(failed.value)
    assert node.process.returncode == 1


def test_the_pages_are_served_on_localhost_until_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    folder = tmp_path / "factsheets"
    folder.mkdir()
    (folder / "index.html").write_text("<!doctype html><title>factsheets</title>")
    app = create_app(
        {"DATABASE_URL": f"sqlite:///{tmp_path / 'c.sqlite3'}", "LHS_FACTSHEETS_DIR": str(folder)}
    )
    fetched: list[bytes] = []

    def fetch() -> None:
        found = re.search(r"(http://127\.0\.0\.1:\d+/api/v1/factsheets/)", capsys.readouterr().out)
        assert found is not None
        fetched.append(urllib.request.urlopen(found.group(1), timeout=10).read())

    monkeypatch.setattr(demo.loop, "_wait_for_ctrl_c", fetch)
    demo.loop._serve_until_stopped(app)
    assert fetched == [b"<!doctype html><title>factsheets</title>"]
