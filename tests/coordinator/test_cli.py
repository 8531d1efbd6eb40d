"""The coordinator's commands as an operator meets them: output, exit codes, one-line errors."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from lhs.cli import cli
from tests.cli import one_line_error
from tests.coordinator.coord_world import BY_SEX, World


def _run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), prog_name="lhs", input=input)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A coordinator home: database and key file named by the environment."""
    monkeypatch.setenv("LHS_DATABASE_URL", f"sqlite:///{tmp_path / 'db.sqlite3'}")
    monkeypatch.setenv("LHS_COORDINATOR_KEY_FILE", str(tmp_path / "keys" / "coordinator.key"))
    return tmp_path


def test_init_creates_the_database_and_a_private_key(home: Path) -> None:
    first = _run("coordinator", "init")
    assert first.exit_code == 0, first.output
    key = home / "keys" / "coordinator.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert "created (ed25519:" in first.output
    again = _run("coordinator", "init")
    assert again.exit_code == 0 and "exists" in again.output
    assert key.read_bytes() and "schema is up to date" in again.output


def test_local_commands_set_up_the_registry(home: Path) -> None:
    _run("coordinator", "init")
    user = _run("coordinator", "add-user", "carl", "--role", "coordinator")
    assert user.exit_code == 0, user.output
    assert user.stdout.strip().startswith("lhs_") and "shown once" in user.stderr
    region = _run("coordinator", "add-region", "zorgkantoor", "ZK05", "Zorgkantoor 5")
    assert region.exit_code == 0, region.output
    org = _run("coordinator", "add-org", "Ziekenhuis A", "--zorgkantoor", "ZK05")
    assert org.exit_code == 0 and "zorgkantoor ZK05" in org.output
    node = _run("coordinator", "add-node", "zh-a", "--org", "Ziekenhuis A")
    assert node.exit_code == 0, node.output
    assert len(node.stdout.strip()) == 19 and "lhs node enrol" in node.stderr
    one_line_error(_run("coordinator", "add-user", "carl", "--role", "admin"), "already exists")
    one_line_error(_run("coordinator", "add-org", "Ziekenhuis B", "--network", "X"), "no network")
    one_line_error(_run("coordinator", "add-node", "zh-b", "--org", "Nobody"), "Nobody")
    one_line_error(_run("coordinator", "add-region", "province", "P 1", "x"), "region code")


def test_add_user_with_a_password(home: Path) -> None:
    _run("coordinator", "init")
    result = _run(
        "coordinator",
        "add-user",
        "pat",
        "--role",
        "researcher",
        "--password",
        input="long enough\nlong enough\n",
    )
    assert result.exit_code == 0, result.output


def test_local_commands_need_an_initialised_database(home: Path) -> None:
    result = _run("coordinator", "add-user", "carl", "--role", "admin")
    one_line_error(result, "not initialised", "lhs coordinator init")


def test_bad_setting_is_one_line(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LHS_POLL_CLOCK_SKEW", "soon")
    one_line_error(_run("coordinator", "settings"), "LHS_POLL_CLOCK_SKEW", "whole number")
    monkeypatch.setenv("LHS_POLL_CLOCK_SKEW", "60")
    listed = _run("coordinator", "settings")
    assert (
        listed.exit_code == 0 and "LHS_DATABASE_URL" in listed.output and " 60\n" in listed.output
    )


@pytest.fixture
def remote(world: World, live_url: str, monkeypatch: pytest.MonkeyPatch) -> World:
    """A coordinator served over HTTP; the CLI points at it and acts as carl."""
    monkeypatch.setenv("LHS_COORDINATOR_URL", live_url)
    monkeypatch.setenv("LHS_TOKEN", world.tokens["carl"])
    return world


def test_submit_approve_and_follow_a_round_over_http(
    remote: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote.node("zh-a")
    spec_file = tmp_path / "by_sex.yaml"
    spec_file.write_text(BY_SEX)
    monkeypatch.setenv("LHS_TOKEN", remote.tokens["rita"])  # a researcher submits
    submitted = _run("query", "submit", str(spec_file), "opioid_last_90d")
    monkeypatch.setenv("LHS_TOKEN", remote.tokens["carl"])  # a coordinator decides
    assert submitted.exit_code == 0, submitted.output
    assert "(submitted)" in submitted.output and submitted.output.count("sha256:") == 2
    digest = submitted.output.split()[3]
    approved = _run("coordinator", "approve", digest[:15], "--reason", "good", "--min-cell", "11")
    assert approved.exit_code == 0, approved.output
    assert "round 1 for 1 node(s), k=11" in approved.output
    listing = _run("round", "status")
    assert listing.exit_code == 0 and "0/1 answered" in listing.output
    detail = _run("round", "status", "1")
    assert detail.exit_code == 0 and "zh-a" in detail.output and "pending" in detail.output
    other = _run("query", "submit", "opioid_last_90d").output.split()[3]
    # Four eyes: a spec carl submits himself, carl may not approve.
    mine = tmp_path / "mine.yaml"
    mine.write_text(BY_SEX.replace("id: opioid_by_sex", "id: opioid_by_sex_carl"))
    own = _run("query", "submit", str(mine)).output.split()[3]
    refused = _run("coordinator", "approve", own, "--reason", "mine")
    one_line_error(refused, "403 four_eyes", "someone other than the person who submitted it")
    rejected = _run("coordinator", "reject", other, "--reason", "later")
    assert rejected.exit_code == 0 and "rejected sha256:" in rejected.output


def test_http_refusals_are_one_line(remote: World, monkeypatch: pytest.MonkeyPatch) -> None:
    remote.node("zh-a")
    digest = remote.submit()["spec_hash"]
    monkeypatch.setenv("LHS_TOKEN", remote.tokens["rita"])
    refused = _run("coordinator", "approve", digest, "--reason", "mine")
    one_line_error(refused, "403 forbidden", "researcher may not approve")
    one_line_error(_run("round", "status", "42"), "404 unknown_round")
    monkeypatch.setenv("LHS_TOKEN", "lhs_wrong")
    one_line_error(_run("round", "status"), "401 bad_token")
    monkeypatch.delenv("LHS_TOKEN")
    one_line_error(_run("round", "status"), "LHS_TOKEN")


def test_connection_failures_are_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LHS_TOKEN", "lhs_x")
    monkeypatch.delenv("LHS_COORDINATOR_URL", raising=False)
    one_line_error(_run("round", "status"), "no coordinator URL")
    down = ("--coordinator", "http://127.0.0.1:9")
    one_line_error(_run("round", "status", *down), "cannot reach the coordinator")
    one_line_error(_run("coordinator", "reject", "sha256:ab", "--reason", "x", *down), "reach")
    bad = tmp_path / "bad.yaml"
    bad.write_text(BY_SEX.replace("dimensions: [sex]", "dimensions: [person_id]"))
    one_line_error(_run("query", "submit", str(bad), *down), "person_id")
    one_line_error(_run("round", "status", "--coordinator", "ftp://x"), "http://")
