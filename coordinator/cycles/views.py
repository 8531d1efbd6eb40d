"""API of cycles and improvement actions: define, list, open due rounds now."""

from __future__ import annotations

from flask import Blueprint, current_app

from protocol import write_time

from ..accounts.services import CAN_DECIDE, CAN_READ
from ..api.http import app_settings, caller, coordinator_key, json_body
from ..db import get_session
from . import services

bp = Blueprint("cycles", __name__)


@bp.post("/cycles")
def create() -> tuple[dict, int]:
    """Define a cycle: name, queries, cadence_months, period_months, first_period."""
    user = caller()
    body = json_body()
    session = get_session()
    cycle = services.create_cycle(
        session,
        user,
        body.get("name"),
        body.get("queries"),
        cadence_months=body.get("cadence_months"),
        period_months=body.get("period_months"),
        first_period=body.get("first_period"),
    )
    session.commit()
    return services.cycle_view(cycle), 201


@bp.get("/cycles")
def list_all() -> dict:
    """List every cycle with the rounds its periods opened."""
    caller(CAN_READ, "read cycles")
    return {"cycles": [services.cycle_view(c) for c in services.list_cycles(get_session())]}


@bp.get("/cycles/<int:cycle_id>")
def show(cycle_id: int) -> dict:
    """Return one cycle."""
    caller(CAN_READ, "read cycles")
    return services.cycle_view(services.get_cycle(get_session(), cycle_id))


@bp.post("/cycles/open-due")
def open_due() -> dict:
    """Open every due period's rounds now (what the scheduler does on its own)."""
    caller(CAN_DECIDE, "open rounds")
    get_session().close()  # each period is opened in a session of its own
    opened = services.open_due_rounds(
        current_app.extensions["lhs_sessions"], coordinator_key(), app_settings()
    )
    return {
        "opened": [
            {
                "cycle": o.cycle,
                "period_start": o.period_start.isoformat(),
                "query": o.query_id,
                "round_id": o.round_id,
            }
            for o in opened
        ]
    }


@bp.post("/actions")
def add_action() -> tuple[dict, int]:
    """Record an improvement action: node or level+area, date, text, optional query."""
    user = caller()
    session = get_session()
    action = services.record_action(session, user, json_body())
    session.commit()
    return services.action_view(action), 201


@bp.get("/actions")
def actions() -> dict:
    """List every improvement action by date."""
    caller(CAN_READ, "read improvement actions")
    rows = services.list_actions(get_session())
    return {
        "actions": [
            services.action_view(a) | {"recorded_at": write_time(a.created_at)} for a in rows
        ]
    }
