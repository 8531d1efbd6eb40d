"""The cycle commands as an operator meets them: open due rounds once, or on a schedule."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import coordinator.cycles.scheduler as scheduler
from coordinator import create_app
from lhs.cli import cli
from tests.coordinator.coord_world import World


def _run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), prog_name="lhs")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    """An initialised coordinator named by the environment, with a cycle of an approved spec."""
    monkeypatch.setenv("LHS_DATABASE_URL", f"sqlite:///{tmp_path / 'db.sqlite3'}")
    monkeypatch.setenv("LHS_COORDINATOR_KEY_FILE", str(tmp_path / "coordinator.key"))
    assert _run("coordinator", "init").exit_code == 0
    world = World(create_app())
    world.user("rita", "researcher")
    world.user("carl", "coordinator")
    world.node("zh-a")
    assert world.approve(world.submit()["spec_hash"]).status_code == 201
    body = {
        "name": "monthly",
        "queries": ["opioid_by_sex"],
        "cadence_months": 1,
        "period_months": 1,
        "first_period": "2026-09-01",
    }
    assert (
        world.client.post("/api/v1/cycles", json=body, headers=world.auth("carl")).status_code
        == 201
    )
    return world


def test_open_due_opens_each_ended_period_once(home: World) -> None:
    first = _run("coordinator", "cycle", "open-due")
    assert first.exit_code == 0, first.output
    assert "period from 2026-09-01 of opioid_by_sex: round 2 open" in first.stdout
    again = _run("coordinator", "cycle", "open-due")
    assert again.exit_code == 0 and "2026-09-01" not in again.stdout


def test_schedule_opens_now_and_on_its_interval(home: World, monkeypatch) -> None:
    started: list[float] = []

    def start(self) -> None:  # the scheduler's loop, stopped at once as by Ctrl-C
        started.append(self.get_jobs()[0].trigger.interval.total_seconds())
        raise KeyboardInterrupt

    monkeypatch.setattr(scheduler.BlockingScheduler, "start", start)
    result = _run("coordinator", "cycle", "schedule", "--minutes", "30")
    assert result.exit_code == 0, result.output
    assert "round 2 open" in result.stdout and "stopped" in result.stderr
    assert started == [1800.0]
