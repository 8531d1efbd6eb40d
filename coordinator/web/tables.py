"""Published figures as CSV: one row per table row of a factsheet or benchmark page.

Read from the page's JSON twin, so the CSV holds exactly the numbers the page shows.
Nested figures are flattened to columns named by their path (``figure.low``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["page_csv", "page_rows"]


def _flat(value: Any, prefix: str) -> Iterator[tuple[str, Any]]:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            yield from _flat(inner, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list):
        yield prefix, "; ".join(map(str, value))
    else:
        yield prefix, value


def _row(head: dict[str, Any], row: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(head)
    out.update(_flat(row, ""))
    return out


def _indicator_rows(indicator: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    head = {
        "indicator": indicator["id"],
        "version": indicator["version"],
        "spec_hash": indicator["spec_hash"],
        "min_cell": indicator["min_cell"],
        "withheld": indicator.get("withheld") or "",
    }
    if indicator.get("overall") is None:
        yield {**head, "dimension": "", "label": ""}
        return
    yield _row({**head, "dimension": ""}, indicator["overall"])
    for breakdown in indicator["breakdowns"]:
        for row in breakdown["rows"]:
            yield _row({**head, "dimension": breakdown["dimension"]}, row)


def page_rows(page: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Return a factsheet's or benchmark's table rows as flat dicts (an index has none)."""
    if page.get("kind") == "factsheet":
        head = {"level": page["level"], "area": page["area"], "area_name": page["area_name"]}
        return [{**head, **row} for ind in page["indicators"] for row in _indicator_rows(ind)]
    if page.get("kind") == "benchmark":
        head = {"indicator": page["id"], "version": page["version"], "spec_hash": page["spec_hash"]}
        rows = [_row({**head, "node": "national"}, page["national"])]
        return rows + [_row(head, provider) for provider in page["providers"]]
    return []


def page_csv(page: Mapping[str, Any]) -> str:
    """Return a page's rows as CSV text with a header of every column seen, in order."""
    rows = page_rows(page)
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
