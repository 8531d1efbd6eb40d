"""API of the registry: node enrolment, and the list of nodes for coordinators."""

from __future__ import annotations

from flask import Blueprint, request

from protocol import key_id, public_key_text, write_time

from ..accounts.services import CAN_DECIDE
from ..api.http import caller, coordinator_key, json_body, set_actor
from ..db import get_session
from . import services
from .models import Node

bp = Blueprint("registry", __name__)


@bp.post("/nodes/enrol")
def enrol() -> tuple[dict, int]:
    """Register a node's public key with its one-time code; answer with the coordinator's key."""
    body = json_body()
    set_actor(f"node:{str(body.get('node_id'))[:64]}")
    key = coordinator_key()  # before the code is spent: the node must be able to pin it
    session = get_session()
    node = services.enrol(
        session,
        body.get("node_id"),
        body.get("public_key"),
        body.get("enrolment_code"),
        request.remote_addr or "unknown",
    )
    session.commit()
    return {
        "node_id": node.id,
        "key_id": node.key_id,
        "enrolled_at": write_time(node.enrolled_at),
        "coordinator_key": {"public_key": public_key_text(key), "key_id": key_id(key)},
    }, 201


@bp.get("/nodes")
def list_nodes() -> dict:
    """List every node with its organisation, regions and enrolment state."""
    caller(CAN_DECIDE, "list nodes")
    session = get_session()
    nodes = session.query(Node).order_by(Node.id).all()
    return {"nodes": [services.node_view(n) for n in nodes]}
