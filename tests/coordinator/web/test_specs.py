"""A researcher's pages: check a spec (its problem in one line, or its explanation), submit it."""

from __future__ import annotations

import io

import sqlalchemy as sa
from flask import Flask

from coordinator.audit.models import AuditEvent
from coordinator.db import session_scope
from coordinator.review.models import Spec
from tests.coordinator.coord_world import BY_SEX
from tests.coordinator.web.pages import Person


def _checked_hash(page: str) -> str:
    return page.split('name="checked" value="')[1].split('"')[0]


def test_a_spec_with_an_error_shows_the_problem_in_one_line(people: Flask) -> None:
    rita = Person(people, "rita")
    broken = BY_SEX.replace("dimensions: [sex]", "dimensions: [sexx]")
    page = rita.post("/specs/new", {"text": broken, "action": "check"})
    assert page.status_code == 400
    error = page.text.split('id="spec-error">')[1].split("</p>")[0]
    assert "unknown dimension &#39;sexx&#39;" in error and "\n" not in error
    assert 'value="submit"' not in page.text  # no submitting before it checks
    assert "sexx" in page.text.split("<textarea")[1]  # the text stays, to be fixed


def test_check_shows_the_explanation_then_submit_stores_the_spec(people: Flask) -> None:
    rita = Person(people, "rita")
    page = rita.post("/specs/new", {"text": BY_SEX, "action": "check"})
    assert page.status_code == 200
    assert "WHO IS COUNTED" in page.text and 'value="submit"' in page.text
    spec_hash = _checked_hash(page.text)
    answer = rita.post("/specs/new", {"text": BY_SEX, "action": "submit", "checked": spec_hash})
    assert answer.status_code == 302 and answer.headers["Location"] == f"/specs/{spec_hash}"
    mine = rita.get("/specs").text
    assert "opioid_by_sex" in mine and "status-submitted" in mine
    with session_scope(people.extensions["lhs_sessions"]) as session:
        actions = session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)).all()
        assert actions[-2:] == ["session.login", "spec.submit"]


def test_a_text_changed_after_the_check_is_not_submitted(people: Flask) -> None:
    rita = Person(people, "rita")
    checked = _checked_hash(rita.post("/specs/new", {"text": BY_SEX, "action": "check"}).text)
    changed = BY_SEX.replace("version: 1", "version: 2")
    page = rita.post(
        "/specs/new?lang=en", {"text": changed, "action": "submit", "checked": checked}
    )
    assert page.status_code == 200 and "read the explanation again" in page.text
    with session_scope(people.extensions["lhs_sessions"]) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Spec)) == 0


def test_a_spec_can_be_uploaded_as_a_file(people: Flask) -> None:
    rita = Person(people, "rita")
    upload = (io.BytesIO(BY_SEX.encode()), "by_sex.yaml")
    page = rita.client.post(
        "/specs/new",
        data={"upload": upload, "action": "check", "csrf_token": rita.token()},
        content_type="multipart/form-data",
    )
    assert page.status_code == 200 and "WHO IS COUNTED" in page.text


def test_a_file_that_is_not_text_gets_a_clear_message(people: Flask) -> None:
    rita = Person(people, "rita")
    page = rita.client.post(
        "/specs/new?lang=en",
        data={"upload": (io.BytesIO(b"\xff\xfe\x00"), "x.yaml"), "action": "check",
              "csrf_token": rita.token()},
        content_type="multipart/form-data",
    )  # fmt: skip
    assert page.status_code == 400 and "The file is not UTF-8 text." in page.text


def test_an_empty_form_asks_for_a_spec(people: Flask) -> None:
    page = Person(people, "rita").post("/specs/new?lang=en", {"text": " ", "action": "check"})
    assert page.status_code == 400 and "Paste the spec" in page.text


def test_a_clashing_version_is_explained_on_the_form(people: Flask) -> None:
    rita = Person(people, "rita")
    for text in (BY_SEX, BY_SEX.replace("min_cell: 10", "min_cell: 11")):
        checked = _checked_hash(rita.post("/specs/new", {"text": text, "action": "check"}).text)
        answer = rita.post("/specs/new", {"text": text, "action": "submit", "checked": checked})
    assert answer.status_code == 409 and "raise its version" in answer.text
