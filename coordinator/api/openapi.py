"""The OpenAPI 3.1 document of the coordinator's API, served at ``/api/v1/openapi.json``.

Written by hand as the contract with nodes and scripts (``docs/protocol.md`` in machine
form); a test checks that it names exactly the routes the app serves.
"""

from __future__ import annotations

import copy
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from ..cycles import openapi as cycles_openapi
from .schemas import SCHEMAS

__all__ = ["openapi_document"]

_ERRORS = {
    "400": "Malformed request or a rule broken (bad_signature, stale_poll, malformed_json, …).",
    "401": "No API token, or an unknown one.",
    "403": "Known caller, not allowed (role, unknown node, an enrolment code not valid).",
    "404": "No such spec, round or task.",
    "409": "Clashes with what is stored (different result for a task, spec already decided).",
    "413": "Body larger than the configured limit.",
    "429": "Too many failed attempts for this account, node or address; see Retry-After.",
}
_TOKEN = [{"bearer": []}]


def _json(schema: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}


def _op(
    summary: str,
    answers: dict[str, tuple[str, str]],
    *,
    errors: tuple[str, ...] = ("400",),
    body: str | None = None,
    token: bool = False,
    tag: str,
    parameters: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "tags": [tag]}
    op["operationId"] = summary.lower().rstrip(".").replace(" ", "_").replace("'", "")[:60]
    if parameters:
        op["parameters"] = parameters
    if body is not None:
        op["requestBody"] = {"required": True, "content": _json(body)}
    op["security"] = _TOKEN if token else []
    responses: dict[str, Any] = {
        status: {"description": text, "content": _json(schema)}
        for status, (text, schema) in answers.items()
    }
    codes = {*errors, *(("401", "403") if token else ()), *(("413",) if body else ())}
    for status in sorted(codes):
        responses[status] = {"$ref": f"#/components/responses/E{status}"}
    op["responses"] = responses
    return op


def _path(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": schema,
    }


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


_SPEC_REF = _path(
    "spec_hash", "Spec hash, or a unique prefix of 6+ hex digits.", {"type": "string"}
)

