"""API of query review: submit, read, approve and reject specs."""

from __future__ import annotations

from flask import Blueprint, request

from protocol import write_time

from ..accounts.services import CAN_READ
from ..api.http import app_settings, caller, coordinator_key, json_body
from ..db import get_session
from . import services

bp = Blueprint("review", __name__)


@bp.post("/specs")
def submit() -> tuple[dict, int]:
    """Validate and store a spec; 201 when new, 200 when the same content was submitted before."""
    user = caller()
    body = json_body()
    session = get_session()
    spec, created = services.submit(session, user, body.get("yaml"))
    session.commit()
    return services.spec_view(spec), 201 if created else 200


@bp.get("/specs")
def list_specs() -> dict:
    """List specs, newest first (``?status=submitted|approved|rejected``)."""
    user = caller(CAN_READ, "read specs")
    specs = services.list_specs(get_session(), user, request.args.get("status"))
    return {"specs": [services.spec_view(s) for s in specs]}


@bp.get("/specs/<spec_hash>")
def show_spec(spec_hash: str) -> dict:
    """Return a spec with its YAML, plain-language explanation and decisions."""
    user = caller(CAN_READ, "read specs")
    return services.spec_view(services.visible_spec(get_session(), spec_hash, user), full=True)


@bp.post("/specs/<spec_hash>/approve")
def approve(spec_hash: str) -> tuple[dict, int]:
    """Approve a spec with a reason and open a round; answer with the round id."""
    user = caller()
    body = json_body()
    session = get_session()
    round_ = services.approve(
        session,
        user,
        spec_hash,
        body.get("reason"),
        settings=app_settings(),
        key=coordinator_key(),
        min_cell=body.get("min_cell"),
        deadline_days=body.get("deadline_days"),
        nodes=body.get("nodes"),
    )
    session.commit()
    if round_ is None:
        spec = services.find_spec(session, spec_hash)
        return {
            "spec_hash": spec.spec_hash,
            "status": spec.status,
            "approvals": len(services.pending_approvals(spec)),
            "needed": app_settings().approvals,
        }, 202
    return {
        "round_id": round_.id,
        "spec_hash": round_.spec.spec_hash,
        "status": round_.spec.status,
        "min_cell": round_.min_cell,
        "deadline": write_time(round_.deadline),
        "nodes": [t.node_id for t in round_.tasks],
    }, 201


@bp.post("/specs/<spec_hash>/reject")
def reject(spec_hash: str) -> dict:
    """Reject a submitted spec with a reason."""
    user = caller()
    body = json_body()
    session = get_session()
    decision = services.reject(session, user, spec_hash, body.get("reason"))
    session.commit()
    return {"spec_hash": decision.spec.spec_hash, "status": "rejected", "reason": decision.reason}
