"""The OpenAPI schemas of secure aggregation: requests in poll answers, keys, shares."""

from __future__ import annotations

from typing import Any

__all__ = ["AGG_SCHEMAS"]

_NODE_ID = {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,62}$"}
_HASH = {"type": "string", "pattern": "^sha256:[0-9a-f]{64}$"}
_GROUP = {
    "type": "array",
    "prefixItems": [{"type": "string"}, {"type": "string"}],
    "minItems": 2,
    "maxItems": 2,
    "description": "[level, area], e.g. ['zorgkantoor', 'ZK05'].",
}
_X25519 = {"type": "string", "description": "Raw 32-byte X25519 public key, base64."}
_COMMON = {
    "round_id": {"type": "integer"},
    "node_id": _NODE_ID,
    "group": _GROUP,
    "attempt": {"type": "integer", "minimum": 1},
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _envelope(payload: str, description: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["payload", "signer", "key_id", "signature"],
        "properties": {
            "payload": _ref(payload),
            "signer": {"type": "string"},
            "key_id": {"type": "string", "pattern": "^ed25519:[0-9a-f]{16}$"},
            "signature": {"type": "string"},
        },
        "additionalProperties": False,
        "description": description,
    }


AGG_SCHEMAS: dict[str, Any] = {
    "AggRequestPayload": {
        "type": "object",
        "required": ["type", "phase", *_COMMON, "members", "layout", "layout_hash"],
        "properties": {
            "type": {"const": "lhs.aggrequest/1"},
            "phase": {"enum": ["key", "share"]},
            **_COMMON,
            "members": {"type": "array", "items": _NODE_ID, "minItems": 3},
            "layout": {
                "type": "object",
                "required": ["dimensions", "measures", "cells"],
                "description": (
                    "The cells summed (finest or margins, null = every value), chosen so that"
                    " no total determines a node's suppressed value; measures per cell."
                ),
            },
            "layout_hash": _HASH,
            "keys": {
                "type": "object",
                "description": "Phase share: every member's X25519 public key.",
                "additionalProperties": _X25519,
            },
        },
    },
    "AggRequestEnvelope": _envelope("AggRequestPayload", "A request signed by the coordinator."),
    "AggMessagePayload": {
        "type": "object",
        "required": ["type", *_COMMON],
        "properties": {
            "type": {"enum": ["lhs.aggkey/1", "lhs.aggshare/1", "lhs.aggdecline/1"]},
            **_COMMON,
            "public_key": _X25519,
            "members": {"type": "array", "items": _NODE_ID},
            "layout_hash": _HASH,
            "masked": {
                "type": "array",
                "items": {"type": "integer", "minimum": 0, "maximum": 2**64 - 1},
            },
            "reason": {
                "type": "string",
                "maxLength": 200,
                "description": "Decline: why the node takes no part (its policy).",
            },
        },
    },
    "AggMessageEnvelope": _envelope(
        "AggMessagePayload", "A key, share or decline signed by its node."
    ),
    "AggStored": {
        "type": "object",
        "required": ["round_id", "group", "attempt", "kind"],
        "properties": {
            "stored": {"const": True},
            "duplicate": {"const": True},
            "round_id": {"type": "integer"},
            "group": _GROUP,
            "attempt": {"type": "integer"},
            "kind": {"enum": ["key", "share", "decline"]},
        },
    },
}
