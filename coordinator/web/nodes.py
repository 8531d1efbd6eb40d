"""Nodes: each provider's node, its enrolment, its key and when it last polled."""

from __future__ import annotations

import sqlalchemy as sa
from flask import render_template

from protocol import utcnow

from ..accounts.services import CAN_DECIDE
from ..db import get_session
from ..registry.models import Node
from ..rounds.models import Result, Round, Task
from .base import bp, login_required

__all__ = ["nodes_page"]


@bp.get("/nodes")
@login_required(CAN_DECIDE, "list nodes")
def nodes_page() -> str:
    """List every node with its organisation, regions, enrolment, last poll and open tasks."""
    db = get_session()
    nodes = db.scalars(sa.select(Node).order_by(Node.id)).all()
    open_tasks = dict(
        db.execute(
            sa.select(Task.node_id, sa.func.count())
            .join(Round, Task.round_id == Round.id)
            .outerjoin(Result, Result.task_id == Task.id)
            .where(Result.id.is_(None), Round.deadline > utcnow())
            .group_by(Task.node_id)
        ).all()
    )
    return render_template("nodes.html", nodes=nodes, open_tasks=open_tasks)
