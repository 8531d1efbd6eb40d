"""JSON Schemas (2020-12) of every message, as OpenAPI components (``#/components/schemas``)."""

from __future__ import annotations

from typing import Any

from ..spec import K_FLOOR
from ._aggregation import MAX_DECLINE_REASON
from ._result import SCOPES
from ._task import TASK_FIELDS
from ._types import (
    AGG_DECLINE,
    AGG_KEY,
    AGG_REQUEST,
    AGG_SHARE,
    KEY_ID_PATTERN,
    NODE_ID_PATTERN,
    NONCE_PATTERN,
    POLL,
    RESULT,
    SOFTWARE_PATTERN,
    SPEC_HASH_PATTERN,
    TASK,
)

__all__ = ["MESSAGE_SCHEMAS", "schema_ref"]


def schema_ref(name: str) -> dict[str, str]:
    """Return a reference to a component schema."""
    return {"$ref": f"#/components/schemas/{name}"}


def _object(required: list[str], properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": properties, **extra}


def _envelope(payload: str, description: str) -> dict[str, Any]:
    return _object(
        ["payload", "signer", "key_id", "signature"],
        {
            "payload": schema_ref(payload),
            "signer": {"type": "string", "description": "'coordinator' or the node id."},
            "key_id": schema_ref("KeyId"),
            "signature": {"type": "string", "description": "Ed25519 over canonical JSON."},
        },
        additionalProperties=False,
        description=description,
    )


_GROUP = {
    "type": "array",
    "prefixItems": [{"type": "string"}, {"type": "string"}],
    "minItems": 2,
    "maxItems": 2,
    "description": "[level, area], e.g. ['zorgkantoor', 'ZK05'].",
}
_X25519 = {"type": "string", "description": "Raw 32-byte X25519 public key, base64."}
_ATTEMPT = {
    "round_id": {"type": "integer", "minimum": 1},
    "node_id": schema_ref("NodeId"),
    "group": _GROUP,
    "attempt": {"type": "integer", "minimum": 1},
}
_MIN_CELL = {"type": "integer", "minimum": K_FLOOR}

_PARTS: dict[str, Any] = {
    "NodeId": {"type": "string", "pattern": NODE_ID_PATTERN},
    "SpecHash": {"type": "string", "pattern": SPEC_HASH_PATTERN},
    "KeyId": {"type": "string", "pattern": KEY_ID_PATTERN},
    "Time": {"type": "string", "format": "date-time", "examples": ["2026-11-23T10:00:00Z"]},
    "MinCell": _MIN_CELL,
}

_EXCHANGE: dict[str, Any] = {
    "PollPayload": _object(
        ["type", "node_id", "sent_at", "nonce"],
        {
            "type": {"const": POLL},
            "node_id": schema_ref("NodeId"),
            "sent_at": schema_ref("Time"),
            "nonce": {"type": "string", "pattern": NONCE_PATTERN},
            "software": {
                "type": "string",
                "pattern": SOFTWARE_PATTERN,
                "description": "What the node runs, e.g. lhs 0.1.0 (optional).",
            },
        },
    ),
    "PollEnvelope": _envelope("PollPayload", "A poll signed by the node it names."),
    "TaskPayload": _object(
        list(TASK_FIELDS),
        {
            "type": {"const": TASK},
            "task_id": {"type": "string", "format": "uuid"},
            "round_id": {"type": "integer", "minimum": 1},
            "node_id": schema_ref("NodeId"),
            "spec_id": {"type": "string"},
            "spec_version": {"type": "integer"},
            "spec_hash": schema_ref("SpecHash"),
            "spec": {"type": "string", "description": "The spec's YAML text as submitted."},
            "min_cell": schema_ref("MinCell"),
            "nodes": {"type": "array", "items": schema_ref("NodeId")},
            "issued_at": schema_ref("Time"),
            "deadline": schema_ref("Time"),
        },
    ),
    "TaskEnvelope": _envelope("TaskPayload", "A task signed by the coordinator."),
    "Cube": _object(
        ["query", "version", "spec_hash", "min_cell", "scope", "cells"],
        {
            "query": {"type": "string"},
            "version": {"type": "integer"},
            "spec_hash": schema_ref("SpecHash"),
            "min_cell": schema_ref("MinCell"),
            "scope": {
                "enum": list(SCOPES),
                "description": "headline: the overall values only (a node in secure"
                " aggregation); cube: every finest cell and margin.",
            },
            "years": {
                "type": ["array", "null"],
                "items": {"type": "integer"},
                "minItems": 2,
                "maxItems": 2,
                "description": "Headline only: the first and last year the node counted"
                " units in (null: none, or no year dimension).",
            },
            "cells": {
                "type": "array",
                "description": "Headline: the one overall cell; cube: every finest cell and"
                " margin.  Dimension values (null = all) and measures (null = suppressed).",
                "items": {
                    "type": "object",
                    "additionalProperties": {"type": ["integer", "string", "null"]},
                },
            },
        },
        additionalProperties=False,
    ),
    "ResultPayload": _object(
        ["type", "task_id", "round_id", "node_id", "spec_hash", "created_at", "result"],
        {
            "type": {"const": RESULT},
            "task_id": {"type": "string"},
            "round_id": {"type": "integer", "minimum": 1},
            "node_id": schema_ref("NodeId"),
            "spec_hash": schema_ref("SpecHash"),
            "created_at": schema_ref("Time"),
            "result": schema_ref("Cube"),
        },
    ),
    "ResultEnvelope": _envelope("ResultPayload", "A result signed by the node that ran it."),
}

_AGGREGATION: dict[str, Any] = {
    "AggRequestPayload": _object(
        ["type", "phase", *_ATTEMPT, "members", "layout", "layout_hash"],
        {
            "type": {"const": AGG_REQUEST},
            "phase": {"enum": ["key", "share"]},
            **_ATTEMPT,
            "members": {"type": "array", "items": schema_ref("NodeId"), "minItems": 3},
            "layout": {
                "type": "object",
                "required": ["dimensions", "measures", "cells"],
                "properties": {
                    "signed": {
                        "type": "array",
                        "items": {"type": "string"},
                        "description": "Measures that may be negative (sums of changes), each"
                        " value sent plus 2**52.",
                    }
                },
                "description": (
                    "The cells summed: the overall value and every one-way breakdown"
                    " (null = every value), the cells factsheets show; measures per cell."
                ),
            },
            "layout_hash": schema_ref("SpecHash"),
            "keys": {
                "type": "object",
                "description": "Phase share: every member's X25519 public key.",
                "additionalProperties": _X25519,
            },
        },
    ),
    "AggRequestEnvelope": _envelope("AggRequestPayload", "A request signed by the coordinator."),
    "AggMessagePayload": _object(
        ["type", *_ATTEMPT],
        {
            "type": {"enum": [AGG_KEY, AGG_SHARE, AGG_DECLINE]},
            **_ATTEMPT,
            "public_key": _X25519,
            "members": {"type": "array", "items": schema_ref("NodeId")},
            "layout_hash": schema_ref("SpecHash"),
            "masked": {
                "type": "array",
                "items": {"type": "integer", "minimum": 0, "maximum": 2**64 - 1},
            },
            "reason": {
                "type": "string",
                "maxLength": MAX_DECLINE_REASON,
                "description": "Decline: why the node takes no part (its policy).",
            },
        },
    ),
    "AggMessageEnvelope": _envelope(
        "AggMessagePayload", "A key, share or decline signed by its node."
    ),
}

MESSAGE_SCHEMAS: dict[str, Any] = {**_PARTS, **_EXCHANGE, **_AGGREGATION}
"""Every message's schema and the parts they share, by component name."""
