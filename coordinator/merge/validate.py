"""Check node results and memberships before anything is merged, with reasons to act on."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from coordinator.errors import BadRequest
from node.compiler import AGE_BANDS
from node.runner import SEXES, measure_defs
from protocol import ProtocolError, PublishedCube, QuerySpec, spec_hash

from .model import LEVELS, Membership, NodeCube

__all__ = ["MergeInputError", "published_cubes", "validate_memberships", "validate_result"]

RESULT_FIELDS = frozenset({"query", "version", "spec_hash", "min_cell", "cells"})

_DOMAINS: dict[str, frozenset[str]] = {
    "sex": frozenset(SEXES),
    "age_band": frozenset(label for label, _, _ in AGE_BANDS),
}


class MergeInputError(BadRequest):
    """A node result or membership cannot be merged (400 ``invalid_result``)."""

    def __init__(self, message: str, *, subject: str | None = None) -> None:
        super().__init__("invalid_result", message, subject=subject)


def validate_result(
    spec: QuerySpec, result: Any, *, node_id: str = "node", min_cell: int | None = None
) -> NodeCube:
    """Check one published node result against its spec and return it as a ``NodeCube``.

    ``min_cell`` is the round's k: a result protected with less is refused.
    """
    where = f"result of {node_id}"
    if not isinstance(result, Mapping):
        raise MergeInputError(f"{where} is not an object", subject=node_id)
    if set(result) != RESULT_FIELDS:
        raise MergeInputError(
            f"{where} must have exactly the fields {sorted(RESULT_FIELDS)}, not {sorted(result)}",
            subject=node_id,
        )
    expected_hash = spec_hash(spec)
    if result["spec_hash"] != expected_hash:
        raise MergeInputError(
            f"{where} is for spec hash {result['spec_hash']!r}, not {expected_hash}",
            subject=node_id,
        )
    if result["query"] != spec.id or result["version"] != spec.version:
        raise MergeInputError(
            f"{where} names {result['query']!r} version {result['version']!r},"
            f" not {spec.id!r} version {spec.version}",
            subject=node_id,
        )
    k = result["min_cell"]
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise MergeInputError(f"{where}: min_cell must be a whole number >= 1", subject=node_id)
    if min_cell is not None and k < min_cell:
        raise MergeInputError(
            f"{where} was protected with min_cell {k}, below the round's {min_cell}",
            subject=node_id,
        )
    cells = result["cells"]
    if not isinstance(cells, list):
        raise MergeInputError(f"{where}: cells must be a list", subject=node_id)
    for i, cell in enumerate(cells):
        if isinstance(cell, Mapping):
            _check_dimension_values(spec, cell, f"{where}: cell {i}", node_id)
    try:
        cube = PublishedCube.from_rows(spec.dimensions, measure_defs(spec), cells)
    except ProtocolError as exc:
        raise MergeInputError(f"{where}: {exc}", subject=node_id) from None
    return NodeCube(node_id, k, cube)


def _check_dimension_values(
    spec: QuerySpec, cell: Mapping[str, Any], where: str, node_id: str
) -> None:
    for dim in spec.dimensions:
        value = cell.get(dim)
        if value is None:
            continue
        if dim == "year":
            ok = isinstance(value, int) and not isinstance(value, bool) and 1800 <= value <= 2200
        else:
            ok = isinstance(value, str) and value in _DOMAINS[dim]
        if not ok:
            raise MergeInputError(f"{where}: {value!r} is not a valid {dim}", subject=node_id)


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


def published_cubes(
    spec: QuerySpec, results: Mapping[str, Any], min_cell: int
) -> dict[str, PublishedCube]:
    """Check every node's result of a round and return its published cube, by node id."""
    return {
        node_id: validate_result(spec, result, node_id=node_id, min_cell=min_cell).cube
        for node_id, result in results.items()
    }
