"""``lhs.result/1``: what a node publishes of one task, and the one check of it.

A result has a ``scope``.  ``headline`` (a node that takes part in secure aggregation): one
cell, the overall value of every measure, protected at the node, and ``years``, the first and
last year it counted units in; the node's breakdowns reach the coordinator only summed with
its group's.  ``cube`` (a node whose policy declines secure aggregation): every finest cell
and margin, protected at the node.

Both sides use ``check_result``: the node on its own result before it signs it, the
coordinator on every upload (with the LP audit run again on the published values) and before
a merge.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..disclosure import MeasureDef, PublishedCube, check_published
from ..errors import AuditFailed, MessageInvalid, ProtocolError
from ..spec import (
    K_FLOOR,
    MAX_MIN_CELL,
    MAX_VALUE,
    YEARS,
    QuerySpec,
    SumDaysMeasure,
    SumValueMeasure,
    UnitsMeasure,
    UnitsWithMeasure,
    UnitsWithValueMeasure,
    dimension_value_ok,
    spec_hash,
)
from ._checks import expect_node, expect_type, is_whole
from ._time import utcnow, write_time
from ._types import RESULT

__all__ = [
    "CUBE",
    "HEADLINE",
    "MAX_CELLS",
    "RESULT_FIELDS",
    "SCOPES",
    "CheckedResult",
    "ResultMessage",
    "check_result",
    "check_result_message",
    "measure_defs",
    "result_payload",
]

MAX_CELLS = 200_000
"""The most cells one result may hold."""

HEADLINE = "headline"
"""Scope of a result that holds the overall values only (and the years counted)."""
CUBE = "cube"
"""Scope of a result that holds every finest cell and margin."""
SCOPES = (HEADLINE, CUBE)

RESULT_FIELDS = {
    CUBE: frozenset({"query", "version", "spec_hash", "min_cell", "scope", "cells"}),
    HEADLINE: frozenset({"query", "version", "spec_hash", "min_cell", "scope", "cells", "years"}),
}
"""The fields of a result, by scope."""


@dataclass(frozen=True)
class CheckedResult:
    """A result that passed ``check_result``: its scope, its cube and the years it counted."""

    scope: str
    cube: PublishedCube
    years: tuple[int, int] | None = None
    """Headline only: the first and last year with units (None: none, or no year dimension)."""


@dataclass(frozen=True)
class ResultMessage:
    """A result message whose envelope fields have the right shape (the cube is checked apart)."""

    task_id: str
    round_id: int
    spec_hash: str
    result: Any


def measure_defs(spec: QuerySpec) -> tuple[MeasureDef, ...]:
    """Return the disclosure roles of a spec's measures (the cube's measure columns)."""
    denominator = spec.denominator.name
    defs: list[MeasureDef] = []
    for m in spec.measures:
        if isinstance(m, UnitsMeasure):
            defs.append(MeasureDef(m.name, "count"))
        elif isinstance(m, UnitsWithMeasure | UnitsWithValueMeasure):
            defs.append(MeasureDef(m.name, "count", parent=denominator))
        elif isinstance(m, SumValueMeasure):
            # A sum of changes may be negative; of squares or of chosen values it is not.
            signed = m.change is not None and not m.squared
            defs.append(MeasureDef(m.name, "sum", parent=denominator, signed=signed))
        elif isinstance(m, SumDaysMeasure):
            defs.append(MeasureDef(m.name, "sum", parent=denominator))
    return tuple(defs)


def result_payload(
    task: Mapping[str, Any],
    node_id: str,
    result: Mapping[str, Any],
    created_at: datetime | None = None,
) -> dict[str, Any]:
    """Return the answer to ``task`` (its payload): ``result``, to be signed by ``node_id``."""
    return {
        "type": RESULT,
        "task_id": task["task_id"],
        "round_id": task["round_id"],
        "node_id": node_id,
        "spec_hash": result["spec_hash"],
        "created_at": write_time(created_at or utcnow()),
        "result": dict(result),
    }


def check_result_message(payload: Any, *, node_id: str) -> ResultMessage:
    """Return the fields of a result message signed by ``node_id``, or raise MessageInvalid."""
    expect_type(payload, RESULT)
    expect_node(payload, node_id)
    task_id, round_id = payload.get("task_id"), payload.get("round_id")
    if not isinstance(task_id, str) or not task_id:
        raise MessageInvalid("unknown_task", f"no task {str(task_id)[:40]!r}")
    if not is_whole(round_id, 1):
        raise MessageInvalid("wrong_round", "round_id must be a whole number from 1")
    digest = payload.get("spec_hash")
    return ResultMessage(
        task_id, round_id, digest if isinstance(digest, str) else "", payload.get("result")
    )


def _bad(message: str) -> MessageInvalid:
    return MessageInvalid("bad_result", message)


def check_result(
    spec: QuerySpec, result: Any, *, min_cell: int = K_FLOOR, audit: bool = False
) -> CheckedResult:
    """Return ``result`` as the published result of ``spec`` protected with ``min_cell`` or more.

    Raise MessageInvalid (``bad_result``, ``spec_hash_mismatch``, ``min_cell_too_low``, or
    with ``audit`` ``result_discloses``) naming the first problem.  ``audit`` runs the LP
    audit again on the published values with the result's own ``min_cell``: a node that
    claims k but leaves a suppressed value narrower is refused.
    """
    if not isinstance(result, Mapping):
        raise _bad("the result is not an object")
    scope = result.get("scope")
    if scope not in SCOPES:
        raise _bad(f"scope must be one of {list(SCOPES)}, not {str(scope)[:40]!r}")
    fields = RESULT_FIELDS[scope]
    if set(result) != fields:
        raise _bad(
            f"a {scope} result must have exactly the fields {sorted(fields)},"
            f" not {sorted(map(str, result))}"
        )
    if result["query"] != spec.id or result["version"] != spec.version:
        raise _bad(
            f"the result names {result['query']!r} version {result['version']!r},"
            f" not {spec.id!r} version {spec.version}"
        )
    digest = spec_hash(spec)
    if result["spec_hash"] != digest:
        raise MessageInvalid(
            "spec_hash_mismatch",
            f"the result is for spec hash {str(result['spec_hash'])[:80]!r}, not {digest}",
        )
    k = result["min_cell"]
    if isinstance(k, int) and not isinstance(k, bool) and k > MAX_MIN_CELL:
        raise _bad(f"min_cell {str(k)[:40]} is above the highest k of {MAX_MIN_CELL}")
    if not is_whole(k) or k < min_cell:
        raise MessageInvalid(
            "min_cell_too_low",
            f"the result was protected with min_cell {k!r}, below the round's k={min_cell}",
        )
    cells = result["cells"]
    if not isinstance(cells, list) or not cells:
        raise _bad("cells must be a non-empty list")
    if len(cells) > MAX_CELLS:
        raise _bad(f"the result has {len(cells)} cells, more than {MAX_CELLS}")
    names = [m.name for m in spec.measures]
    for i, cell in enumerate(cells):
        if isinstance(cell, Mapping):
            _check_dimension_values(spec, cell, i)
            for name in names:
                value = cell.get(name)
                if isinstance(value, int) and value > MAX_VALUE:
                    raise _bad(f"cell {i}: {name} is larger than {MAX_VALUE:,}")
    years = None
    if scope == HEADLINE:
        top = len(cells) == 1 and isinstance(cells[0], Mapping)
        top = top and all(cells[0].get(d) is None for d in spec.dimensions)
        if not top:
            raise _bad("a headline result holds one cell, the overall value (every dimension null)")
        years = _check_years(spec, result["years"])
    try:
        cube = PublishedCube.from_rows(spec.dimensions, measure_defs(spec), cells)
        if audit:
            check_published(cube, k)
    except AuditFailed as exc:
        raise MessageInvalid(
            "result_discloses", f"the result does not protect its cells: {exc}"
        ) from None
    except ProtocolError as exc:
        raise _bad(str(exc)) from None
    return CheckedResult(scope, cube, years)


def _check_years(spec: QuerySpec, years: Any) -> tuple[int, int] | None:
    if years is None:
        return None
    if "year" not in spec.dimensions:
        raise _bad("years must be null: the spec has no year dimension")
    first, last = YEARS[0], YEARS[-1]
    if (
        not isinstance(years, list)
        or len(years) != 2
        or not all(is_whole(y, first, last) for y in years)
        or years[0] > years[1]
    ):
        raise _bad(f"years must be null or [first, last], whole years {first}-{last}, in order")
    return years[0], years[1]


def _check_dimension_values(spec: QuerySpec, cell: Mapping[str, Any], i: int) -> None:
    for dim in spec.dimensions:
        value = cell.get(dim)
        if value is not None and not dimension_value_ok(dim, value):
            raise _bad(f"cell {i}: {str(value)[:40]!r} is not a valid {dim}")
