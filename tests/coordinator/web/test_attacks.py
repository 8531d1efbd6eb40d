"""Attacks on the pages: forged forms, roles, logged-out access, script in specs, guessing."""

from __future__ import annotations

import html
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from coordinator import create_app
from coordinator.audit.models import AuditEvent
from coordinator.db import init_db, session_scope
from coordinator.review.models import Spec
from tests.coordinator.coord_world import BY_SEX
from tests.coordinator.web.pages import Person, add_people, token_of


def _spec_hash(app: Flask, query_id: str) -> str:
    with session_scope(app.extensions["lhs_sessions"]) as session:
        return session.scalars(sa.select(Spec.spec_hash).where(Spec.query_id == query_id)).one()


def _submitted(app: Flask, text: str = BY_SEX, who: str = "rita") -> str:
    person = Person(app, who)
    page = person.post("/specs/new", {"text": text, "action": "check"})
    checked = page.text.split('name="checked" value="')[1].split('"')[0]
    answer = person.post("/specs/new", {"text": text, "action": "submit", "checked": checked})
    assert answer.status_code == 302, answer.text
    return checked


@pytest.mark.parametrize("token", [None, "", "not-a-token"])
def test_a_form_without_a_valid_csrf_token_is_refused(people: Flask, token: str | None) -> None:
    rita = Person(people, "rita")
    data: dict[str, Any] = {"text": BY_SEX, "action": "check"}
    if token is not None:
        data["csrf_token"] = token
    response = rita.client.post("/specs/new?lang=en", data=data)
    assert response.status_code == 400
    assert "form has expired or did not come from this site" in response.text


def test_a_token_of_another_session_is_refused(people: Flask) -> None:
    carl, rita = Person(people, "carl"), Person(people, "rita")
    spec_hash = _submitted(people)
    stolen = rita.token()
    response = carl.post(f"/specs/{spec_hash}/approve", {"reason": "ok"}, token=stolen)
    assert response.status_code == 400
    assert Person(people, "carl").get(f"/specs/{spec_hash}").text.count("status-approved") == 0


def test_the_login_form_needs_a_csrf_token_too(people: Flask) -> None:
    client = Person(people).client
    response = client.post("/login", data={"name": "rita", "password": "x" * 10})
    assert response.status_code == 400


def test_a_researcher_cannot_approve_or_reject(people: Flask) -> None:
    spec_hash = _submitted(people, who="rob")
    rita = Person(people, "rita")
    for action in ("approve", "reject"):
        response = rita.post(f"/specs/{spec_hash}/{action}", {"reason": "looks fine"})
        assert response.status_code == 403
        assert "may not" in html.unescape(response.text)
    assert rita.get("/review").status_code == 403
    assert rita.get("/nodes").status_code == 403
    with session_scope(people.extensions["lhs_sessions"]) as session:
        refused = session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "request.refuse")
        ).all()
        assert {e.actor for e in refused} == {"user:rita"}
        assert session.scalar(sa.select(Spec.status)) == "submitted"


def test_a_researcher_cannot_read_another_researchers_spec(people: Flask) -> None:
    spec_hash = _submitted(people, who="rob")
    assert Person(people, "rita").get(f"/specs/{spec_hash}").status_code == 404


@pytest.mark.parametrize(
    "path", ["/specs", "/specs/new", "/review", "/rounds", "/nodes", "/publishing"]
)
def test_logged_out_pages_redirect_to_login(people: Flask, path: str) -> None:
    response = Person(people).get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_a_logged_out_post_changes_nothing(people: Flask) -> None:
    spec_hash = _submitted(people)
    carl = Person(people, "carl")
    token = carl.token()
    assert carl.post("/logout", {}, token=token).status_code == 302
    response = carl.client.post(
        f"/specs/{spec_hash}/approve", data={"reason": "ok", "csrf_token": token}
    )
    # The old token died with the session: refused before the login check is even reached.
    assert response.status_code in (302, 400)
    assert carl.get("/review").headers["Location"].startswith("/login")


def test_login_sends_back_to_a_local_page_only(people: Flask) -> None:
    person = Person(people)
    token = token_of(person.get("/login"))
    for target, expected in [("/rounds", "/rounds"), ("//evil.example/", "/specs"),
                             ("https://evil.example/", "/specs")]:  # fmt: skip
        answer = person.client.post(
            f"/login?next={target}",
            data={"name": "rita", "password": "correct horse battery", "csrf_token": token},
        )
        assert answer.headers["Location"] == expected
        token = person.token("/specs/new")


