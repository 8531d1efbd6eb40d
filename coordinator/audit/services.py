"""Record and read audit events.

An action is recorded in the same session (and so the same transaction) as the change it
describes: both are committed or neither is.  A refusal is recorded in a session of its own,
because the request that was refused is rolled back.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from protocol import utcnow, write_time

from ..db import session_scope
from .models import AuditEvent

__all__ = ["event_view", "list_events", "record", "record_refusal"]

log = logging.getLogger(__name__)


def record(session: Session, actor: str, action: str, subject: str, **detail: Any) -> AuditEvent:
    """Add an audit event (who, what, on what, details) to the session's transaction."""
    entry = AuditEvent(
        at=utcnow(),
        actor=actor[:200],
        action=action,
        subject=subject[:200],
        detail=json.dumps(detail, sort_keys=True, default=str) if detail else None,
    )
    session.add(entry)
    log.info("%s %s %s %s", actor, action, subject, entry.detail or "")
    return entry


def record_refusal(
    factory: sessionmaker[Session], actor: str, action: str, subject: str, **detail: Any
) -> None:
    """Record a refusal in its own transaction; never let a logging failure hide the refusal."""
    try:
        with session_scope(factory) as session:
            record(session, actor, action, subject, **detail)
    except sa.exc.SQLAlchemyError as exc:
        log.error("could not record refusal %s %s: %s", action, subject, exc)


def list_events(
    session: Session, *, subject: str | None = None, actor: str | None = None, limit: int = 100
) -> list[AuditEvent]:
    """Return the newest events first, optionally only those on a subject or by an actor."""
    query = sa.select(AuditEvent).order_by(AuditEvent.id.desc()).limit(max(1, min(limit, 1000)))
    if subject is not None:
        query = query.where(AuditEvent.subject == subject)
    if actor is not None:
        query = query.where(AuditEvent.actor == actor)
    return list(session.scalars(query))


def event_view(entry: AuditEvent) -> dict[str, Any]:
    """Return an event as the API shows it."""
    return {
        "id": entry.id,
        "at": write_time(entry.at),
        "actor": entry.actor,
        "action": entry.action,
        "subject": entry.subject,
        "detail": json.loads(entry.detail) if entry.detail else {},
    }


@event.listens_for(Session, "before_flush")
def _append_only(session: Session, _context: Any, _instances: Any) -> None:
    # The migration adds database triggers too; this catches the mistake before SQL is sent.
    changed = [e for e in session.dirty if session.is_modified(e)] + list(session.deleted)
    for entry in changed:
        if isinstance(entry, AuditEvent):
            raise RuntimeError("audit events are append-only: they cannot be changed or deleted")
