"""API of the audit log: read-only, for coordinators and admins."""

from __future__ import annotations

from flask import Blueprint, request

from ..accounts.services import CAN_DECIDE
from ..api.http import caller
from ..db import get_session
from ..errors import BadRequest
from . import services

bp = Blueprint("audit", __name__)


@bp.get("/audit")
def list_events() -> dict:
    """List audit events, newest first (``?subject=``, ``?actor=``, ``?limit=`` up to 1000)."""
    caller(CAN_DECIDE, "read the audit log")
    try:
        limit = int(request.args.get("limit", "100"))
    except ValueError:
        raise BadRequest("bad_limit", "limit must be a whole number") from None
    events = services.list_events(
        get_session(),
        subject=request.args.get("subject"),
        actor=request.args.get("actor"),
        limit=limit,
    )
    return {"events": [services.event_view(e) for e in events]}
