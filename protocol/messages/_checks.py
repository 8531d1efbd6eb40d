"""Checks every message shares: its type, the node it names, whole numbers, groups."""

from __future__ import annotations

from typing import Any

from ..errors import MessageInvalid

__all__ = ["expect_group", "expect_node", "expect_type", "is_whole"]

MAX_ID = 2**63 - 1
"""The largest round id or attempt a message may carry (a signed 64-bit integer)."""


def is_whole(value: object, low: int = 0, high: int = MAX_ID) -> bool:
    """Return whether ``value`` is an int (not a bool) from ``low`` to ``high``."""
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def expect_type(payload: Any, kind: str | tuple[str, ...]) -> str:
    """Return the payload's type if it is ``kind`` (or one of them); else ``bad_message``."""
    kinds = (kind,) if isinstance(kind, str) else kind
    found = payload.get("type") if isinstance(payload, dict) else None
    if found not in kinds:
        raise MessageInvalid("bad_message", f"expected a message of type {', '.join(kinds)}")
    return found  # type: ignore[return-value]


def expect_node(payload: dict[str, Any], node_id: str) -> None:
    """Refuse (``wrong_node``) a payload naming another node than the one it is for."""
    named = payload.get("node_id")
    if named != node_id:
        raise MessageInvalid("wrong_node", f"the message names node {named!r}, not {node_id!r}")


def expect_group(
    payload: dict[str, Any], code: str = "bad_message"
) -> tuple[int, tuple[str, str], int]:
    """Return a message's round id, group ``(level, area)`` and attempt; refuse with ``code``."""
    group = payload.get("group")
    ok = isinstance(group, list) and len(group) == 2 and all(isinstance(g, str) for g in group)
    round_id, attempt = payload.get("round_id"), payload.get("attempt")
    if not ok or not is_whole(round_id, 1) or not is_whole(attempt, 1):
        raise MessageInvalid(
            code,
            "a message needs round_id and attempt (whole numbers from 1) and group [level, area]",
        )
    return round_id, (group[0], group[1]), attempt  # type: ignore[index,return-value]