def test_script_in_a_spec_is_shown_as_text(people: Flask) -> None:
    text = (
        BY_SEX.replace(
            "title: Opioids in the last 90 days of life",
            'title: "<script>alert(1)</script> opioids"',
        )
        + "# <script>alert(2)</script>\n"
    )
    spec_hash = _submitted(people, text)
    for who in ("rita", "carl"):
        page = Person(people, who).get(f"/specs/{spec_hash}").text
        assert "<script>" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert "&lt;script&gt;alert(2)&lt;/script&gt;" in page
    queue = Person(people, "carl").get("/review").text
    assert "<script>" not in queue and "&lt;script&gt;" in queue


@pytest.mark.parametrize(("name", "password"), [("rita", "wrong password"), ("nobody", "x" * 12)])
def test_a_failed_login_says_only_that_it_failed(people: Flask, name: str, password: str) -> None:
    response = Person(people).login(name, password)
    assert response.status_code == 401
    assert "Onjuiste gebruikersnaam of wachtwoord." in response.text
    assert "session=" not in response.headers.get("Set-Cookie", "").replace("lang=", "")


def test_guessing_a_password_is_locked_out(people: Flask) -> None:
    person = Person(people)
    answers = [person.login("rita", f"guess number {i}").status_code for i in range(6)]
    assert answers == [401] * 5 + [429]
    assert person.login("rita").status_code == 429  # even the right password, for a while


def test_the_session_cookie_is_httponly_lax_and_secure_over_tls(config: dict) -> None:
    for secure in (False, True):
        app = create_app({**config, "SESSION_COOKIE_SECURE": secure})
        init_db(app.extensions["lhs_engine"])
        name = f"sam{int(secure)}"
        add_people(app, {name: "researcher"})
        cookie = Person(app).login(name).headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
        assert ("Secure" in cookie) is secure
        app.extensions["lhs_engine"].dispose()


def test_pages_forbid_scripts_and_framing(people: Flask) -> None:
    response = Person(people).get("/login")
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["X-Frame-Options"] == "DENY"


def test_the_token_api_needs_no_csrf_token(people: Flask) -> None:
    api = people.test_client()
    token = api.post("/api/v1/tokens", json={"name": "rita", "password": "correct horse battery"})
    assert token.status_code == 201
    auth = {"Authorization": f"Bearer {token.json['token']}"}
    assert api.post("/api/v1/specs", json={"yaml": BY_SEX}, headers=auth).status_code == 201


def test_the_api_ignores_the_page_session(people: Flask) -> None:
    rita = Person(people, "rita")
    # A logged-in browser's cookie is no API credential: a forged cross-site API call fails.
    assert rita.client.post("/api/v1/specs", json={"yaml": BY_SEX}).status_code == 401


def test_a_coordinator_starts_at_the_review_queue(people: Flask) -> None:
    assert Person(people).login("carl").headers["Location"] == "/review"
    assert Person(people).login("rita").headers["Location"] == "/specs"


def test_a_missing_key_file_is_a_clear_page_not_a_traceback(people: Flask) -> None:
    spec_hash = _submitted(people)
    people.extensions["lhs_settings"].coordinator_key_file.unlink()
    people.extensions.pop("lhs_key", None)
    page = Person(people, "carl").post(f"/specs/{spec_hash}/approve?lang=en", {"reason": "ok"})
    assert page.status_code == 500 and "The coordinator is not set up" in page.text
    assert "Traceback" not in page.text


def test_login_logout_and_refusals_are_in_the_audit_log(people: Flask) -> None:
    rita = Person(people, "rita")
    rita.client.post("/specs/new", data={"text": BY_SEX, "action": "check"})  # no token
    rita.post("/logout", {})
    with session_scope(people.extensions["lhs_sessions"]) as session:
        events = session.scalars(sa.select(AuditEvent).where(AuditEvent.actor == "user:rita"))
        seen = [(e.action, e.detail and '"csrf_failed"' in e.detail) for e in events]
    assert seen == [("session.login", None), ("request.refuse", True), ("session.logout", None)]
