"""The cycles' part of the OpenAPI document: their paths and the schemas of their bodies.

``coordinator.api.openapi`` merges these into the one document served at
``/api/v1/openapi.json``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["PATHS", "SCHEMAS"]

_DATE = {"type": "string", "format": "date"}
_TOKEN = [{"bearer": []}]


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _op(
    summary: str, status: str, answer: str, *, body: str | None = None, errors: tuple[str, ...] = ()
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "operationId": summary.lower().replace(" ", "_").replace("'", ""),
        "tags": ["cycles"],
        "security": _TOKEN,
        "responses": {
            status: {
                "description": summary,
                "content": {"application/json": {"schema": _ref(answer)}},
            }
        },
    }
    if body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(body)}},
        }
    for code in sorted({*errors, "401", "403", *(("400", "413") if body else ())}):
        op["responses"][code] = {"$ref": f"#/components/responses/E{code}"}
    return op


PATHS: dict[str, Any] = {
    "/cycles": {
        "post": _op("Define a cycle", "201", "Cycle", body="CycleRequest", errors=("409",)),
        "get": _op("List cycles", "200", "Cycles"),
    },
    "/cycles/{cycle_id}": {
        "get": {
            **_op("Read a cycle", "200", "Cycle", errors=("404",)),
            "parameters": [
                {
                    "name": "cycle_id",
                    "in": "path",
                    "required": True,
                    "description": "The cycle.",
                    "schema": {"type": "integer"},
                }
            ],
        },
    },
    "/cycles/open-due": {
        "post": _op("Open every due period's rounds now", "200", "OpenedRounds"),
    },
    "/actions": {
        "post": _op("Record an improvement action", "201", "Action", body="ActionRequest"),
        "get": _op("List improvement actions", "200", "Actions"),
    },
}

_CYCLE_ROUND = {
    "type": "object",
    "required": ["period_start", "period_end", "query", "round_id"],
    "properties": {
        "period_start": _DATE,
        "period_end": _DATE,
        "query": {"type": "string"},
        "round_id": {"type": "integer"},
    },
}
_ACTION = {
    "node": {"type": ["string", "null"], "description": "A provider's node; or level and area."},
    "level": {
        "type": ["string", "null"],
        "enum": ["national", "network", "zorgkantoor", "province", None],
    },
    "area": {"type": ["string", "null"]},
    "query": {"type": ["string", "null"], "description": "The indicator it aims at, or all."},
    "date": _DATE,
    "text": {"type": "string", "maxLength": 2000},
}

SCHEMAS: dict[str, Any] = {
    "CycleRequest": {
        "type": "object",
        "required": ["name", "queries", "cadence_months", "period_months", "first_period"],
        "properties": {
            "name": {"type": "string", "maxLength": 200},
            "queries": {"type": "array", "items": {"type": "string"}, "minItems": 1},
            "cadence_months": {"type": "integer", "minimum": 1, "maximum": 60},
            "period_months": {"type": "integer", "minimum": 1, "maximum": 60},
            "first_period": {**_DATE, "description": "The first day of a month."},
        },
    },
    "Cycle": {
        "type": "object",
        "required": [
            "id",
            "name",
            "queries",
            "cadence_months",
            "period_months",
            "first_period",
            "rounds",
        ],
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "queries": {"type": "array", "items": {"type": "string"}},
            "cadence_months": {"type": "integer"},
            "period_months": {"type": "integer"},
            "first_period": _DATE,
            "rounds": {"type": "array", "items": _CYCLE_ROUND},
        },
    },
    "Cycles": {
        "type": "object",
        "required": ["cycles"],
        "properties": {"cycles": {"type": "array", "items": _ref("Cycle")}},
    },
    "OpenedRounds": {
        "type": "object",
        "required": ["opened"],
        "properties": {
            "opened": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["cycle", "period_start", "query", "round_id"],
                    "properties": {
                        "cycle": {"type": "string"},
                        "period_start": _DATE,
                        "query": {"type": "string"},
                        "round_id": {"type": "integer"},
                    },
                },
            }
        },
    },
    "ActionRequest": {"type": "object", "required": ["date", "text"], "properties": _ACTION},
    "Action": {
        "type": "object",
        "required": ["id", "date", "text"],
        "properties": {"id": {"type": "integer"}, **_ACTION},
    },
    "Actions": {
        "type": "object",
        "required": ["actions"],
        "properties": {"actions": {"type": "array", "items": _ref("Action")}},
    },
}
