"""A person at the pages, through Flask's test client: logs in, reads CSRF tokens, posts forms."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from coordinator.accounts.services import create_user
from coordinator.db import session_scope

__all__ = ["PASSWORD", "Person", "add_people", "token_of"]

PASSWORD = "correct horse battery"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def token_of(response: TestResponse) -> str:
    """Return the CSRF token of the first form on a page."""
    found = _TOKEN.search(response.text)
    assert found, f"no CSRF token on {response.request.path}"
    return found.group(1)


def add_people(app: Flask, people: dict[str, str]) -> None:
    """Create people with a password: ``{name: role}``."""
    with session_scope(app.extensions["lhs_sessions"]) as session:
        for name, role in people.items():
            create_user(session, name, role, PASSWORD)


class Person:
    """One browser's worth of cookies on the app."""

    def __init__(self, app: Flask, name: str | None = None) -> None:
        self.client: FlaskClient = app.test_client()
        if name is not None:
            response = self.login(name)
            assert response.status_code == 302, response.text

    def login(self, name: str, password: str = PASSWORD) -> TestResponse:
        """Post the login form with its CSRF token; return the answer."""
        token = token_of(self.client.get("/login"))
        return self.client.post(
            "/login", data={"name": name, "password": password, "csrf_token": token}
        )

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        """Read a page."""
        return self.client.get(path, **kwargs)

    def token(self, path: str = "/specs/new") -> str:
        """Return a CSRF token of this session, read from a page with a form."""
        return token_of(self.client.get(path))

    def post(self, path: str, data: dict[str, Any], *, token: str | None = None) -> TestResponse:
        """Post a form with this session's CSRF token (or the one given)."""
        return self.client.post(path, data={**data, "csrf_token": token or self.token()})
