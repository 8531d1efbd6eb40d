"""Cycles: defined by a coordinator, each due period opened once (even by two schedulers at
once), improvement actions recorded; on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from flask import Flask

from coordinator.cycles import services
from coordinator.cycles.scheduler import open_due_once
from coordinator.db import session_scope
from coordinator.keys import load_coordinator_key
from tests.coordinator.coord_world import World

QUARTERLY = {
    "name": "palliative quarterly",
    "queries": ["opioid_by_sex"],
    "cadence_months": 3,
    "period_months": 3,
    "first_period": "2026-01-01",
}


@pytest.fixture
def database_url(both_database_url: str) -> str:
    """Run this module on both backends, each test on an empty database."""
    return both_database_url


@pytest.fixture
def approved(world: World) -> World:
    """Two enrolled nodes and the by-sex spec approved (its first round open)."""
    world.node("zh-a")
    world.node("zh-b")
    assert world.approve(world.submit()["spec_hash"]).status_code == 201
    return world


def _open(app: Flask, today: date) -> list[services.Opened]:
    key = load_coordinator_key(app.config["COORDINATOR_KEY_FILE"])
    return services.open_due_rounds(
        app.extensions["lhs_sessions"], key, app.extensions["lhs_settings"], today
    )


def test_a_coordinator_defines_a_cycle_a_researcher_may_not(approved: World) -> None:
    world = approved
    refused = world.client.post("/api/v1/cycles", json=QUARTERLY, headers=world.auth("rita"))
    assert refused.status_code == 403
    made = world.client.post("/api/v1/cycles", json=QUARTERLY, headers=world.auth("carl"))
    assert made.status_code == 201, made.json
    assert made.json["queries"] == ["opioid_by_sex"] and made.json["rounds"] == []
    again = world.client.post("/api/v1/cycles", json=QUARTERLY, headers=world.auth("carl"))
    assert again.status_code == 409
    listed = world.client.get("/api/v1/cycles", headers=world.auth("rita")).json["cycles"]
    assert [c["name"] for c in listed] == ["palliative quarterly"]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"cadence_months": 0}, "bad_cadence_months"),
        ({"period_months": "3"}, "bad_period_months"),
        ({"first_period": "2026-01-15"}, "bad_first_period"),
        ({"first_period": "soon"}, "bad_first_period"),
        ({"queries": []}, "bad_queries"),
        ({"queries": ["nonexistent"]}, "unknown_query"),
        ({"name": " "}, "bad_name"),
    ],
)
def test_bad_cycles_are_refused_in_one_line(approved: World, change: dict, code: str) -> None:
    body = QUARTERLY | change
    answer = approved.client.post("/api/v1/cycles", json=body, headers=approved.auth("carl"))
    assert answer.status_code == 400 and answer.json["code"] == code, answer.json
    assert "\n" not in answer.json["message"]


def test_due_periods_are_those_ended() -> None:
    cycle = services.Cycle(cadence_months=3, period_months=3, first_period=date(2026, 1, 1))
    assert services.due_periods(cycle, date(2026, 3, 31)) == []
    assert services.due_periods(cycle, date(2026, 4, 1)) == [(date(2026, 1, 1), date(2026, 3, 31))]
    yearly = services.Cycle(cadence_months=12, period_months=12, first_period=date(2022, 1, 1))
    assert [p[0].year for p in services.due_periods(yearly, date(2025, 2, 1))] == [2022, 2023, 2024]


def test_each_due_period_opens_one_round_once(approved: World) -> None:
    world = approved
    world.client.post("/api/v1/cycles", json=QUARTERLY, headers=world.auth("carl"))
    opened = _open(world.app, date(2026, 7, 2))
    assert [(o.period_start, o.query_id) for o in opened] == [
        (date(2026, 1, 1), "opioid_by_sex"),
        (date(2026, 4, 1), "opioid_by_sex"),
    ]
    assert _open(world.app, date(2026, 7, 2)) == []  # the second run finds nothing to do
    (cycle,) = world.client.get("/api/v1/cycles", headers=world.auth("carl")).json["cycles"]
    assert [r["round_id"] for r in cycle["rounds"]] == [o.round_id for o in opened]
    # Each round is a real one: both nodes get its task.
    assert len(world.nodes["zh-a"].tasks()) == 3


def test_two_schedulers_at_once_open_each_period_once(approved: World) -> None:
    world = approved
    world.client.post("/api/v1/cycles", json=QUARTERLY, headers=world.auth("carl"))
    results: list[list[services.Opened]] = []
    start = threading.Barrier(2)

    def run() -> None:
        start.wait()
        results.append(_open(world.app, date(2027, 1, 2)))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    opened = sorted(o.period_start for run in results for o in run)
    assert opened == [date(2026, m, 1) for m in (1, 4, 7, 10)]
    with session_scope(world.sessions) as session:
        (cycle,) = services.list_cycles(session)
        assert len(cycle.rounds) == 4
    assert len(world.nodes["zh-b"].tasks()) == 5


def test_a_period_opened_by_another_process_is_skipped(approved: World, monkeypatch) -> None:
    world = approved
    world.client.post("/api/v1/cycles", json=QUARTERLY, headers=world.auth("carl"))
    real = services._claim
    calls: list[int] = []

    def claim_twice(session, cycle, period, query_id, key, settings):
        # Another scheduler claims the same period between our look and our claim.
        if not calls:
            calls.append(1)
            _open(world.app, date(2026, 4, 2))
        return real(session, cycle, period, query_id, key, settings)

    monkeypatch.setattr(services, "_claim", claim_twice)
    assert _open(world.app, date(2026, 4, 2)) == []
    with session_scope(world.sessions) as session:
        (cycle,) = services.list_cycles(session)
        assert len(cycle.rounds) == 1


def test_the_scheduler_opens_with_the_apps_key(approved: World) -> None:
    world = approved
    body = QUARTERLY | {"first_period": "2020-01-01", "cadence_months": 60, "period_months": 1}
    world.client.post("/api/v1/cycles", json=body, headers=world.auth("carl"))
    assert [o.period_start for o in open_due_once(world.app)][:2] == [
        date(2020, 1, 1),
        date(2025, 1, 1),
    ]
    answer = world.client.post("/api/v1/cycles/open-due", headers=world.auth("carl"))
    assert answer.status_code == 200 and answer.json == {"opened": []}


def test_improvement_actions_of_a_provider_or_an_area(approved: World) -> None:
    world = approved
    area = {
        "level": "network",
        "area": "NPZ-A",
        "date": "2026-05-01",
        "text": "Advance care planning",
    }
    made = world.client.post("/api/v1/actions", json=area, headers=world.auth("carl"))
    assert made.status_code == 201, made.json
    node = {
        "node": "zh-a",
        "date": "2026-02-01",
        "text": "Palliative team",
        "query": "opioid_by_sex",
    }
    assert (
        world.client.post("/api/v1/actions", json=node, headers=world.auth("carl")).status_code
        == 201
    )
    listed = world.client.get("/api/v1/actions", headers=world.auth("rita")).json["actions"]
    assert [a["date"] for a in listed] == ["2026-02-01", "2026-05-01"]
    assert listed[1]["level"] == "network" and listed[0]["node"] == "zh-a"
    base = {"date": "2026-02-01", "text": "Palliative team"}
    for bad, code in [
        ({"node": "zh-a", "level": "network", "area": "NPZ-A"}, "bad_subject"),
        ({"node": "nobody"}, "unknown_node"),
        ({"level": "street", "area": "X"}, "bad_level"),
        ({"node": "zh-a", "date": "2026-13-01"}, "bad_date"),
        ({"node": "zh-a", "text": ""}, "bad_text"),
    ]:
        answer = world.client.post("/api/v1/actions", json=base | bad, headers=world.auth("carl"))
        assert answer.status_code == 400 and answer.json["code"] == code, (bad, answer.json)
    refused = world.client.post("/api/v1/actions", json=node, headers=world.auth("rita"))
    assert refused.status_code == 403
