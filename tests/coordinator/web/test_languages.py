"""Pages in Dutch by default and in English on request, with a language switch on every page."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.coordinator.web.pages import Person


def test_pages_are_dutch_by_default(people: Flask) -> None:
    page = Person(people).get("/login")
    assert '<html lang="nl">' in page.text and "Gebruikersnaam" in page.text


def test_english_on_request_is_kept_in_a_cookie(people: Flask) -> None:
    person = Person(people)
    page = person.get("/login?lang=en")
    assert '<html lang="en">' in page.text and "User name" in page.text
    cookie = page.headers["Set-Cookie"]
    assert cookie.startswith("lang=en") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "User name" in person.get("/login").text


def test_the_browsers_language_counts_when_nothing_was_chosen(people: Flask) -> None:
    page = Person(people).get("/login", headers={"Accept-Language": "en-GB,en;q=0.8"})
    assert "User name" in page.text


@pytest.mark.parametrize("path", ["/specs", "/specs/new", "/review", "/rounds", "/nodes",
                                  "/publishing"])  # fmt: skip
def test_every_page_has_a_language_switch(people: Flask, path: str) -> None:
    page = Person(people, "carl").get(path)
    assert page.status_code == 200
    assert f'href="{path}?lang=en"' in page.text and "<strong>NL</strong>" in page.text


def test_a_wrong_password_is_told_in_dutch(people: Flask) -> None:
    assert "Onjuiste gebruikersnaam of wachtwoord." in Person(people).login("rita", "nope" * 3).text
