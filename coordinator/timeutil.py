"""Times as the protocol writes them: UTC, ISO 8601, whole seconds, ``Z`` suffix."""

from __future__ import annotations

from datetime import UTC, datetime

from .errors import BadRequest

__all__ = ["parse_time", "utcnow", "write_time"]


def utcnow() -> datetime:
    """Return the current time in UTC, to the second (what messages can carry)."""
    return datetime.now(UTC).replace(microsecond=0)


def write_time(moment: datetime) -> str:
    """Return a time as the protocol writes it, e.g. ``2026-11-23T10:00:00Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: object, field: str) -> datetime:
    """Parse an ISO 8601 time with a zone; raise BadRequest naming the field otherwise."""
    if not isinstance(value, str):
        raise BadRequest("bad_time", f"{field} must be an ISO 8601 time string")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise BadRequest("bad_time", f"{field} is not an ISO 8601 time: {value[:40]!r}") from None
    if moment.tzinfo is None:
        raise BadRequest("bad_time", f"{field} has no time zone (write it in UTC with 'Z')")
    return moment.astimezone(UTC)
