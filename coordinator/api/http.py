"""Request helpers the views share: the JSON body, the caller, the settings and the key."""

from __future__ import annotations

import json
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import current_app, g, request

from ..accounts.models import User
from ..accounts.services import authenticate, require_role
from ..config import Settings
from ..db import get_session
from ..errors import BadRequest
from ..keys import load_coordinator_key

__all__ = [
    "app_settings",
    "caller",
    "coordinator_key",
    "json_body",
    "set_actor",
    "signed_upload",
    "upload_answer",
]


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def json_body() -> dict[str, Any]:
    """Return the request body as a JSON object, or raise BadRequest saying what is wrong."""
    raw = request.get_data(cache=True)  # raises 413 first when the body is too large
    if not raw.strip():
        raise BadRequest("malformed_json", "the request body is empty; send a JSON object")
    try:
        data = json.loads(raw, parse_constant=_no_constant)
    except RecursionError:
        raise BadRequest("malformed_json", "the JSON body is nested too deeply") from None
    except ValueError as exc:
        raise BadRequest("malformed_json", f"the body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BadRequest("malformed_json", "the body must be a JSON object")
    return data


def set_actor(actor: str) -> None:
    """Name who is acting in this request, for the audit record of a refusal."""
    g.lhs_actor = actor


def caller(allowed: frozenset[str] | None = None, doing: str = "do this") -> User:
    """Return the user of the request's API token; check the role when ``allowed`` is given."""
    user = authenticate(get_session(), request.headers.get("Authorization"))
    set_actor(user.actor)
    if allowed is not None:
        require_role(user, allowed, doing)
    return user


def app_settings() -> Settings:
    """Return the running app's settings."""
    return current_app.extensions["lhs_settings"]


def coordinator_key() -> Ed25519PrivateKey:
    """Return the coordinator's private key, read from its file once per app."""
    key = current_app.extensions.get("lhs_key")
    if key is None:
        key = load_coordinator_key(app_settings().coordinator_key_file)
        current_app.extensions["lhs_key"] = key
    return key


def signed_upload() -> dict[str, Any]:
    """Return a node's signed upload; the node it claims to be is the actor until checked."""
    body = json_body()
    set_actor(f"node:{str(body.get('signer'))[:64]}")
    return body


def upload_answer(answer: dict[str, Any], duplicate: bool) -> tuple[dict[str, Any], int]:
    """Answer an upload: 201 when it was stored, 200 when it repeats one stored before."""
    if duplicate:
        return {"duplicate": True, **answer}, 200
    return {"stored": True, **answer}, 201
