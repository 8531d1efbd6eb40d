"""``lhs.poll/1``: a node asks for its open tasks and aggregation requests."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..errors import MessageInvalid
from ._checks import expect_node, expect_type
from ._time import parse_time, utcnow, write_time
from ._types import NONCE, POLL, SOFTWARE

__all__ = ["Poll", "check_poll", "poll_payload"]


@dataclass(frozen=True)
class Poll:
    """A poll that has the wire format's shape (its time and nonce still need the clock)."""

    node_id: str
    sent_at: datetime
    nonce: str
    software: str | None = None


def poll_payload(
    node_id: str, *, sent_at: datetime | None = None, software: str | None = None
) -> dict[str, Any]:
    """Return a poll of ``node_id`` with a fresh nonce, to be signed by that node.

    ``software`` names what the node runs (e.g. ``lhs 0.1.0``), for the coordinator's list
    of nodes; a poll without it is as valid.
    """
    payload = {
        "type": POLL,
        "node_id": node_id,
        "sent_at": write_time(sent_at or utcnow()),
        "nonce": secrets.token_hex(16),
    }
    if software is not None:
        payload["software"] = software
    return payload


def check_poll(payload: dict[str, Any], *, node_id: str) -> Poll:
    """Return the poll in ``payload`` signed by ``node_id``, or raise MessageInvalid."""
    expect_type(payload, POLL)
    expect_node(payload, node_id)
    sent = parse_time(payload.get("sent_at"), "sent_at")
    nonce = payload.get("nonce")
    if not isinstance(nonce, str) or not NONCE.match(nonce):
        raise MessageInvalid("bad_nonce", "nonce must be 16 to 128 lower-case hex digits")
    software = payload.get("software")
    if software is not None and (not isinstance(software, str) or not SOFTWARE.match(software)):
        raise MessageInvalid(
            "bad_software", "software must be 1 to 64 letters, digits, spaces or ._+-"
        )
    return Poll(node_id, sent, nonce, software)
