"""What nodes send: signed polls (answered with their open tasks) and signed results.

Every message is checked before anything is stored: the signature against the node's
registered key, the node named inside against the signer, and for a poll its time (within
the clock skew) and nonce (never seen) so a captured poll cannot be replayed.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from protocol import (
    SignatureInvalid,
    canonical_json,
    check_poll,
    check_result,
    check_result_message,
    parse_spec,
    utcnow,
    verify,
    write_time,
)

from ..audit.services import record
from ..errors import BadRequest, Conflict, Forbidden, NotFound
from ..registry.models import Node
from ..registry.services import enrolled_node
from .models import PollNonce, Result, Round, Task

__all__ = ["poll", "store_result"]


def _verified(envelope: Any, node: Node) -> dict[str, Any]:
    try:
        return verify(envelope, node.public_key or "", signer=node.id)
    except SignatureInvalid as exc:
        raise BadRequest("bad_signature", str(exc), subject=f"node:{node.id}") from None


def poll(session: Session, node_id: str, envelope: Any, *, skew: int) -> list[dict[str, Any]]:
    """Check a node's signed poll; return the task envelopes it still has to answer.

    Those are the tasks of rounds whose deadline has not passed and for which no result is
    stored, so a node that was offline gets everything on its next poll.
    """
    node = enrolled_node(session, node_id)
    message = check_poll(_verified(envelope, node), node_id=node.id)
    now = utcnow()
    sent, nonce = message.sent_at, message.nonce
    if abs((now - sent).total_seconds()) > skew:
        raise BadRequest(
            "stale_poll",
            f"poll was sent at {write_time(sent)}, more than {skew} s from the coordinator's"
            f" clock ({write_time(now)}); check the node's clock",
        )
    # A poll older than the skew is refused anyway, so older nonces need not be kept.
    session.execute(
        sa.delete(PollNonce).where(PollNonce.seen_at < now - timedelta(seconds=skew * 2))
    )
    if session.get(PollNonce, (node.id, nonce)) is not None:
        raise BadRequest("replayed_nonce", "this poll's nonce was seen before (a replay)")
    session.add(PollNonce(node_id=node.id, nonce=nonce, seen_at=now))
    node.last_seen_at = now
    if message.software is not None:
        node.software = message.software
    tasks = session.scalars(
        sa.select(Task)
        .join(Round)
        .outerjoin(Result, Result.task_id == Task.id)
        .where(Task.node_id == node.id, Round.deadline > now, Result.id.is_(None))
        .order_by(Task.round_id)
    ).all()
    for task in tasks:
        if task.delivered_at is None:
            task.delivered_at = now
            record(session, node.actor, "task.deliver", f"task:{task.id}", round_id=task.round_id)
    try:
        session.flush()
    except sa.exc.IntegrityError:
        # Two polls with one nonce raced; the loser is the replay.
        raise BadRequest("replayed_nonce", "this poll's nonce was seen before (a replay)") from None
    return [json.loads(task.envelope) for task in tasks]


def _content_hash(result: Any) -> str:
    return hashlib.sha256(canonical_json(result)).hexdigest()


def store_result(session: Session, envelope: Any) -> tuple[Result, bool]:
    """Check and store a node's signed result; return it and whether it was a duplicate.

    The same content for a stored task is a duplicate (stored once); different content is a
    conflict, since a node answers a task exactly once.
    """
    signer = envelope.get("signer") if isinstance(envelope, dict) else None
    if not isinstance(signer, str):
        raise BadRequest("bad_signature", "not a signed envelope (no signer)")
    node = enrolled_node(session, signer)
    message = check_result_message(_verified(envelope, node), node_id=node.id)
    task = session.get(Task, message.task_id)
    if task is None:
        raise NotFound("unknown_task", f"no task {message.task_id[:40]!r}")
    if task.node_id != node.id:
        raise Forbidden(
            "not_your_task", f"task {task.id} was sent to {task.node_id!r}, not {node.id!r}"
        )
    round_ = task.round
    if message.round_id != round_.id:
        raise BadRequest("wrong_round", f"task {task.id} belongs to round {round_.id}")
    if message.spec_hash != round_.spec.spec_hash:
        raise BadRequest(
            "spec_hash_mismatch",
            f"result names spec {message.spec_hash[:80]!r}, the task {round_.spec.spec_hash}",
        )
    result = message.result
    digest = _content_hash(result)
    if task.result is not None:
        if task.result.content_hash != digest:
            raise Conflict(
                "result_conflict", f"a different result for task {task.id} is already stored"
            )
        return task.result, True
    now = utcnow()
    if round_.deadline <= now:
        raise Conflict(
            "deadline_passed", f"round {round_.id} closed on {write_time(round_.deadline)}"
        )
    spec = parse_spec(round_.spec.yaml, source=round_.spec.spec_hash)
    check_result(spec, result, min_cell=round_.min_cell, audit=True)
    row = Result(
        task=task,
        round_id=round_.id,
        node_id=node.id,
        envelope=canonical_json(envelope).decode(),
        result=canonical_json(result).decode(),
        content_hash=digest,
        received_at=now,
    )
    session.add(row)
    try:
        session.flush()
    except sa.exc.IntegrityError:
        # Another upload of this task won the race: answer as for a repeat.
        session.rollback()
        return store_result(session, envelope)
    record(
        session,
        node.actor,
        "result.store",
        f"task:{task.id}",
        round_id=round_.id,
        cells=len(result["cells"]),
    )
    return row, False
