"""Lock a key out after too many failures, and count refused anonymous requests.

A key is an account or an address of a guessed secret (a password, an enrolment code).
``MAX_FAILURES`` failures of a key within ``WINDOW`` lock it for ``WINDOW``: every attempt
is then refused with ``429`` before the secret is checked.  Failures are counted in a
transaction of their own, since the refused request is rolled back.  Services only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from protocol import utcnow

from ..db import session_scope
from ..errors import TooManyRequests
from .models import RefusalCount, Throttle

__all__ = ["MAX_FAILURES", "WINDOW", "check", "count_failures", "count_refusal", "forget"]

WINDOW = timedelta(minutes=15)
MAX_FAILURES: Mapping[str, int] = {"user": 5, "node": 5, "addr": 20}
"""Failures allowed per window, by the kind of key (its second part)."""


def check(session: Session, keys: Iterable[str]) -> None:
    """Raise ``TooManyRequests`` while any of the keys is locked."""
    now = utcnow()
    rows = session.scalars(sa.select(Throttle).where(Throttle.key.in_(list(keys))))
    for row in rows:
        if row.locked_until is not None and row.locked_until > now:
            seconds = int((row.locked_until - now).total_seconds()) + 1
            raise TooManyRequests(
                "too_many_attempts",
                f"too many failed attempts; try again in {seconds} s",
                retry_after=seconds,
            )


def count_failures(factory: sessionmaker[Session], keys: Iterable[str]) -> None:
    """Count one failure of each key in its own transaction; lock those past their limit."""
    now = utcnow()
    with session_scope(factory) as session:
        for key in keys:
            row = session.get(Throttle, key)
            if row is None or row.window_start + WINDOW <= now:
                row = session.merge(Throttle(key=key, failures=0, window_start=now))
            row.failures += 1
            if row.failures >= MAX_FAILURES.get(key.split(":")[1], 5):
                row.locked_until = now + WINDOW


def forget(session: Session, keys: Iterable[str]) -> None:
    """Clear the failures of keys after a success (in the caller's transaction)."""
    session.execute(sa.delete(Throttle).where(Throttle.key.in_(list(keys))))


def count_refusal(factory: sessionmaker[Session], code: str) -> None:
    """Count one refused request without a known caller, per day and code."""
    day = utcnow().date().isoformat()
    with session_scope(factory) as session:
        row = session.get(RefusalCount, (day, code[:64]))
        if row is None:
            session.add(RefusalCount(day=day, code=code[:64], count=1))
        else:
            row.count += 1
