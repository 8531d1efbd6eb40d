"""Where each node of a round is: task sent, fetched by a poll, run and uploaded, declined.

Pure reading of the rounds and aggregation tables (no Flask). A node that holds a task for
its local admin, or refuses to run it, tells the coordinator nothing: such a node stays
"fetched" until it uploads or the deadline passes.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from protocol import HEADLINE, utcnow

from ..aggregation.models import AggAttempt, AggMessage
from ..registry.models import Node
from ..rounds.models import Round, Task

__all__ = ["node_progress"]


def _aggregation(session: Session, round_id: int) -> dict[str, dict[str, Any]]:
    """Return per node its secure-aggregation messages: keys and shares sent, a decline."""
    rows = session.execute(
        sa.select(AggMessage.node_id, AggMessage.kind, AggMessage.envelope)
        .join(AggAttempt, AggMessage.attempt_id == AggAttempt.id)
        .where(AggAttempt.round_id == round_id)
        .order_by(AggMessage.id)
    )
    out: dict[str, dict[str, Any]] = {}
    for node_id, kind, envelope in rows:
        entry = out.setdefault(node_id, {"key": 0, "share": 0, "declined": None})
        if kind == "decline":
            entry["declined"] = json.loads(envelope)["payload"].get("reason", "")
        else:
            entry[kind] += 1
    return out


def _row(task: Task, node: Node | None, agg: dict[str, Any], deadline: datetime) -> dict:
    result = task.result
    scope = json.loads(result.result).get("scope") if result is not None else None
    declined = agg.get("declined")
    if declined is None and scope is not None and scope != HEADLINE:
        declined = "sent its whole protected cube instead of taking part in secure aggregation"
    return {
        "node_id": task.node_id,
        "organisation": node.organisation.name if node is not None else "",
        "sent_at": task.issued_at,
        "fetched_at": task.delivered_at,
        "last_poll_at": node.last_seen_at if node is not None else None,
        "uploaded_at": result.received_at if result is not None else None,
        "scope": scope,
        "keys_sent": agg.get("key", 0),
        "shares_sent": agg.get("share", 0),
        "declined": declined,
        "deadline": deadline,
        "late": result is None and deadline <= utcnow(),
    }


def node_progress(session: Session, round_id: int) -> list[dict[str, Any]]:
    """Return one row per target node of a round, in node order."""
    round_ = session.get(Round, round_id)
    if round_ is None:
        return []
    aggregation = _aggregation(session, round_id)
    return [
        _row(task, session.get(Node, task.node_id), aggregation.get(task.node_id, {}),
             round_.deadline)
        for task in round_.tasks
    ]  # fmt: skip
