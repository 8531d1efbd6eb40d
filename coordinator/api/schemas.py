"""The OpenAPI components: JSON Schemas (2020-12) of every body the API takes or gives."""

from __future__ import annotations

from typing import Any

from protocol import MAX_MIN_CELL, MESSAGE_SCHEMAS, schema_ref

__all__ = ["SCHEMAS"]

_MAYBE_TIME = {"type": ["string", "null"], "format": "date-time"}
_KEY = {"type": "string", "description": "Raw 32-byte Ed25519 public key, base64."}
_NODE_ID = schema_ref("NodeId")
_HASH = schema_ref("SpecHash")
_TIME = schema_ref("Time")
_KEY_ID = schema_ref("KeyId")
_GROUP = MESSAGE_SCHEMAS["AggMessagePayload"]["properties"]["group"]


def _object(required: list[str], properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": properties, **extra}


SCHEMAS: dict[str, Any] = {
    "Error": _object(
        ["status", "code", "message"],
        {
            "status": {"type": "integer", "minimum": 400, "maximum": 599},
            "code": {"type": "string", "examples": ["bad_signature", "stale_poll"]},
            "message": {"type": "string", "description": "One line naming the problem."},
        },
        additionalProperties=False,
    ),
    "TokenRequest": _object(
        ["name", "password"], {"name": {"type": "string"}, "password": {"type": "string"}}
    ),
    "Token": _object(
        ["token", "name", "role"],
        {"token": {"type": "string"}, "name": {"type": "string"}, "role": schema_ref("Role")},
    ),
    "Role": {"type": "string", "enum": ["researcher", "coordinator", "admin"]},
    "Me": _object(["name", "role"], {"name": {"type": "string"}, "role": schema_ref("Role")}),
    "CoordinatorKey": _object(["public_key", "key_id"], {"public_key": _KEY, "key_id": _KEY_ID}),
    "EnrolRequest": _object(
        ["node_id", "public_key", "enrolment_code"],
        {"node_id": _NODE_ID, "public_key": _KEY, "enrolment_code": {"type": "string"}},
    ),
    "Enrolled": _object(
        ["node_id", "key_id", "enrolled_at", "coordinator_key"],
        {
            "node_id": _NODE_ID,
            "key_id": _KEY_ID,
            "enrolled_at": _TIME,
            "coordinator_key": schema_ref("CoordinatorKey"),
        },
    ),
    "Node": _object(
        ["node_id", "organisation", "regions", "key_id", "enrolled_at", "last_seen_at"],
        {
            "node_id": _NODE_ID,
            "organisation": {"type": "string"},
            "regions": {
                "type": "object",
                "description": "Region code per kind: network, zorgkantoor, province.",
                "additionalProperties": {"type": "string"},
            },
            "key_id": {"type": ["string", "null"]},
            "enrolled_at": _MAYBE_TIME,
            "last_seen_at": _MAYBE_TIME,
            "software": {
                "type": ["string", "null"],
                "description": "What the node runs, as its last poll named it.",
            },
        },
    ),
    "Tasks": _object(
        ["tasks"],
        {
            "tasks": {"type": "array", "items": schema_ref("TaskEnvelope")},
            "aggregation": {"type": "array", "items": schema_ref("AggRequestEnvelope")},
        },
    ),
    "ResultStored": _object(
        ["task_id", "round_id"],
        {
            "stored": {"const": True},
            "duplicate": {"const": True},
            "task_id": {"type": "string"},
            "round_id": {"type": "integer"},
        },
    ),
    "SubmitRequest": _object(["yaml"], {"yaml": {"type": "string"}}),
    "Spec": _object(
        ["spec_hash", "id", "version", "title", "status", "submitted_by", "submitted_at"],
        {
            "spec_hash": _HASH,
            "id": {"type": "string"},
            "version": {"type": "integer"},
            "title": {"type": "string"},
            "status": {"type": "string", "enum": ["submitted", "approved", "rejected"]},
            "submitted_by": {"type": "string"},
            "submitted_at": _TIME,
        },
    ),
    "Decision": _object(
        ["decision", "reason", "by", "at", "round_id"],
        {
            "decision": {"type": "string", "enum": ["approved", "rejected"]},
            "reason": {"type": "string"},
            "by": {"type": "string"},
            "at": _TIME,
            "round_id": {"type": ["integer", "null"]},
        },
    ),
    "SpecDetail": {
        "allOf": [
            schema_ref("Spec"),
            _object(
                ["yaml", "explanation", "neighbours", "decisions"],
                {
                    "yaml": {"type": "string"},
                    "explanation": {"type": "string", "description": "What a reviewer reads."},
                    "neighbours": {
                        "type": "array",
                        "description": "Approved specs one restriction apart, and that"
                        " restriction in words: the difference of the two counts tells a few"
                        " units apart.",
                        "items": _object(
                            ["spec_hash", "id", "version", "difference"],
                            {
                                "spec_hash": {"type": "string"},
                                "id": {"type": "string"},
                                "version": {"type": "integer"},
                                "difference": {"type": "string"},
                            },
                        ),
                    },
                    "decisions": {"type": "array", "items": schema_ref("Decision")},
                },
            ),
        ]
    },
    "Specs": _object(["specs"], {"specs": {"type": "array", "items": schema_ref("Spec")}}),
    "ApproveRequest": _object(
        ["reason"],
        {
            "reason": {"type": "string", "minLength": 1},
            "min_cell": {**schema_ref("MinCell"), "maximum": MAX_MIN_CELL},
            "deadline_days": {"type": "integer", "minimum": 1, "maximum": 366},
            "nodes": {"type": "array", "items": _NODE_ID, "minItems": 1},
        },
    ),
    "Approved": _object(
        ["round_id", "spec_hash", "status", "min_cell", "deadline", "nodes"],
        {
            "round_id": {"type": "integer"},
            "spec_hash": _HASH,
            "status": {"const": "approved"},
            "min_cell": {"type": "integer"},
            "deadline": _TIME,
            "nodes": {"type": "array", "items": _NODE_ID},
        },
    ),
    "ApprovalRecorded": _object(
        ["spec_hash", "status", "approvals", "needed"],
        {
            "spec_hash": _HASH,
            "status": {"enum": ["submitted", "approved"]},
            "approvals": {"type": "integer", "minimum": 1},
            "needed": {"type": "integer", "minimum": 2},
        },
    ),
    "RejectRequest": _object(["reason"], {"reason": {"type": "string", "minLength": 1}}),
    "Rejected": _object(
        ["spec_hash", "status", "reason"],
        {"spec_hash": _HASH, "status": {"const": "rejected"}, "reason": {"type": "string"}},
    ),
    "RoundNode": _object(
        ["node_id", "task_id", "state", "delivered_at", "answered_at"],
        {
            "node_id": _NODE_ID,
            "task_id": {"type": "string"},
            "state": {"type": "string", "enum": ["pending", "delivered", "answered"]},
            "delivered_at": _MAYBE_TIME,
            "answered_at": _MAYBE_TIME,
        },
    ),
    "Round": _object(
        [
            "round_id",
            "spec_hash",
            "query",
            "version",
            "title",
            "min_cell",
            "issued_at",
            "deadline",
            "status",
            "targets",
            "answered",
            "pending",
            "nodes",
        ],
        {
            "round_id": {"type": "integer"},
            "spec_hash": _HASH,
            "query": {"type": "string"},
            "version": {"type": "integer"},
            "title": {"type": "string"},
            "min_cell": {"type": "integer"},
            "issued_at": _TIME,
            "deadline": _TIME,
            "status": {"type": "string", "enum": ["open", "complete", "expired"]},
            "targets": {"type": "array", "items": _NODE_ID},
            "answered": {"type": "array", "items": _NODE_ID},
            "pending": {"type": "array", "items": _NODE_ID},
            "nodes": {"type": "array", "items": schema_ref("RoundNode")},
        },
    ),
    "AggStored": _object(
        ["round_id", "group", "attempt", "kind"],
        {
            "stored": {"const": True},
            "duplicate": {"const": True},
            "round_id": {"type": "integer"},
            "group": _GROUP,
            "attempt": {"type": "integer"},
            "kind": {"enum": ["key", "share", "decline"]},
        },
    ),
    "AuditEvent": _object(
        ["id", "at", "actor", "action", "subject", "detail"],
        {
            "id": {"type": "integer"},
            "at": _TIME,
            "actor": {"type": "string", "examples": ["user:alice", "node:ziekenhuis-a"]},
            "action": {"type": "string", "examples": ["spec.approve", "request.refuse"]},
            "subject": {"type": "string"},
            "detail": {"type": "object"},
        },
    ),
}
SCHEMAS.update(MESSAGE_SCHEMAS)
