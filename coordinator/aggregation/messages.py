"""What members send for secure aggregation: signed X25519 keys, then signed masked shares.

A member whose policy keeps it out sends a signed decline instead: every open attempt of
the round that counts on it restarts at once without it.

Each message names the round, the group and the attempt it belongs to, so a key or share
cannot be replayed into another round, group or attempt: the signature covers all three.
When the last member's key arrives the attempt moves to shares; when the last share
arrives the masks cancel in the sum and the attempt is done.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from protocol import (
    AggMessage,
    AggregationError,
    SignatureInvalid,
    canonical_json,
    check_agg_message,
    unmask_sum,
    utcnow,
    verify,
)

from ..audit.services import record
from ..errors import BadRequest, Conflict, Forbidden, NotFound
from ..registry.services import enrolled_node
from .models import AggAttempt
from .models import AggMessage as StoredMessage
from .services import exclude_node

__all__ = ["store_message"]

_PHASE = {"key": ("keys",), "share": ("shares",)}


def _message(session: Session, envelope: Any) -> tuple[str, AggMessage]:
    signer = envelope.get("signer") if isinstance(envelope, dict) else None
    if not isinstance(signer, str):
        raise BadRequest("bad_signature", "not a signed envelope (no signer)")
    node = enrolled_node(session, signer)
    try:
        payload = verify(envelope, node.public_key or "", signer=node.id)
    except SignatureInvalid as exc:
        raise BadRequest("bad_signature", str(exc), subject=f"node:{node.id}") from None
    return node.id, check_agg_message(payload, node_id=node.id)


def _attempt(session: Session, message: AggMessage) -> AggAttempt:
    row = session.scalar(
        sa.select(AggAttempt)
        .where(
            AggAttempt.round_id == message.round_id,
            AggAttempt.level == message.group[0],
            AggAttempt.area == message.group[1],
            AggAttempt.attempt == message.attempt,
        )
        # Two members' last messages at once must not both miss that the attempt is complete.
        .with_for_update()
    )
    if row is None:
        raise NotFound(
            "unknown_aggregation",
            f"no attempt {message.attempt} of {list(message.group)} in round {message.round_id}",
        )
    return row


def _check_share(row: AggAttempt, payload: dict[str, Any]) -> None:
    if payload.get("members") != json.loads(row.members):
        raise BadRequest("wrong_members", "the share names other members than the attempt")
    if payload.get("layout_hash") != row.layout_hash:
        raise BadRequest("wrong_layout", f"the attempt's layout is {row.layout_hash}")
    layout = json.loads(row.layout)
    size = len(layout["measures"]) * len(layout["cells"])
    if len(payload["masked"]) != size:
        raise BadRequest("bad_share", f"masked must be a list of {size} numbers")


def store_message(session: Session, envelope: Any) -> tuple[StoredMessage, bool]:
    """Check and store a member's signed key, share or decline; return it and if it repeats."""
    node_id, checked = _message(session, envelope)
    payload, kind = checked.payload, checked.kind
    row = _attempt(session, checked)
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
    public_key = payload["public_key"] if kind == "key" else None
    if kind == "share":
        _check_share(row, payload)
    message = StoredMessage(
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
    # Read from the database, not the attempt's loaded messages: another member's message
    # may have been committed since this request read them, and the last of two members
    # sending at once must see both, or the attempt would wait forever.
    got = session.scalars(
        sa.select(StoredMessage)
        .where(StoredMessage.attempt_row == row, StoredMessage.kind == kind)
        .order_by(StoredMessage.node_id)
    ).all()
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
