"""Open, restart and read secure-aggregation attempts; hand nodes what they must do next.

Once every target node of a round has answered (or when called at publish time), each
group (the nation, each network, zorgkantoor region and province) with at least 3 answered
nodes of 3 organisations that take part (they published a headline, not a cube) gets
attempt 1.  Every group sums the same cells, the ones factsheets show: the overall value and
every one-way breakdown, years from the first to the last any member counted.  Its members
send X25519 keys, then shares masked so that only their sum is readable: the group's exact
table.  A member that stops answering restarts the group with attempt+1 among those still
answering, over the same cells.  The tables are protected jointly before anything is
published (``protocol.protect_shown_tables``, at publish time).
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
    HEADLINE,
    Key,
    QuerySpec,
    agg_request_payload,
    dimension_domains,
    layout_hash,
    measure_defs,
    shown_keys,
    sign,
    unflatten_vector,
    utcnow,
)

from ..audit.services import record
from ..errors import Conflict, NotFound
from ..merge.model import MIN_PROVIDERS, GroupId, Membership
from ..merge.services import group_members
from ..registry.services import memberships
from ..rounds.models import Result, Round, Task
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
    "round_layout",
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


def _taking_part(results: dict[str, Any]) -> dict[str, Any]:
    # A node that published its cube declines secure aggregation: never counted on.
    return {n: r for n, r in results.items() if r.get("scope") == HEADLINE}


def round_layout(spec: QuerySpec, results: dict[str, Any]) -> dict[str, Any]:
    """Return the cells every group of a round sums: the shown cells over the members' years."""
    spans = [r["years"] for r in _taking_part(results).values() if r.get("years")]
    years = (min(s[0] for s in spans), max(s[1] for s in spans)) if spans else None
    domains = dimension_domains(spec.dimensions, years)
    defs = measure_defs(spec)
    layout = {
        "dimensions": list(spec.dimensions),
        "measures": [m.name for m in defs],
        "cells": [list(key) for key in shown_keys(spec.dimensions, domains)],
    }
    signed = [m.name for m in defs if m.signed]
    return {**layout, "signed": signed} if signed else layout


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
    """Open attempt 1 for every group of a round with enough nodes taking part (once per round)."""
    existing = session.scalars(sa.select(AggAttempt).where(AggAttempt.round_id == round_id)).all()
    if existing:
        return list(existing)
    # The answered list first: a round with no group to aggregate stays cheap per poll.
    if not _groups(session, round_status(session, round_id)["answered"]):
        return []
    spec, results = round_results(session, round_id)
    groups = _groups(session, _taking_part(results))
    layout = round_layout(spec, results)
    rows = [
        _new_attempt(session, round_id, group, 1, members, layout)
        for group, members in groups.items()
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
    """Open attempt+1 of each closed attempt with members left, over the same cells."""
    opened = [
        _new_attempt(
            session,
            round_id,
            (row.level, row.area),
            row.attempt + 1,
            still,
            json.loads(row.layout),
        )
        for row, still in closed
        if still
    ]
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
    # Rounds still open whose targets have all answered and that have no attempt yet: one
    # query on every poll, whatever the number of nodes (never a round's tasks one by one).
    now = utcnow()
    has_attempt = sa.select(AggAttempt.id).where(AggAttempt.round_id == Round.id).exists()
    has_tasks = sa.select(Task.id).where(Task.round_id == Round.id).exists()
    unanswered = (
        sa.select(Task.id)
        .outerjoin(Result, Result.task_id == Task.id)
        .where(Task.round_id == Round.id, Result.id.is_(None))
        .exists()
    )
    due = sa.select(Round.id).where(Round.deadline > now, ~has_attempt, has_tasks, ~unanswered)
    for round_id in session.scalars(due.order_by(Round.id)).all():
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
    """Return every completed group of a round: the members it sums and its exact table by cell.

    A group restarted after a member dropped out sums fewer nodes than answered the round;
    the merge adds the others' published values (``merge(summed=...)``).
    """
    if session.get(Round, round_id) is None:
        raise NotFound("unknown_round", f"no round {round_id}")
    done = session.scalars(
        sa.select(AggAttempt).where(AggAttempt.round_id == round_id, AggAttempt.state == "done")
    ).all()
    out = {}
    for row in done:
        members = tuple(json.loads(row.members))
        totals = json.loads(row.totals or "[]")
        cells = unflatten_vector(json.loads(row.layout), totals, len(members))
        out[(row.level, row.area)] = (members, cells)
    return out
