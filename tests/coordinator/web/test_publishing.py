"""Publishing from the page, and the published figures downloaded as JSON and CSV."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from coordinator import create_app
from coordinator.audit.models import AuditEvent
from coordinator.db import init_db, session_scope
from coordinator.web.tables import page_csv, page_rows
from tests.coordinator.coord_world import BY_SEX, World
from tests.coordinator.web.conftest import PEOPLE
from tests.coordinator.web.pages import Person, add_people


@pytest.fixture
def site(config: dict, tmp_path: Path) -> Flask:
    """A coordinator that publishes into a folder of the test, with people and two nodes."""
    app = create_app({**config, "LHS_FACTSHEETS_DIR": str(tmp_path / "published")})
    init_db(app.extensions["lhs_engine"])
    add_people(app, PEOPLE)
    yield app
    app.extensions["lhs_engine"].dispose()


def _answered_round(app: Flask) -> int:
    world = World(app)
    world.user("scripted", "coordinator")
    world.user("rita-api", "researcher")
    for node_id in ("zh-a", "zh-b"):
        world.node(node_id)
    round_id = world.approve(world.submit(BY_SEX, who="rita-api")["spec_hash"], who="scripted")
    for node in world.nodes.values():
        (task,) = node.tasks()
        assert node.upload(node.result_envelope(task)).status_code == 201
    return round_id.json["round_id"]


def test_nothing_to_publish_says_so(site: Flask) -> None:
    carl = Person(site, "carl")
    answer = carl.post("/publishing", {})
    assert answer.status_code == 302
    assert "Nothing to publish yet" in carl.get("/publishing?lang=en").text


def test_a_researcher_cannot_publish(site: Flask) -> None:
    assert Person(site, "rita").post("/publishing", {}).status_code == 403


def test_publish_then_download_json_and_csv(site: Flask) -> None:
    round_id = _answered_round(site)
    carl = Person(site, "carl")
    assert f'href="/rounds/{round_id}"' in carl.get("/publishing").text
    assert carl.post("/publishing", {}).status_code == 302
    with session_scope(site.extensions["lhs_sessions"]) as session:
        event = session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "factsheets.publish")
        ).one()
        assert event.actor == "user:carl" and json.loads(event.detail)["rounds"] == [round_id]
    rita = Person(site, "rita")
    listing = rita.get("/publishing").text
    assert 'href="/published/benchmark/opioid_by_sex.csv"' in listing
    assert 'action="/publishing"' not in listing  # the publish form is for coordinators
    twin = rita.get("/published/benchmark/opioid_by_sex.json")
    assert twin.status_code == 200 and "attachment" in twin.headers["Content-Disposition"]
    assert twin.json["kind"] == "benchmark"
    table = rita.get("/published/benchmark/opioid_by_sex.csv")
    assert table.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(table.text)))
    assert [r["node"] for r in rows] == ["national", "zh-a", "zh-b"]
    assert rows[1]["counts.denominator.value"] == str(
        twin.json["providers"][0]["counts"]["denominator"]["value"]
    )


@pytest.mark.parametrize(
    "path",
    ["/published/nothing.json", "/published/../coordinator.sqlite3.csv",
     "/published/%2e%2e/keys/coordinator.json", "/published/index.txt"],
)  # fmt: skip
def test_only_published_pages_can_be_downloaded(site: Flask, path: str) -> None:
    assert Person(site, "rita").get(path).status_code == 404


def _figure(value: int) -> dict[str, Any]:
    return {"status": "exact", "value": value}


def test_a_factsheet_becomes_one_csv_row_per_table_row() -> None:
    row = {"label": "All", "counts": {"n": _figure(40)}, "figure": None}
    female = {"label": "female", "counts": {"n": _figure(25)}, "figure": None}
    page = {
        "kind": "factsheet", "level": "network", "area": "NPZ-A", "area_name": "Netwerk A",
        "indicators": [
            {"id": "q", "version": 1, "spec_hash": "sha256:x", "min_cell": 10, "withheld": None,
             "overall": row, "breakdowns": [{"dimension": "sex", "rows": [female]}]},
            {"id": "r", "version": 2, "spec_hash": "sha256:y", "min_cell": 10,
             "withheld": "too few providers", "overall": None, "breakdowns": []},
        ],
    }  # fmt: skip
    rows = page_rows(page)
    assert [(r["indicator"], r["dimension"], r["label"]) for r in rows] == [
        ("q", "", "All"), ("q", "sex", "female"), ("r", "", "")
    ]  # fmt: skip
    text = page_csv(page).splitlines()
    assert text[0].startswith("level,area,area_name,indicator,version")
    assert "counts.n.value" in text[0] and rows[2]["withheld"] == "too few providers"
    assert page_csv({"kind": "index"}) == "\n"
