"""A poll costs the same few statements whatever the number of nodes in an open round."""

from __future__ import annotations

from sqlalchemy import event

from tests.coordinator.coord_world import World


def _statements_per_poll(world: World, nodes: int) -> int:
    enrolled = [world.node(f"zh-{i:03d}") for i in range(nodes)]
    world.approve(world.submit()["spec_hash"])
    for node in enrolled:
        assert node.poll().status_code == 200  # delivered once: later polls are steady ones
    seen: list[str] = []
    engine = world.app.extensions["lhs_engine"]

    def count(conn, cursor, statement, *args) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        assert enrolled[0].poll().status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen)


def test_a_poll_does_not_read_every_task_of_an_open_round(world: World, app) -> None:
    few = _statements_per_poll(world, 3)
    many = _statements_per_poll(world, 40)
    # The same statements for 3 or 40 nodes (before: one per task of every open round).
    assert many <= few + 2, (few, many)
