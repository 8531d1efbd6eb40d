"""Bad input on the pages gets a clear page with a 4xx, never a traceback."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.coordinator.coord_world import BY_SEX, MAX_BODY, World
from tests.coordinator.web.pages import Person


@pytest.fixture
def spec_hash(people: Flask) -> str:
    """A submitted spec, with an enrolled node to run it."""
    world = World(people)
    world.node("zh-a")
    world.user("rita-api", "researcher")
    return world.submit(BY_SEX, who="rita-api")["spec_hash"]


@pytest.mark.parametrize(
    ("days", "status", "message"),
    [("abc", 400, "whole number of days"), ("0", 400, "deadline_days must be a whole number"),
     ("99999", 400, "deadline_days must be a whole number"), ("", 302, "")],
)  # fmt: skip
def test_a_bad_deadline_is_named(
    people: Flask, spec_hash: str, days: str, status: int, message: str
) -> None:
    page = Person(people, "carl").post(
        f"/specs/{spec_hash}/approve?lang=en", {"reason": "fine", "deadline_days": days}
    )
    assert page.status_code == status and message in page.text


@pytest.mark.parametrize("path", ["/specs/%00", "/specs/sha256:zz", "/rounds/0"])
def test_odd_paths_are_refused_plainly(people: Flask, path: str) -> None:
    page = Person(people, "carl").get(path)
    assert 400 <= page.status_code < 500 and "Traceback" not in page.text
    assert page.mimetype == "text/html"


@pytest.mark.parametrize("path", ["/rounds/-1", "/published/x.pdf"])
def test_paths_no_page_has_get_the_sites_404(people: Flask, path: str) -> None:
    page = Person(people, "carl").get(path)
    assert page.status_code == 404 and page.json["code"] == "not_found"


def test_a_body_over_the_limit_is_a_413_page(people: Flask) -> None:
    rita = Person(people, "rita")
    page = rita.post("/specs/new", {"text": "x" * (MAX_BODY + 1), "action": "check"})
    assert page.status_code == 413 and page.mimetype == "text/html"


def test_a_very_long_reason_is_kept_short(people: Flask, spec_hash: str) -> None:
    carl = Person(people, "carl")
    carl.post(f"/specs/{spec_hash}/reject", {"reason": "no " * 3000})
    page = carl.get(f"/specs/{spec_hash}").text
    assert "no " * 1333 in page and "no " * 1400 not in page
