"""API of rounds: node polls and result uploads (signed), and round status for people."""

from __future__ import annotations

from flask import Blueprint

from ..accounts.services import CAN_READ
from ..aggregation.services import poll_requests
from ..api.http import (
    app_settings,
    caller,
    coordinator_key,
    json_body,
    set_actor,
    signed_upload,
    upload_answer,
)
from ..db import get_session
from . import messages, services

bp = Blueprint("rounds", __name__)


@bp.post("/nodes/<node_id>/poll")
def poll(node_id: str) -> dict:
    """Answer a node's signed poll with its open tasks and secure-aggregation requests."""
    set_actor(f"node:{node_id[:64]}")
    body = json_body()
    session = get_session()
    tasks = messages.poll(session, node_id, body, skew=app_settings().poll_clock_skew)
    requests = poll_requests(session, node_id, coordinator_key())
    session.commit()
    return {"tasks": tasks, "aggregation": requests}


@bp.post("/results")
def upload() -> tuple[dict, int]:
    """Store a node's signed result: 201 when stored, 200 when it repeats a stored one."""
    session = get_session()
    result, duplicate = messages.store_result(session, signed_upload())
    session.commit()
    return upload_answer({"task_id": result.task_id, "round_id": result.round_id}, duplicate)


@bp.get("/rounds")
def list_rounds() -> dict:
    """List every round with its status, newest first."""
    user = caller(CAN_READ, "read rounds")
    return {"rounds": services.list_rounds(get_session(), user)}


@bp.get("/rounds/<int:round_id>")
def show_round(round_id: int) -> dict:
    """Return one round: targets, answered, pending, deadline."""
    user = caller(CAN_READ, "read rounds")
    return services.visible_round(get_session(), round_id, user)
