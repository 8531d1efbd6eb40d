"""The review queue and a spec's page: explanation, overlaps, diffs, approval rules (SQLite and
PostgreSQL)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import Flask

from coordinator import create_app
from coordinator.audit.models import AuditEvent
from coordinator.db import init_db, session_scope
from coordinator.review.models import Spec
from tests.coordinator.coord_world import BY_SEX, World
from tests.coordinator.web.conftest import PEOPLE
from tests.coordinator.web.pages import Person, add_people


@pytest.fixture
def database_url(both_database_url: str) -> str:
    """Run this module on SQLite and on PostgreSQL."""
    return both_database_url


def _submit(app: Flask, text: str = BY_SEX, who: str = "rita") -> str:
    person = Person(app, who)
    page = person.post("/specs/new", {"text": text, "action": "check"})
    checked = page.text.split('name="checked" value="')[1].split('"')[0]
    answer = person.post("/specs/new", {"text": text, "action": "submit", "checked": checked})
    assert answer.status_code == 302, answer.text
    return checked


def _nodes(app: Flask) -> World:
    world = World(app)
    world.node("zh-a")
    return world


def test_the_queue_lists_what_waits_and_approval_opens_a_round(people: Flask) -> None:
    _nodes(people)
    spec_hash = _submit(people)
    carl = Person(people, "carl")
    queue = carl.get("/review").text
    assert f"/specs/{spec_hash}" in queue and "0 / 1" in queue
    page = carl.get(f"/specs/{spec_hash}?lang=en").text
    assert "WHO IS COUNTED" in page and "first version of this query" in page
    answer = carl.post(f"/specs/{spec_hash}/approve", {"reason": "fits the aims"})
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/rounds/")
    round_page = carl.get(answer.headers["Location"] + "?lang=en").text
    assert "zh-a" in round_page and "not fetched yet" in round_page
    assert f"/specs/{spec_hash}" not in carl.get("/review").text
    with session_scope(people.extensions["lhs_sessions"]) as session:
        actions = set(session.scalars(sa.select(AuditEvent.action)))
        assert {"session.login", "spec.submit", "spec.approve", "round.open"} <= actions


def test_a_decision_needs_a_reason(people: Flask) -> None:
    spec_hash = _submit(people)
    answer = Person(people, "carl").post(f"/specs/{spec_hash}/reject", {"reason": "  "})
    assert answer.status_code == 400 and "a decision needs a reason" in answer.text


def test_rejecting_shows_on_the_researchers_page(people: Flask) -> None:
    spec_hash = _submit(people)
    answer = Person(people, "carl").post(f"/specs/{spec_hash}/reject", {"reason": "too broad"})
    assert answer.status_code == 302
    page = Person(people, "rita").get(f"/specs/{spec_hash}").text
    assert "status-rejected" in page and "too broad" in page


def test_the_submitter_does_not_decide(people: Flask) -> None:
    spec_hash = _submit(people, who="carl")
    carl = Person(people, "carl")
    assert "another coordinator decides" in carl.get(f"/specs/{spec_hash}?lang=en").text
    answer = carl.post(f"/specs/{spec_hash}/approve", {"reason": "mine"})
    assert answer.status_code == 403


def test_two_approvers_when_the_setting_asks(config: dict) -> None:
    app = create_app({**config, "APPROVALS": 2})
    init_db(app.extensions["lhs_engine"])
    add_people(app, PEOPLE)
    _nodes(app)
    spec_hash = _submit(app)
    carl, cora = Person(app, "carl"), Person(app, "cora")
    first = carl.post(f"/specs/{spec_hash}/approve?lang=en", {"reason": "fine"})
    assert first.headers["Location"] == f"/specs/{spec_hash}"
    page = carl.get(f"/specs/{spec_hash}?lang=en").text
    assert "You approved this spec already" in page and "(carl)" in page
    assert "1 / 2" in cora.get("/review").text
    second = cora.post(f"/specs/{spec_hash}/approve", {"reason": "agreed"})
    assert second.headers["Location"].startswith("/rounds/")
    app.extensions["lhs_engine"].dispose()


def test_overlaps_and_the_previous_version_are_shown(people: Flask) -> None:
    _nodes(people)
    first = _submit(people)
    Person(people, "carl").post(f"/specs/{first}/approve", {"reason": "fine"})
    narrower = BY_SEX.replace("version: 1", "version: 2").replace(
        "unit: person", "unit: person\n  age: {min: 65}"
    )
    second = _submit(people, narrower)
    page = Person(people, "carl").get(f"/specs/{second}?lang=en").text
    assert "Overlap with approved specs" in page and f"/specs/{first}" in page
    assert '<span class="add">+  age: {min: 65}</span>' in page
    assert '<span class="del">-version: 1</span>' in page
    with session_scope(people.extensions["lhs_sessions"]) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Spec)) == 2


def test_an_unknown_spec_is_a_clear_404(people: Flask) -> None:
    carl = Person(people, "carl")
    assert carl.get("/specs/sha256:" + "ab" * 32).status_code == 404
    page = carl.get("/specs/not-a-hash")
    assert page.status_code == 400 and "is not a spec hash" in page.text


def test_another_researchers_earlier_version_is_not_shown(people: Flask) -> None:
    _submit(people, BY_SEX.replace("title: Opioids", "title: Rob's opioids"), who="rob")
    mine = _submit(people, BY_SEX.replace("version: 1", "version: 2"))
    assert (
        "first version of this query" in Person(people, "rita").get(f"/specs/{mine}?lang=en").text
    )
    page = Person(people, "carl").get(f"/specs/{mine}?lang=en").text
    assert "Rob&#39;s opioids" in page and '<span class="add">+version: 2</span>' in page
