"""What members send for secure aggregation: signed X25519 keys, then signed masked shares.

A member whose policy keeps it out sends a signed decline instead: every open attempt of
the round that counts on it restarts at once without it.

Each message names the round, the group and the attempt it belongs to, so a key or share
cannot be replayed into another round, group or attempt: the signature covers all three.
When the last member's key arrives the attempt moves to shares; when the last share
arrives the masks cancel in the sum and the attempt is done.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from protocol import AggregationError, SignatureInvalid, canonical_json, unmask_sum, verify

from ..audit.services import record
from ..errors import BadRequest, Conflict, Forbidden, NotFound
from ..registry.services import enrolled_node
from ..timeutil import utcnow
from .models import AggAttempt, AggMessage
from .services import exclude_node

__all__ = ["DECLINE_TYPE", "KEY_TYPE", "SHARE_TYPE", "store_message"]

KEY_TYPE = "lhs.aggkey/1"
SHARE_TYPE = "lhs.aggshare/1"
DECLINE_TYPE = "lhs.aggdecline/1"
_KINDS = {KEY_TYPE: "key", SHARE_TYPE: "share", DECLINE_TYPE: "decline"}
_PHASE = {"key": ("keys",), "share": ("shares",)}
MAX_REASON = 200


def _payload(session: Session, envelope: Any) -> tuple[str, dict[str, Any]]:
    signer = envelope.get("signer") if isinstance(envelope, dict) else None
    if not isinstance(signer, str):
        raise BadRequest("bad_signature", "not a signed envelope (no signer)")
    node = enrolled_node(session, signer)
    try:
        payload = verify(envelope, node.public_key or "", signer=node.id)
    except SignatureInvalid as exc:
        raise BadRequest("bad_signature", str(exc), subject=f"node:{node.id}") from None
    if payload.get("type") not in _KINDS:
        raise BadRequest("bad_message", f"expected a message of type {', '.join(_KINDS)}")
    if payload.get("node_id") != node.id:
        raise BadRequest("wrong_node", f"the message names another node than {node.id!r}")
    return node.id, payload


def _attempt(session: Session, payload: dict[str, Any]) -> AggAttempt:
    group = payload.get("group")
    ok = isinstance(group, list) and len(group) == 2 and all(isinstance(g, str) for g in group)
    ids = [payload.get("round_id"), payload.get("attempt")]
    if not ok or not all(isinstance(v, int) and not isinstance(v, bool) for v in ids):
        raise BadRequest("bad_message", "round_id, attempt (whole numbers), group [level, area]")
    row = session.scalar(
        sa.select(AggAttempt)
        .where(
            AggAttempt.round_id == ids[0],
            AggAttempt.level == group[0],  # type: ignore[index]
            AggAttempt.area == group[1],  # type: ignore[index]
            AggAttempt.attempt == ids[1],
        )
        # Two members' last messages at once must not both miss that the attempt is complete.
        .with_for_update()
    )
    if row is None:
        raise NotFound("unknown_aggregation", f"no attempt {ids[1]} of {group} in round {ids[0]}")
    return row


def _check_key(payload: dict[str, Any]) -> str:
    text = payload.get("public_key")
    try:
        raw = base64.b64decode(str(text), validate=True)
    except ValueError:
        raw = b""
    if not isinstance(text, str) or len(raw) != 32:
        raise BadRequest("bad_public_key", "public_key must be a raw X25519 key, base64")
    return text


def _check_share(row: AggAttempt, payload: dict[str, Any]) -> None:
    if payload.get("members") != json.loads(row.members):
        raise BadRequest("wrong_members", "the share names other members than the attempt")
    if payload.get("layout_hash") != row.layout_hash:
        raise BadRequest("wrong_layout", f"the attempt's layout is {row.layout_hash}")
    masked = payload.get("masked")
    layout = json.loads(row.layout)
    size = len(layout["measures"]) * len(layout["cells"])
    if not isinstance(masked, list) or len(masked) != size:
        raise BadRequest("bad_share", f"masked must be a list of {size} numbers")
    if not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**64 for v in masked):
        raise BadRequest("bad_share", "masked values must be whole numbers from 0 to 2**64-1")


def store_message(session: Session, envelope: Any) -> tuple[AggMessage, bool]:
    """Check and store a member's signed key, share or decline; return it and if it repeats."""
    node_id, payload = _payload(session, envelope)
    kind = _KINDS[payload["type"]]
    row = _attempt(session, payload)
    if node_id not in json.loads(row.members):
        raise Forbidden("not_a_member", f"{node_id!r} is not a member of this attempt")
    digest = hashlib.sha256(canonical_json(payload)).hexdigest()
    stored = next((m for m in row.messages if m.node_id == node_id and m.kind == kind), None)
    if stored is not None:
        if stored.content_hash != digest:
            raise Conflict("aggregation_conflict", f"a different {kind} is already stored")
        return stored, True
    # A decline is taken in any state: the node may decline several groups in one poll,
    # and the first decline already closed the others.
    if kind != "decline" and row.state not in _PHASE[kind]:
        raise Conflict(
            "attempt_closed", f"attempt {row.attempt} of {row.level} {row.area} is {row.state}"
        )
    public_key = _check_key(payload) if kind == "key" else None
    if kind == "share":
        _check_share(row, payload)
    if kind == "decline" and not (
        isinstance(payload.get("reason"), str) and len(payload["reason"]) <= MAX_REASON
    ):
        raise BadRequest(
            "bad_message", f"a decline needs a reason of at most {MAX_REASON} characters"
        )
    message = AggMessage(
        attempt_row=row,
        node_id=node_id,
        kind=kind,
        envelope=canonical_json(envelope).decode(),
        content_hash=digest,
        public_key=public_key,
        received_at=utcnow(),
    )
    session.add(message)
    session.flush()
    record(
        session,
        f"node:{node_id}",
        f"aggregation.{kind}",
        f"round:{row.round_id}",
        group=[row.level, row.area],
        attempt=row.attempt,
        **({"reason": payload["reason"]} if kind == "decline" else {}),
    )
    if kind == "decline":
        # Every group of the round that counts on this node goes on without it, now.
        exclude_node(session, row.round_id, node_id)
    else:
        _advance(session, row, kind)
    return message, False


def _advance(session: Session, row: AggAttempt, kind: str) -> None:
    members = json.loads(row.members)
    got = [m for m in row.messages if m.kind == kind]
    if len(got) < len(members):
        return
    if kind == "key":
        row.state = "shares"
        return
    vectors = [json.loads(m.envelope)["payload"]["masked"] for m in got]
    try:
        totals = unmask_sum(vectors)
    except AggregationError as exc:
        # A wrong share spoils the sum for everyone; the attempt is closed and yields nothing.
        row.state, row.closed_at = "failed", utcnow()
        record(session, "coordinator", "aggregation.fail", f"round:{row.round_id}", reason=str(exc))
        return
    row.totals, row.state, row.closed_at = json.dumps(totals), "done", utcnow()
    record(
        session,
        "coordinator",
        "aggregation.done",
        f"round:{row.round_id}",
        group=[row.level, row.area],
        attempt=row.attempt,
    )
