"""The checks a task passes before anything runs (docs/protocol.md, "Task").

In order: the coordinator's signature against the pinned key, then the wire format's own
check of the task (``protocol.check_task``: its shape, that it is addressed to this node,
that the spec hashes to the ``spec_hash`` that was signed), that the deadline has not
passed, and that its ``task_id`` is new.  The first failure refuses the task with a code.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from protocol import (
    MessageInvalid,
    ProtocolError,
    SignatureInvalid,
    TaskMessage,
    check_task,
    key_id,
)
from protocol import verify as verify_envelope

from .errors import TaskRefused

__all__ = ["accept_task"]


def _verified(envelope: object, coordinator_key: Ed25519PublicKey) -> dict:
    try:
        return verify_envelope(envelope, coordinator_key, signer="coordinator")
    except ProtocolError as exc:
        if not isinstance(exc, SignatureInvalid):
            raise TaskRefused("malformed", str(exc)) from None
        claimed = envelope.get("key_id") if isinstance(envelope, dict) else None
        pinned = key_id(coordinator_key)
        if isinstance(claimed, str) and claimed != pinned:
            raise TaskRefused(
                "bad_signature",
                f"signed with key {claimed}, not the pinned coordinator key {pinned}",
            ) from None
        raise TaskRefused("bad_signature", str(exc)) from None


def accept_task(
    envelope: object,
    coordinator_key: Ed25519PublicKey,
    node_id: str,
    now: datetime,
    seen: Callable[[str], bool],
) -> TaskMessage:
    """Return the checked task of an envelope, or raise TaskRefused with the first reason."""
    payload = _verified(envelope, coordinator_key)
    try:
        task = check_task(payload, node_id=node_id)
    except MessageInvalid as exc:
        raise TaskRefused(exc.code, exc.message, exc.message_id) from None
    if task.deadline <= now:
        raise TaskRefused("expired", f"the deadline {payload['deadline']} has passed", task.task_id)
    if seen(task.task_id):
        raise TaskRefused(
            "replay", "a different task with this task_id was seen before", task.task_id
        )
    return task
