"""The checks a task passes before anything runs (docs/protocol.md, "Task").

In order: the coordinator's signature against the pinned key, the shape of the
payload, that it is addressed to this node, that the spec hashes to the
``spec_hash`` that was signed, that the deadline has not passed, and that its
``task_id`` is new.  The first failure refuses the task with a short code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from protocol import ProtocolError, QuerySpec, SignatureInvalid, key_id, parse_spec, spec_hash
from protocol import verify as verify_envelope

from .errors import TaskRefused

__all__ = ["TASK_FIELDS", "Task", "check_task", "parse_time"]

TASK_FIELDS: dict[str, type] = {
    "type": str,
    "task_id": str,
    "round_id": int,
    "node_id": str,
    "spec_id": str,
    "spec_version": int,
    "spec_hash": str,
    "spec": str,
    "min_cell": int,
    "nodes": list,
    "issued_at": str,
    "deadline": str,
}


@dataclass(frozen=True)
class Task:
    """A task that passed every check."""

    payload: dict[str, Any]
    spec: QuerySpec
    deadline: datetime

    @property
    def task_id(self) -> str:
        """Return the coordinator's id of the task."""
        return self.payload["task_id"]


def parse_time(text: str) -> datetime:
    """Parse an ISO 8601 time with a time zone (``Z`` or an offset)."""
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError(f"time {text!r} has no time zone")
    return value


def _shape(payload: dict[str, Any]) -> None:
    task_id = payload.get("task_id") if isinstance(payload.get("task_id"), str) else None
    if payload.get("type") != "lhs.task/1":
        raise TaskRefused(
            "malformed", f"type is {payload.get('type')!r}, not 'lhs.task/1'", task_id
        )
    for name, kind in TASK_FIELDS.items():
        value = payload.get(name)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise TaskRefused(
                "malformed", f"field {name!r} is missing or not a {kind.__name__}", task_id
            )
    if not payload["task_id"] or len(payload["task_id"]) > 200:
        raise TaskRefused("malformed", "task_id is empty or longer than 200 characters")


def check_task(
    envelope: Any,
    coordinator_key: Ed25519PublicKey,
    node_id: str,
    now: datetime,
    seen: Callable[[str], bool],
) -> Task:
    """Return the checked task of an envelope, or raise TaskRefused with the first reason."""
    try:
        payload = verify_envelope(envelope, coordinator_key, signer="coordinator")
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
    _shape(payload)
    task_id = payload["task_id"]
    if payload["node_id"] != node_id:
        raise TaskRefused(
            "wrong_node", f"addressed to node {payload['node_id']!r}, this is {node_id!r}", task_id
        )
    try:
        spec = parse_spec(payload["spec"], f"task {task_id}")
    except ProtocolError as exc:
        raise TaskRefused("spec_invalid", str(exc), task_id) from None
    actual = spec_hash(spec)
    if actual != payload["spec_hash"]:
        raise TaskRefused(
            "spec_hash_mismatch",
            f"the spec hashes to {actual}, the task names {payload['spec_hash']}",
            task_id,
        )
    if (spec.id, spec.version) != (payload["spec_id"], payload["spec_version"]):
        raise TaskRefused(
            "malformed",
            f"the task names {payload['spec_id']} v{payload['spec_version']},"
            f" its spec is {spec.id} v{spec.version}",
            task_id,
        )
    try:
        deadline = parse_time(payload["deadline"])
    except ValueError as exc:
        raise TaskRefused("malformed", f"deadline: {exc}", task_id) from None
    if deadline <= now:
        raise TaskRefused("expired", f"the deadline {payload['deadline']} has passed", task_id)
    if seen(task_id):
        raise TaskRefused("replay", "a different task with this task_id was seen before", task_id)
    return Task(payload, spec, deadline)
