"""Check node results and memberships before anything is merged, with reasons to act on."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from protocol import K_FLOOR, MessageInvalid, QuerySpec, check_result

from ..errors import BadRequest
from .model import LEVELS, Membership, NodeCube

__all__ = ["MergeInputError", "validate_memberships", "validate_result"]


class MergeInputError(BadRequest):
    """A node result or membership cannot be merged (400 ``invalid_result``)."""

    def __init__(self, message: str, *, subject: str | None = None) -> None:
        super().__init__("invalid_result", message, subject=subject)


def validate_result(
    spec: QuerySpec, result: Any, *, node_id: str = "node", min_cell: int | None = None
) -> NodeCube:
    """Check one published node result against its spec and return it as a ``NodeCube``.

    The check is the wire format's own (``protocol.check_result``) that every upload passed;
    ``min_cell`` is the round's k: a result protected with less is refused.
    """
    try:
        checked = check_result(spec, result, min_cell=K_FLOOR if min_cell is None else min_cell)
    except MessageInvalid as exc:
        raise MergeInputError(f"result of {node_id}: {exc}", subject=node_id) from None
    return NodeCube(node_id, result["min_cell"], checked.cube, checked.scope, checked.years)


def validate_memberships(
    memberships: Mapping[str, Mapping[str, Any]], node_ids: list[str]
) -> dict[str, Membership]:
    """Check every node has an organisation and text area codes; return them typed."""
    missing = sorted(set(node_ids) - set(memberships))
    if missing:
        raise MergeInputError(f"no membership for node(s) {', '.join(missing)}")
    out: dict[str, Membership] = {}
    for node_id, entry in memberships.items():
        if not isinstance(entry, Mapping):
            raise MergeInputError(f"membership of {node_id} is not an object", subject=node_id)
        unknown = set(entry) - {"organisation", *LEVELS[1:]}
        if unknown:
            raise MergeInputError(
                f"membership of {node_id} has unknown fields {sorted(unknown)}", subject=node_id
            )
        organisation = entry.get("organisation")
        if not isinstance(organisation, str) or not organisation.strip():
            raise MergeInputError(f"membership of {node_id} names no organisation", subject=node_id)
        areas: dict[str, str | None] = {}
        for level in LEVELS[1:]:
            code = entry.get(level)
            if code is not None and (not isinstance(code, str) or not code.strip()):
                raise MergeInputError(
                    f"membership of {node_id}: {level} must be a code or null", subject=node_id
                )
            areas[level] = code
        out[node_id] = Membership(organisation, **areas)
    return out
