"""Times as messages carry them: UTC, ISO 8601, whole seconds, a ``Z`` suffix."""

from __future__ import annotations

from datetime import UTC, datetime

from ..errors import MessageInvalid

__all__ = ["parse_time", "utcnow", "write_time"]


def utcnow() -> datetime:
    """Return the current time in UTC, to the second (what messages can carry)."""
    return datetime.now(UTC).replace(microsecond=0)


def write_time(moment: datetime, *, millis: bool = False) -> str:
    """Return a time as messages write it, e.g. ``2026-11-23T10:00:00Z`` (``millis``: .123Z)."""
    moment = moment.astimezone(UTC)
    if millis:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: object, field: str) -> datetime:
    """Parse an ISO 8601 time with a zone; raise MessageInvalid (``bad_time``) naming the field."""
    if not isinstance(value, str):
        raise MessageInvalid("bad_time", f"{field} must be an ISO 8601 time string")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise MessageInvalid(
            "bad_time", f"{field} is not an ISO 8601 time: {value[:40]!r}"
        ) from None
    if moment.tzinfo is None:
        raise MessageInvalid("bad_time", f"{field} has no time zone (write it in UTC with 'Z')")
    return moment.astimezone(UTC)
