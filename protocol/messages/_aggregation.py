"""Secure-aggregation messages: the coordinator's requests, the members' keys, shares, declines.

Each names the round, the group and the attempt it belongs to, so the signature binds a
key or share to exactly one of them.  A request asks a member for its key (phase ``key``)
or, once every member's key is in, for its masked share (phase ``share``, with the keys).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..disclosure import MIN_MEMBERS
from ..errors import MessageInvalid
from ._checks import expect_group, expect_node, expect_type, is_whole
from ._layout import layout_hash
from ._types import AGG_DECLINE, AGG_KEY, AGG_REQUEST, AGG_SHARE

__all__ = [
    "AGG_KINDS",
    "MAX_DECLINE_REASON",
    "AggMessage",
    "AggRequest",
    "agg_decline_payload",
    "agg_key_payload",
    "agg_request_payload",
    "agg_share_payload",
    "check_agg_message",
    "check_agg_request",
]

AGG_KINDS = {AGG_KEY: "key", AGG_SHARE: "share", AGG_DECLINE: "decline"}
"""What a member may send, by message type."""

MAX_DECLINE_REASON = 200
MASKED_LIMIT = 2**64


@dataclass(frozen=True)
class AggMessage:
    """An aggregation message whose shape is right: what it is and the attempt it is for.

    ``kind`` is ``key``, ``share`` or ``decline`` for a member's message, the phase asked
    (``key`` or ``share``) for a request.
    """

    payload: dict[str, Any]
    kind: str
    round_id: int
    group: tuple[str, str]
    attempt: int


@dataclass(frozen=True)
class AggRequest(AggMessage):
    """A request whose shape is right and which names this node among its members."""

    members: list[str]

    def reply(self, node_id: str) -> dict[str, Any]:
        """Return the fields every answer to this request carries."""
        return {
            "round_id": self.round_id,
            "node_id": node_id,
            "group": list(self.group),
            "attempt": self.attempt,
        }


def agg_request_payload(
    *,
    phase: str,
    round_id: int,
    node_id: str,
    group: Sequence[str],
    attempt: int,
    members: Sequence[str],
    layout: Mapping[str, Any],
    keys: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Return a request to one member, to be signed by the coordinator."""
    payload: dict[str, Any] = {
        "type": AGG_REQUEST,
        "phase": phase,
        "round_id": round_id,
        "node_id": node_id,
        "group": list(group),
        "attempt": attempt,
        "members": list(members),
        "layout": dict(layout),
        "layout_hash": layout_hash(layout),
    }
    if keys is not None:
        payload["keys"] = dict(keys)
    return payload


def check_agg_request(payload: Any, *, node_id: str) -> AggRequest:
    """Return a request to ``node_id`` (codes ``malformed``, ``wrong_node``, ``not_a_member``,
    ``bad_membership``)."""
    if not isinstance(payload, dict):
        raise MessageInvalid("malformed", "a request payload must be an object")
    phase, members = payload.get("phase"), payload.get("members")
    if payload.get("type") != AGG_REQUEST or phase not in ("key", "share"):
        raise MessageInvalid("malformed", f"not an {AGG_REQUEST} with phase key or share")
    if not isinstance(members, list):
        raise MessageInvalid("malformed", "group must be [level, area], members a list")
    round_id, group, attempt = expect_group(payload, code="malformed")
    expect_node(payload, node_id)
    if node_id not in members:
        raise MessageInvalid("not_a_member", "the membership does not include this node")
    if members != sorted(set(members)) or len(members) < MIN_MEMBERS:
        raise MessageInvalid(
            "bad_membership", f"members must be {MIN_MEMBERS} or more distinct ids"
        )
    return AggRequest(payload, phase, round_id, group, attempt, members)


def agg_key_payload(request: AggRequest, node_id: str, public_key: str) -> dict[str, Any]:
    """Return a member's key for one attempt: its X25519 public key, base64."""
    return {"type": AGG_KEY, **request.reply(node_id), "public_key": public_key}


def agg_share_payload(request: AggRequest, node_id: str, masked: list[int]) -> dict[str, Any]:
    """Return a member's masked share of the layout the request names."""
    return {
        "type": AGG_SHARE,
        **request.reply(node_id),
        "members": request.members,
        "layout_hash": request.payload["layout_hash"],
        "masked": masked,
    }


def agg_decline_payload(request: AggRequest, node_id: str, reason: str) -> dict[str, Any]:
    """Return a member's decline: it takes no part, and says why in one line."""
    return {"type": AGG_DECLINE, **request.reply(node_id), "reason": reason}


def check_agg_message(payload: Any, *, node_id: str) -> AggMessage:
    """Return a key, share or decline signed by ``node_id``, or raise MessageInvalid.

    The share's length and layout are the attempt's to check; here only the values' range.
    """
    kind = AGG_KINDS[expect_type(payload, tuple(AGG_KINDS))]
    expect_node(payload, node_id)
    round_id, group, attempt = expect_group(payload)
    if kind == "key":
        _check_public_key(payload.get("public_key"))
    elif kind == "share":
        masked = payload.get("masked")
        if not isinstance(masked, list) or not all(
            is_whole(v, 0, MASKED_LIMIT - 1) for v in masked
        ):
            raise MessageInvalid(
                "bad_share", "masked must be a list of whole numbers from 0 to 2**64-1"
            )
    else:
        reason = payload.get("reason")
        if not isinstance(reason, str) or len(reason) > MAX_DECLINE_REASON:
            raise MessageInvalid(
                "bad_message",
                f"a decline needs a reason of at most {MAX_DECLINE_REASON} characters",
            )
    return AggMessage(payload, kind, round_id, group, attempt)


def _check_public_key(text: object) -> None:
    try:
        raw = base64.b64decode(str(text), validate=True)
    except ValueError:
        raw = b""
    if not isinstance(text, str) or len(raw) != 32:
        raise MessageInvalid("bad_public_key", "public_key must be a raw X25519 key, base64")