_PATHS: dict[str, Any] = {
    "/coordinator-key": {
        "get": _op(
            "Get the coordinator's public key",
            {"200": ("The key nodes pin.", "CoordinatorKey")},
            errors=(),
            tag="nodes",
        ),
    },
    "/nodes/enrol": {
        "post": _op(
            "Enrol a node",
            {"201": ("Key registered; the coordinator's key to pin.", "Enrolled")},
            errors=("400", "403", "429"),
            body="EnrolRequest",
            tag="nodes",
        ),
    },
    "/nodes/{node_id}/poll": {
        "post": _op(
            "Poll for tasks",
            {"200": ("Every open task of this node without a result.", "Tasks")},
            errors=("400", "403"),
            body="PollEnvelope",
            tag="nodes",
            parameters=[_path("node_id", "The polling node.", {"type": "string"})],
        ),
    },
    "/results": {
        "post": _op(
            "Upload a result",
            {
                "201": ("Stored.", "ResultStored"),
                "200": ("The same result was stored before (duplicate).", "ResultStored"),
            },
            errors=("400", "403", "404", "409"),
            body="ResultEnvelope",
            tag="nodes",
        ),
    },
    "/aggregation": {
        "post": _op(
            "Upload an aggregation key or share",
            {"201": ("Stored.", "AggStored"), "200": ("Stored before (duplicate).", "AggStored")},
            errors=("400", "403", "404", "409"),
            body="AggMessageEnvelope",
            tag="nodes",
        ),
    },
    "/nodes": {
        "get": _op(
            "List nodes", {"200": ("Every node.", "Nodes")}, errors=(), token=True, tag="nodes"
        ),
    },
    "/tokens": {
        "post": _op(
            "Get an API token",
            {"201": ("A new token, shown once.", "Token")},
            errors=("400", "401", "429"),
            body="TokenRequest",
            tag="accounts",
        ),
    },
    "/me": {
        "get": _op(
            "Who am I", {"200": ("The token's user.", "Me")}, errors=(), token=True, tag="accounts"
        ),
    },
    "/specs": {
        "post": _op(
            "Submit a spec",
            {
                "201": ("Validated and stored.", "Spec"),
                "200": ("The same content was submitted before.", "Spec"),
            },
            errors=("400", "409"),
            body="SubmitRequest",
            token=True,
            tag="review",
        ),
        "get": _op(
            "List specs",
            {"200": ("Newest first.", "Specs")},
            token=True,
            tag="review",
            parameters=[
                _query(
                    "status",
                    "Only specs with this status.",
                    {"type": "string", "enum": ["submitted", "approved", "rejected"]},
                )
            ],
        ),
    },
    "/specs/{spec_hash}": {
        "get": _op(
            "Read a spec",
            {"200": ("YAML, plain-language explanation and decisions.", "SpecDetail")},
            errors=("400", "404"),
            token=True,
            tag="review",
            parameters=[_SPEC_REF],
        ),
    },
    "/specs/{spec_hash}/approve": {
        "post": _op(
            "Approve a spec",
            {
                "201": ("Approved; a round of signed tasks is open.", "Approved"),
                "202": (
                    "Approval recorded; more coordinators must approve (LHS_APPROVALS).",
                    "ApprovalRecorded",
                ),
            },
            errors=("400", "404", "409"),
            body="ApproveRequest",
            token=True,
            tag="review",
            parameters=[_SPEC_REF],
        ),
    },
    "/specs/{spec_hash}/reject": {
        "post": _op(
            "Reject a spec",
            {"200": ("Rejected.", "Rejected")},
            errors=("400", "404", "409"),
            body="RejectRequest",
            token=True,
            tag="review",
            parameters=[_SPEC_REF],
        ),
    },
    "/rounds": {
        "get": _op(
            "List rounds", {"200": ("Newest first.", "Rounds")}, errors=(), token=True, tag="rounds"
        ),
    },
    "/rounds/{round_id}": {
        "get": _op(
            "Read a round",
            {"200": ("Targets, answered, pending, deadline.", "Round")},
            errors=("404",),
            token=True,
            tag="rounds",
            parameters=[_path("round_id", "The round.", {"type": "integer"})],
        ),
    },
    "/audit": {
        "get": _op(
            "Read the audit log",
            {"200": ("Newest first.", "AuditEvents")},
            token=True,
            tag="audit",
            parameters=[
                _query("subject", "Only events on this subject.", {"type": "string"}),
                _query("actor", "Only events by this actor.", {"type": "string"}),
                _query("limit", "At most this many.", {"type": "integer", "maximum": 1000}),
            ],
        ),
    },
    "/openapi.json": {
        "get": {
            "summary": "This document",
            "operationId": "openapi",
            "tags": ["api"],
            "security": [],
            "responses": {
                "200": {
                    "description": "The OpenAPI 3.1 document.",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                }
            },
        }
    },
}


def _lists() -> dict[str, Any]:
    def listing(field: str, item: str) -> dict[str, Any]:
        return {
            "type": "object",
            "required": [field],
            "properties": {
                field: {"type": "array", "items": {"$ref": f"#/components/schemas/{item}"}}
            },
        }

    return {
        "Nodes": listing("nodes", "Node"),
        "Rounds": listing("rounds", "Round"),
        "AuditEvents": listing("events", "AuditEvent"),
    }


def openapi_document() -> dict[str, Any]:
    """Return the OpenAPI 3.1 document (a fresh copy, safe to change)."""
    try:
        release = version("lhs")
    except PackageNotFoundError:  # running from a source tree that was not installed
        release = "0+unknown"
    return copy.deepcopy(
        {
            "openapi": "3.1.0",
            "info": {
                "title": "lhs coordinator API",
                "version": release,
                "description": "Nodes poll for signed tasks and upload signed results; people"
                " submit, approve and follow queries. Every error has the body"
                " {status, code, message}. See docs/protocol.md.",
                "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
            },
            "servers": [{"url": "/api/v1"}],
            "paths": {**_PATHS, **cycles_openapi.PATHS},
            "components": {
                "schemas": {**SCHEMAS, **_lists(), **cycles_openapi.SCHEMAS},
                "responses": {
                    f"E{status}": {"description": text, "content": _json("Error")}
                    for status, text in _ERRORS.items()
                },
                "securitySchemes": {
                    "bearer": {
                        "type": "http",
                        "scheme": "bearer",
                        "description": "An API token from 'lhs coordinator add-user' or"
                        " POST /tokens.",
                    }
                },
            },
        }
    )
