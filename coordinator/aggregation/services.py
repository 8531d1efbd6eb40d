"""Open, restart and read secure-aggregation attempts; hand nodes what they must do next.

Once every target node of a round has answered (or when called at publish time), each
group (the nation, each network, zorgkantoor region and province) with at least 3 answered
nodes of 3 organisations gets attempt 1, over the cells ``aggregation_cells`` lets it sum
(chosen from the published cubes alone; a group with none gets no attempt).  Its members
send X25519 keys, then shares masked so that only their sum is readable: the group's exact
totals of those cells.  A member that stops answering restarts the group with attempt+1
among those still answering, over cells chosen again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.orm import Session

from protocol import (
    Key,
    QuerySpec,
    agg_request_payload,
    aggregation_cells,
    layout_hash,
    measure_defs,
    sign,
    unflatten_vector,
    utcnow,
)

from ..audit.services import record
from ..errors import Conflict, NotFound
from ..merge.model import MIN_PROVIDERS, GroupId, Membership
from ..merge.services import group_members
from ..merge.validate import published_cubes
from ..registry.services import memberships
from ..rounds.models import Round
from ..rounds.services import round_results, round_status
from .models import AggAttempt

__all__ = [
    "ATTEMPT_TIMEOUT",
    "attempts",
    "exclude_node",
    "group_totals",
    "open_aggregation",
    "poll_requests",
    "restart_group",
    "shown",
]

ATTEMPT_TIMEOUT = timedelta(hours=1)
"""An attempt still missing a key or share this long after it opened is restarted."""
OPEN_STATES = ("keys", "shares")


def _groups(session: Session, answered: Iterable[str]) -> dict[GroupId, tuple[str, ...]]:
    # The answered nodes of every area, provided they come from enough organisations.
    known = memberships(session)
    typed = {n: Membership(**known[n]) for n in answered if n in known}  # type: ignore[arg-type]
    out = {}
    for group, members in group_members(typed).items():
        organisations = {typed[n].organisation for n in members}
        if len(members) >= MIN_PROVIDERS and len(organisations) >= MIN_PROVIDERS:
            out[group] = members
    return out


def _published_cubes(session: Session, round_id: int) -> tuple[QuerySpec, dict[str, Any]]:
    spec, results = round_results(session, round_id)
    return spec, published_cubes(spec, results, round_status(session, round_id)["min_cell"])


def _layouts(
    spec: QuerySpec,
    cubes: dict[str, Any],
    groups: dict[GroupId, tuple[str, ...]],
    held: dict[GroupId, tuple[tuple[str, ...], list[Key]]] | None = None,
) -> dict[GroupId, dict[str, Any]]:
    """Choose each new group's cells from the published cubes alone (see ``aggregation_cells``).

    ``held`` are the groups whose totals the coordinator already has or will have (open or
    summed attempts): their cells count as known before any new cell is offered.
    """
    held = held or {}
    chosen = aggregation_cells(
        cubes,
        {**{g: m for g, (m, _) in held.items()}, **groups},
        held={g: keys for g, (_, keys) in held.items()},
        wanted=shown,
    )
    measures = [m.name for m in measure_defs(spec)]
    return {
        group: {
            "dimensions": list(spec.dimensions),
            "measures": measures,
            "cells": [list(key) for key in sorted(chosen[group], key=_key_order)],
        }
        for group in groups
        if chosen[group]
    }


def shown(key: Key) -> bool:
    """Return whether factsheets show a cell: the overall total or a one-way breakdown.

    Only these are summed: a total nobody reads is only more for the coordinator to know.
    """
    return sum(v is not None for v in key) <= 1


def _key_order(key: Key) -> tuple:
    # Coarse cells first, then by value: a stable, readable vector order.
    return (-sum(v is None for v in key), [(v is None, str(v)) for v in key])


def _new_attempt(
    session: Session,
    round_id: int,
    group: GroupId,
    attempt: int,
    members: tuple[str, ...],
    layout: dict[str, Any],
) -> AggAttempt:
    row = AggAttempt(
        round_id=round_id,
        level=group[0],
        area=group[1],
        attempt=attempt,
        members=json.dumps(sorted(members)),
        layout=json.dumps(layout),
        layout_hash=layout_hash(layout),
        state="keys",
        opened_at=utcnow(),
    )
    session.add(row)
    record(
        session,
        "coordinator",
        "aggregation.open",
        f"round:{round_id}",
        group=list(group),
        attempt=attempt,
        members=sorted(members),
        cells=len(layout["cells"]),
    )
    return row


def open_aggregation(session: Session, round_id: int) -> list[AggAttempt]:
    """Open attempt 1 for every group of a round with enough answered nodes (once per round).

    A group none of whose cells can be summed safely gets no attempt.
    """
    existing = session.scalars(sa.select(AggAttempt).where(AggAttempt.round_id == round_id)).all()
    if existing:
        return list(existing)
    # The answered list, not the cubes: a round with no group to aggregate stays cheap per poll.
    answered = round_status(session, round_id)["answered"]
    groups = _groups(session, answered)
    if not groups:
        return []
    spec, cubes = _published_cubes(session, round_id)
    layouts = _layouts(spec, cubes, groups)
    rows = [
        _new_attempt(session, round_id, group, 1, members, layouts[group])
        for group, members in groups.items()
        if group in layouts
    ]
    session.flush()
    return rows


def _current(session: Session, round_id: int, group: GroupId) -> AggAttempt | None:
    return session.scalar(
        sa.select(AggAttempt)
        .where(
            AggAttempt.round_id == round_id,
            AggAttempt.level == group[0],
            AggAttempt.area == group[1],
        )
        .order_by(AggAttempt.attempt.desc())
    )


def restart_group(session: Session, round_id: int, group: GroupId) -> AggAttempt | None:
    """Drop the members missing from an open attempt; return attempt+1, or None if too few.

    The old attempt yields nothing: its keys and shares are never summed.  The members
    still answering are those that sent what the attempt's current phase asks for.
    """
    current = _current(session, round_id, group)
    if current is None or current.state not in OPEN_STATES:
        raise Conflict("no_open_attempt", f"round {round_id} has no open aggregation of {group}")
    kind = "key" if current.state == "keys" else "share"
    alive = sorted(m.node_id for m in current.messages if m.kind == kind)
    reopened = _reopen(session, round_id, [(current, _close(session, current, alive))])
    return reopened[0] if reopened else None


def exclude_node(session: Session, round_id: int, node_id: str) -> list[AggAttempt]:
    """Restart, without a node that declined, every open attempt of a round that counts on it."""
    rows = session.scalars(
        sa.select(AggAttempt)
        .where(AggAttempt.round_id == round_id, AggAttempt.state.in_(OPEN_STATES))
        .order_by(AggAttempt.id)
    ).all()
    hit = [row for row in rows if node_id in json.loads(row.members)]
    # All are closed before any is reopened: a closed attempt's cells count as held by none.
    closed = [
        (row, _close(session, row, sorted(set(json.loads(row.members)) - {node_id}))) for row in hit
    ]
    return _reopen(session, round_id, closed)


def _close(session: Session, current: AggAttempt, alive: list[str]) -> tuple[str, ...] | None:
    """Close an attempt; return the members a next attempt has, or None if too few are left."""
    group = (current.level, current.area)
    current.closed_at = utcnow()
    still = _groups(session, alive).get(group)
    current.state = "restarted" if still else "failed"
    record(
        session,
        "coordinator",
        "aggregation.restart" if still else "aggregation.fail",
        f"round:{current.round_id}",
        group=list(group),
        attempt=current.attempt,
        dropped=sorted(set(json.loads(current.members)) - set(alive)),
    )
    return still


def _reopen(
    session: Session, round_id: int, closed: list[tuple[AggAttempt, tuple[str, ...] | None]]
) -> list[AggAttempt]:
    """Open attempt+1 of each closed attempt with members left, cells chosen in one pass.

    The cells are chosen again, around every group already held: fewer members can make a
    cell unsafe that was safe before.
    """
    going = {(row.level, row.area): (row, still) for row, still in closed if still}
    if not going:
        return []
    spec, cubes = _published_cubes(session, round_id)
    held = {
        (row.level, row.area): (
            tuple(json.loads(row.members)),
            [tuple(cell) for cell in json.loads(row.layout)["cells"]],
        )
        for row in session.scalars(
            sa.select(AggAttempt).where(
                AggAttempt.round_id == round_id, AggAttempt.state.in_((*OPEN_STATES, "done"))
            )
        )
        if (row.level, row.area) not in going
    }
    layouts = _layouts(spec, cubes, {g: still for g, (_, still) in going.items()}, held)
    opened = []
    for group, (current, still) in going.items():
        if group not in layouts:
            current.state = "failed"
            record(
                session,
                "coordinator",
                "aggregation.fail",
                f"round:{round_id}",
                group=list(group),
                attempt=current.attempt,
                reason="no cell of the remaining members can be summed safely",
            )
            continue
        opened.append(
            _new_attempt(session, round_id, group, current.attempt + 1, still, layouts[group])
        )
    session.flush()
    return opened


def attempts(session: Session, round_id: int) -> list[dict[str, Any]]:
    """Return every attempt of a round: group, attempt, state, members and who has sent what."""
    rows = session.scalars(
        sa.select(AggAttempt).where(AggAttempt.round_id == round_id).order_by(AggAttempt.id)
    ).all()
    return [
        {
            "group": (row.level, row.area),
            "attempt": row.attempt,
            "state": row.state,
            "members": json.loads(row.members),
            "keys": sorted(m.node_id for m in row.messages if m.kind == "key"),
            "shares": sorted(m.node_id for m in row.messages if m.kind == "share"),
        }
        for row in rows
    ]


def _open_due(session: Session) -> None:
    # Rounds still open whose targets have all answered and that have no attempt yet.
    now = utcnow()
    has_attempt = sa.select(AggAttempt.id).where(AggAttempt.round_id == Round.id).exists()
    for round_id in session.scalars(
        sa.select(Round.id).where(Round.deadline > now, ~has_attempt)
    ).all():
        if round_status(session, round_id)["status"] == "complete":
            open_aggregation(session, round_id)


def _restart_stale(session: Session) -> None:
    cutoff = utcnow() - ATTEMPT_TIMEOUT
    stale = session.scalars(
        sa.select(AggAttempt).where(
            AggAttempt.state.in_(OPEN_STATES), AggAttempt.opened_at < cutoff
        )
    ).all()
    for row in stale:
        restart_group(session, row.round_id, (row.level, row.area))


def _request(row: AggAttempt, node_id: str) -> dict[str, Any] | None:
    """Return what an attempt asks of one member now, or None when it has nothing to ask."""
    kind = "key" if row.state == "keys" else "share"
    if any(m.node_id == node_id and m.kind == kind for m in row.messages):
        return None
    keys = {m.node_id: m.public_key for m in row.messages if m.kind == "key"}
    return agg_request_payload(
        phase=kind,
        round_id=row.round_id,
        node_id=node_id,
        group=(row.level, row.area),
        attempt=row.attempt,
        members=json.loads(row.members),
        layout=json.loads(row.layout),
        keys=keys if kind == "share" else None,
    )


def poll_requests(session: Session, node_id: str, key: Ed25519PrivateKey) -> list[dict[str, Any]]:
    """Advance due attempts and return the signed requests a polling member must answer."""
    _open_due(session)
    _restart_stale(session)
    rows = session.scalars(
        sa.select(AggAttempt)
        .where(AggAttempt.state.in_(OPEN_STATES))
        .order_by(AggAttempt.round_id, AggAttempt.id)
    ).all()
    out = []
    for row in rows:
        if node_id not in json.loads(row.members):
            continue
        payload = _request(row, node_id)
        if payload is not None:
            out.append(sign(payload, key, "coordinator"))
    return out


def group_totals(
    session: Session, round_id: int
) -> dict[GroupId, tuple[tuple[str, ...], dict[Key, dict[str, int]]]]:
    """Return every completed group of a round: the members it sums and its exact totals by cell.

    A group restarted after a member dropped out sums fewer nodes than answered the round;
    the merge adds the others' published values (``merge(exact_members=...)``).
    """
    if session.get(Round, round_id) is None:
        raise NotFound("unknown_round", f"no round {round_id}")
    done = session.scalars(
        sa.select(AggAttempt).where(AggAttempt.round_id == round_id, AggAttempt.state == "done")
    ).all()
    out = {}
    for row in done:
        cells = unflatten_vector(json.loads(row.layout), json.loads(row.totals or "[]"))
        out[(row.level, row.area)] = (tuple(json.loads(row.members)), cells)
    return out
