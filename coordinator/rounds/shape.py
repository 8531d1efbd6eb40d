"""Check that an uploaded result is the cube its spec describes, protected with the round's k.

The merge sums node cubes cell by cell, so every node must send the same kind of grid: the
spec's dimensions and measures and nothing else, every finest cell and every margin, known
dimension values, and counts that are whole, non-negative numbers or ``null`` (suppressed).
"""

from __future__ import annotations

import itertools
from typing import Any

from node.compiler import AGE_BANDS
from node.runner import SEXES, measure_defs
from protocol import AuditFailed, ProtocolError, PublishedCube, QuerySpec, check_published

from ..errors import BadRequest

__all__ = ["MAX_CELLS", "check_result"]

MAX_CELLS = 200_000
_RESULT_FIELDS = {"query", "version", "spec_hash", "min_cell", "cells"}
_AGE_BANDS = {label for label, _, _ in AGE_BANDS}


def _bad(message: str) -> BadRequest:
    return BadRequest("bad_result", message)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _valid_value(dim: str, value: object) -> bool:
    if dim == "sex":
        return value in SEXES
    if dim == "age_band":
        return value in _AGE_BANDS
    return _is_int(value) and 1900 <= value <= 2200  # type: ignore[operator]


def check_result(spec: QuerySpec, digest: str, k: int, result: Any) -> None:
    """Raise BadRequest unless ``result`` is the cube of ``spec``, protected with k or more.

    Protected means the LP audit passes on the published values with the result's own
    ``min_cell``: a node that claims k but leaves a suppressed count narrower is refused.
    """
    if not isinstance(result, dict) or set(result) != _RESULT_FIELDS:
        raise _bad(f"result must be an object with exactly: {', '.join(sorted(_RESULT_FIELDS))}")
    if result["query"] != spec.id or result["version"] != spec.version:
        raise _bad(
            f"result is for {result['query']!r} v{result['version']}, the task for"
            f" {spec.id!r} v{spec.version}"
        )
    if result["spec_hash"] != digest:
        raise BadRequest(
            "spec_hash_mismatch", f"result names spec {result['spec_hash']!r}, the task {digest}"
        )
    min_cell = result["min_cell"]
    if not _is_int(min_cell) or min_cell < k:
        raise BadRequest(
            "min_cell_too_low", f"result was protected with min_cell {min_cell!r}, below k={k}"
        )
    cells = result["cells"]
    if not isinstance(cells, list) or not cells:
        raise _bad("cells must be a non-empty list")
    if len(cells) > MAX_CELLS:
        raise _bad(f"result has {len(cells)} cells, more than {MAX_CELLS}")
    _check_cells(spec, cells)
    _check_protected(spec, cells, min_cell)


def _check_protected(spec: QuerySpec, cells: list[Any], k: int) -> None:
    # The node's audit, run again on what it published: its constraints need no hidden value.
    try:
        check_published(PublishedCube.from_rows(spec.dimensions, measure_defs(spec), cells), k)
    except AuditFailed as exc:
        raise BadRequest("result_discloses", f"result does not protect its cells: {exc}") from None
    except ProtocolError as exc:
        raise _bad(str(exc)) from None


def _check_cells(spec: QuerySpec, cells: list[Any]) -> None:
    dims = tuple(spec.dimensions)
    defs = measure_defs(spec)
    expected = set(dims) | {m.name for m in defs}
    keys: set[tuple[object, ...]] = set()
    for i, cell in enumerate(cells):
        if not isinstance(cell, dict) or set(cell) != expected:
            got = sorted(cell) if isinstance(cell, dict) else type(cell).__name__
            raise _bad(f"cells[{i}] has fields {got}, expected {sorted(expected)}")
        for dim in dims:
            value = cell[dim]
            if value is not None and not _valid_value(dim, value):
                raise _bad(f"cells[{i}].{dim} is {value!r}, not a value of that dimension")
        for m in defs:
            value = cell[m.name]
            if value is not None and (not _is_int(value) or value < 0):
                raise _bad(f"cells[{i}].{m.name} is {value!r}, not a count (whole, >= 0, or null)")
        key = tuple(cell[d] for d in dims)
        if key in keys:
            raise _bad(f"cells[{i}] repeats the cell {dict(zip(dims, key, strict=True))}")
        keys.add(key)
    # A cube holds every combination of each dimension's values and its margins (None).
    domains = [{key[i] for key in keys if key[i] is not None} for i in range(len(dims))]
    grid = set(itertools.product(*[[*sorted(d, key=str), None] for d in domains]))
    missing = grid - keys
    if missing:
        example = dict(zip(dims, sorted(missing, key=str)[0], strict=True))
        raise _bad(f"cells do not form the spec's cube: {len(missing)} missing, e.g. {example}")
