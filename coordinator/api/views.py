"""API of the coordinator itself: its public key and the OpenAPI document."""

from __future__ import annotations

from flask import Blueprint

from protocol import key_id, public_key_text

from .http import coordinator_key
from .openapi import openapi_document

bp = Blueprint("api", __name__)


@bp.get("/coordinator-key")
def public_key() -> dict:
    """Return the coordinator's public key and its fingerprint, for nodes to pin."""
    key = coordinator_key()
    return {"public_key": public_key_text(key), "key_id": key_id(key)}


@bp.get("/openapi.json")
def openapi() -> dict:
    """Return the OpenAPI 3.1 document of this API."""
    return openapi_document()
