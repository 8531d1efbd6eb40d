"""Rounds and nodes pages: where each node of a round is, and each node's enrolment and poll."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.coordinator.coord_world import BY_SEX, World
from tests.coordinator.web.pages import Person


@pytest.fixture
def world(people: Flask) -> World:
    """Two enrolled nodes and one added but never enrolled."""
    world = World(people)
    world.node("zh-a")
    world.node("zh-b", "Ziekenhuis B")
    world.code("zh-new", "Ziekenhuis B")
    return world


def _open_round(world: World) -> int:
    world.user("scripted", "coordinator")
    world.user("rita-api", "researcher")
    spec_hash = world.submit(BY_SEX, who="rita-api")["spec_hash"]
    return world.approve(spec_hash, who="scripted").json["round_id"]


def _row(page: str, node_id: str) -> str:
    return page.split(f'id="node-{node_id}"')[1].split("</tr>")[0]


def test_each_node_moves_from_sent_to_fetched_to_uploaded(world: World) -> None:
    round_id = _open_round(world)
    carl = Person(world.app, "carl")
    page = carl.get(f"/rounds/{round_id}?lang=en").text
    assert "not fetched yet" in _row(page, "zh-a") and "not fetched yet" in _row(page, "zh-b")
    (task,) = world.nodes["zh-a"].tasks()
    page = carl.get(f"/rounds/{round_id}?lang=en").text
    assert "waiting for the node" in _row(page, "zh-a")
    assert world.nodes["zh-a"].upload(world.nodes["zh-a"].result_envelope(task)).status_code == 201
    page = carl.get(f"/rounds/{round_id}?lang=en").text
    assert "status-uploaded" in _row(page, "zh-a") and "whole protected cube" in _row(page, "zh-a")
    assert "declined" in _row(page, "zh-a")  # a whole cube is no part in secure aggregation
    assert "not fetched yet" in _row(page, "zh-b")
    assert "1 of 2 nodes answered" in page
    listing = carl.get("/rounds").text
    assert f'href="/rounds/{round_id}"' in listing and "1 / 2" in listing


def test_a_researcher_follows_only_their_own_rounds(world: World) -> None:
    round_id = _open_round(world)
    rita = Person(world.app, "rita")
    assert rita.get(f"/rounds/{round_id}").status_code == 404
    assert f'href="/rounds/{round_id}"' not in rita.get("/rounds").text
    assert carl_sees(world, round_id)


def carl_sees(world: World, round_id: int) -> bool:
    """Return whether a coordinator sees the round."""
    return Person(world.app, "carl").get(f"/rounds/{round_id}").status_code == 200


def test_an_unknown_round_is_a_clear_404(world: World) -> None:
    page = Person(world.app, "carl").get("/rounds/999999999999999999999?lang=en")
    assert page.status_code == 404 and "no round" in page.text


def test_the_nodes_page_shows_enrolment_and_last_poll(world: World) -> None:
    _open_round(world)
    world.nodes["zh-a"].tasks()
    page = Person(world.app, "carl").get("/nodes?lang=en").text
    rows = {node: page.split(f"<td>{node}</td>")[1].split("</tr>")[0] for node in
            ("zh-a", "zh-b", "zh-new")}  # fmt: skip
    assert "not enrolled" in rows["zh-new"] and "not enrolled" not in rows["zh-a"]
    assert rows["zh-a"].count("UTC") == 3  # added, enrolled, last poll
    assert rows["zh-b"].count("UTC") == 2 and rows["zh-b"].rstrip().endswith("<td>1</td>")
    assert rows["zh-a"].rstrip().endswith("<td>1</td>")  # fetched but not answered: still open
