"""API of accounts: trade a password for a token, and say who a token belongs to."""

from __future__ import annotations

from flask import Blueprint, request

from ..api.http import caller, json_body, set_actor
from ..db import get_session
from . import services

bp = Blueprint("accounts", __name__)


@bp.post("/tokens")
def create_token() -> tuple[dict, int]:
    """Issue a new API token for a user name and password."""
    body = json_body()
    set_actor(f"user:{str(body.get('name'))[:100]}")
    session = get_session()
    user, token = services.login(
        session, body.get("name"), body.get("password"), request.remote_addr or "unknown"
    )
    session.commit()
    return {"token": token, "name": user.name, "role": user.role}, 201


@bp.get("/me")
def me() -> dict:
    """Return the name and role of the token's user."""
    user = caller()
    get_session().commit()  # keeps the token's last-used time
    return {"name": user.name, "role": user.role}
