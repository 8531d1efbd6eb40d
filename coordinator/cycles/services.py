"""Cycles: define them, open each due period's rounds once, record improvement actions.

A period is due once it has ended: its data are complete.  Opening claims the period
first (a ``CycleRound`` row per spec, unique per cycle, period and spec) and opens the
round in the same transaction, so two schedulers running at once open it once: the
second claim fails and everything it did is rolled back.  Services only (no Flask).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from protocol import parse_spec, utcnow

from ..accounts.models import User
from ..accounts.services import CAN_DECIDE, require_role
from ..audit.services import record
from ..config import Settings
from ..db import session_scope
from ..errors import BadRequest, Conflict, NotFound
from ..merge.model import LEVELS
from ..registry.models import Node
from ..review.models import Spec
from ..rounds.services import open_round
from .models import Cycle, CycleRound, ImprovementAction

__all__ = [
    "Opened",
    "action_view",
    "add_months",
    "create_cycle",
    "cycle_view",
    "due_periods",
    "get_cycle",
    "list_actions",
    "list_cycles",
    "open_due_rounds",
    "record_action",
]

log = logging.getLogger(__name__)

MAX_MONTHS = 60
MAX_TEXT = 2000


@dataclass(frozen=True)
class Opened:
    """A round a cycle opened for one period and spec."""

    cycle: str
    period_start: date
    query_id: str
    round_id: int


def add_months(day: date, months: int) -> date:
    """Return the first of the month ``months`` after ``day``'s month."""
    month = day.month - 1 + months
    return date(day.year + month // 12, month % 12 + 1, 1)


def _first_of_month(value: object) -> date:
    day = _date(value, "first_period")
    if day.day != 1:
        raise BadRequest("bad_first_period", "first_period must be the first day of a month")
    return day


def _date(value: object, name: str) -> date:
    try:
        return date.fromisoformat(str(value)) if isinstance(value, str) else _fail(name)
    except ValueError:
        return _fail(name)


def _fail(name: str) -> date:
    raise BadRequest(f"bad_{name}", f"{name} must be a date as YYYY-MM-DD")


def _months(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_MONTHS:
        raise BadRequest(f"bad_{name}", f"{name} must be a whole number of months, 1 to 60")
    return value


def create_cycle(
    session: Session,
    user: User,
    name: object,
    queries: object,
    *,
    cadence_months: object,
    period_months: object,
    first_period: object,
) -> Cycle:
    """Define a cycle of library specs (by id) with its cadence and first data period."""
    require_role(user, CAN_DECIDE, "define cycles")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise BadRequest("bad_name", "a cycle needs a name of 1 to 200 characters")
    if not isinstance(queries, list) or not queries or not all(isinstance(q, str) for q in queries):
        raise BadRequest("bad_queries", "queries must be a non-empty list of library spec ids")
    known = set(session.scalars(sa.select(Spec.query_id)))
    unknown = sorted(set(queries) - known)
    if unknown:
        raise BadRequest("unknown_query", f"no spec {unknown[0]!r} was submitted here")
    if session.scalar(sa.select(Cycle).where(Cycle.name == name.strip())) is not None:
        raise Conflict("cycle_exists", f"a cycle named {name.strip()!r} exists already")
    cycle = Cycle(
        name=name.strip(),
        queries=json.dumps(sorted(set(queries))),
        cadence_months=_months(cadence_months, "cadence_months"),
        period_months=_months(period_months, "period_months"),
        first_period=_first_of_month(first_period),
        created_by=user,
        created_at=utcnow(),
    )
    session.add(cycle)
    session.flush()
    record(session, user.actor, "cycle.create", f"cycle:{cycle.id}", name=cycle.name)
    return cycle


def due_periods(cycle: Cycle, today: date) -> list[tuple[date, date]]:
    """Return every period of a cycle that has ended by ``today``: (first day, last day)."""
    out = []
    start = cycle.first_period
    while (end := add_months(start, cycle.period_months) - timedelta(days=1)) < today:
        out.append((start, end))
        start = add_months(start, cycle.cadence_months)
    return out


def _approved(session: Session, query_id: str) -> Spec | None:
    """Return the newest approved version of a library spec."""
    return session.scalar(
        sa.select(Spec)
        .where(Spec.query_id == query_id, Spec.status == "approved")
        .order_by(Spec.version.desc(), Spec.id.desc())
        .limit(1)
    )


def _claim(
    session: Session,
    cycle: Cycle,
    period: tuple[date, date],
    query_id: str,
    key: Ed25519PrivateKey,
    settings: Settings,
) -> int | None:
    """Open one period's round of one spec; None when the spec has no approved version."""
    spec = _approved(session, query_id)
    if spec is None:
        log.warning("cycle %s: %s has no approved version; not opened", cycle.name, query_id)
        return None
    parsed = parse_spec(spec.yaml, source=spec.spec_hash)
    round_ = open_round(session, spec, parsed, cycle.created_by, key=key, settings=settings)
    session.add(
        CycleRound(
            cycle=cycle,
            period_start=period[0],
            period_end=period[1],
            query_id=query_id,
            round=round_,
            opened_at=utcnow(),
        )
    )
    session.flush()  # a second claim of the period fails here, before anything is committed
    return round_.id


def open_due_rounds(
    sessions: sessionmaker[Session],
    key: Ed25519PrivateKey,
    settings: Settings,
    today: date | None = None,
) -> list[Opened]:
    """Open the round of every due period and spec of every cycle not opened yet."""
    today = today or utcnow().date()
    opened: list[Opened] = []
    with session_scope(sessions) as session:
        todo = [
            (cycle.id, period, query_id)
            for cycle in session.scalars(sa.select(Cycle).order_by(Cycle.id))
            for period in due_periods(cycle, today)
            for query_id in json.loads(cycle.queries)
            if not any(r.period_start == period[0] and r.query_id == query_id for r in cycle.rounds)
        ]
    for cycle_id, period, query_id in todo:
        try:
            with session_scope(sessions) as session:
                cycle = session.get(Cycle, cycle_id)
                assert cycle is not None
                round_id = _claim(session, cycle, period, query_id, key, settings)
                name = cycle.name
        except IntegrityError:  # another process opened it first: nothing to do
            log.info("cycle %d %s %s: opened elsewhere", cycle_id, period[0], query_id)
            continue
        if round_id is not None:
            opened.append(Opened(name, period[0], query_id, round_id))
    return opened


def record_action(session: Session, user: User, body: dict[str, Any]) -> ImprovementAction:
    """Record an improvement action of a provider (``node``) or an area (``level``, ``area``)."""
    require_role(user, CAN_DECIDE, "record improvement actions")
    node, level, area = body.get("node"), body.get("level"), body.get("area")
    if (node is None) == (area is None) or (level is None) != (area is None):
        raise BadRequest("bad_subject", "give either node, or level and area")
    if node is not None and (not isinstance(node, str) or session.get(Node, node) is None):
        raise BadRequest("unknown_node", f"no node {node!r} is registered here")
    if level is not None and (level not in LEVELS or not isinstance(area, str) or not area):
        raise BadRequest("bad_level", f"level must be one of {', '.join(LEVELS)} with an area")
    text, query_id = body.get("text"), body.get("query")
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
        raise BadRequest("bad_text", "an action needs a text of 1 to 2000 characters")
    if query_id is not None and not isinstance(query_id, str):
        raise BadRequest("bad_query", "query must be a library spec id")
    action = ImprovementAction(
        node_id=node,
        level=level,
        area=area,
        query_id=query_id,
        taken_on=_date(body.get("date"), "date"),
        text=text.strip(),
        created_by=user,
        created_at=utcnow(),
    )
    session.add(action)
    session.flush()
    record(session, user.actor, "action.record", f"action:{action.id}", text=action.text)
    return action


def cycle_view(cycle: Cycle) -> dict[str, Any]:
    """Return a cycle as the API shows it, with the rounds its periods opened."""
    return {
        "id": cycle.id,
        "name": cycle.name,
        "queries": json.loads(cycle.queries),
        "cadence_months": cycle.cadence_months,
        "period_months": cycle.period_months,
        "first_period": cycle.first_period.isoformat(),
        "rounds": [
            {
                "period_start": r.period_start.isoformat(),
                "period_end": r.period_end.isoformat(),
                "query": r.query_id,
                "round_id": r.round_id,
            }
            for r in cycle.rounds
        ],
    }


def list_cycles(session: Session) -> list[Cycle]:
    """Return every cycle, oldest first."""
    return list(session.scalars(sa.select(Cycle).order_by(Cycle.id)))


def get_cycle(session: Session, cycle_id: int) -> Cycle:
    """Return one cycle, or raise NotFound."""
    cycle = session.get(Cycle, cycle_id) if 0 < cycle_id < 2**31 else None
    if cycle is None:
        raise NotFound("unknown_cycle", f"no cycle {cycle_id}")
    return cycle


def list_actions(session: Session) -> list[ImprovementAction]:
    """Return every improvement action, by date."""
    order = (ImprovementAction.taken_on, ImprovementAction.id)
    return list(session.scalars(sa.select(ImprovementAction).order_by(*order)))


def action_view(action: ImprovementAction) -> dict[str, Any]:
    """Return an improvement action as the API and factsheets show it."""
    return {
        "id": action.id,
        "node": action.node_id,
        "level": action.level,
        "area": action.area,
        "query": action.query_id,
        "date": action.taken_on.isoformat(),
        "text": action.text,
    }
