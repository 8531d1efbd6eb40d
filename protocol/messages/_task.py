"""``lhs.task/1``: the coordinator asks one node to run one approved spec with k by a deadline."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..errors import MessageInvalid, ProtocolError
from ..spec import MAX_MIN_CELL, QuerySpec, parse_spec
from ..spec import spec_hash as hash_of
from ._checks import MAX_ID, is_whole
from ._time import parse_time, write_time
from ._types import TASK

__all__ = ["TASK_FIELDS", "TaskMessage", "check_task", "task_payload"]

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
"""Every field of a task and its JSON type."""

MAX_TASK_ID = 200


@dataclass(frozen=True)
class TaskMessage:
    """A task whose shape, spec and hash are right (its deadline still needs the clock)."""

    payload: dict[str, Any]
    spec: QuerySpec
    deadline: datetime

    @property
    def task_id(self) -> str:
        """Return the coordinator's id of the task."""
        return self.payload["task_id"]


def task_payload(
    *,
    task_id: str,
    round_id: int,
    node_id: str,
    spec_id: str,
    spec_version: int,
    spec_hash: str,
    spec_text: str,
    min_cell: int,
    nodes: Sequence[str],
    issued_at: datetime,
    deadline: datetime,
) -> dict[str, Any]:
    """Return a task for one node, to be signed by the coordinator."""
    return {
        "type": TASK,
        "task_id": task_id,
        "round_id": round_id,
        "node_id": node_id,
        "spec_id": spec_id,
        "spec_version": spec_version,
        "spec_hash": spec_hash,
        "spec": spec_text,
        "min_cell": min_cell,
        "nodes": list(nodes),
        "issued_at": write_time(issued_at),
        "deadline": write_time(deadline),
    }


def _shape(payload: dict[str, Any]) -> str:
    task_id = payload.get("task_id") if isinstance(payload.get("task_id"), str) else None
    if payload.get("type") != TASK:
        raise MessageInvalid(
            "malformed", f"type is {payload.get('type')!r}, not {TASK!r}", message_id=task_id
        )
    for name, kind in TASK_FIELDS.items():
        value = payload.get(name)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise MessageInvalid(
                "malformed",
                f"field {name!r} is missing or not a {kind.__name__}",
                message_id=task_id,
            )
    if not payload["task_id"] or len(payload["task_id"]) > MAX_TASK_ID:
        raise MessageInvalid(
            "malformed", f"task_id is empty or longer than {MAX_TASK_ID} characters"
        )
    # Numbers a database holds and k a node can honour: 10**30 is refused here, not stored.
    for name, low, high in (
        ("round_id", 1, MAX_ID),
        ("spec_version", 1, MAX_ID),
        ("min_cell", 1, MAX_MIN_CELL),
    ):
        if not is_whole(payload[name], low, high):
            raise MessageInvalid(
                "malformed",
                f"{name} {str(payload[name])[:40]} is not a whole number from {low} to {high}",
                message_id=task_id,
            )
    return payload["task_id"]


def check_task(payload: Any, *, node_id: str) -> TaskMessage:
    """Return the task in ``payload`` for ``node_id``, or raise MessageInvalid with the reason.

    In order: the shape, the node it is addressed to, that the spec parses, hashes to the
    ``spec_hash`` signed and is the id and version named, and that the deadline is a time.
    """
    if not isinstance(payload, dict):
        raise MessageInvalid("malformed", "a task payload must be an object")
    task_id = _shape(payload)
    if payload["node_id"] != node_id:
        raise MessageInvalid(
            "wrong_node",
            f"addressed to node {payload['node_id']!r}, this is {node_id!r}",
            message_id=task_id,
        )
    try:
        spec = parse_spec(payload["spec"], f"task {task_id}")
    except ProtocolError as exc:
        raise MessageInvalid("spec_invalid", str(exc), message_id=task_id) from None
    actual = hash_of(spec)
    if actual != payload["spec_hash"]:
        raise MessageInvalid(
            "spec_hash_mismatch",
            f"the spec hashes to {actual}, the task names {payload['spec_hash']}",
            message_id=task_id,
        )
    if (spec.id, spec.version) != (payload["spec_id"], payload["spec_version"]):
        raise MessageInvalid(
            "malformed",
            f"the task names {payload['spec_id']} v{payload['spec_version']},"
            f" its spec is {spec.id} v{spec.version}",
            message_id=task_id,
        )
    try:
        deadline = parse_time(payload["deadline"], "deadline")
    except MessageInvalid as exc:
        raise MessageInvalid("malformed", str(exc), message_id=task_id) from None
    return TaskMessage(payload, spec, deadline)
