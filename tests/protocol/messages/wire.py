"""Check a payload against the JSON Schema the coordinator publishes for it."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator

from protocol import MESSAGE_SCHEMAS


def valid(payload: dict[str, Any], schema: str) -> None:
    """Assert the payload satisfies its published JSON Schema."""
    root = {"components": {"schemas": MESSAGE_SCHEMAS}, "$ref": f"#/components/schemas/{schema}"}
    errors = [e.message for e in Draft202012Validator(root).iter_errors(payload)]
    assert not errors, errors
