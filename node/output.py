"""Render query results as JSON, CSV or a table for people at a terminal."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence

from .runner import QueryResult

__all__ = ["FORMATS", "render"]

FORMATS = ("json", "csv", "table")
SUPPRESSED = "-"
NO_RATE = "n/a"


def render(results: Sequence[QueryResult], fmt: str) -> str:
    """Return the results in ``fmt``: json, csv or table."""
    if fmt == "json":
        return _json(results)
    if fmt == "csv":
        return _csv(results)
    return _table(results)


def _json(results: Sequence[QueryResult]) -> str:
    if len(results) == 1:
        payload: object = results[0].to_dict()
    else:
        payload = {r.spec.id: r.to_dict() for r in results}
    return json.dumps(payload, indent=1) + "\n"


def _csv(results: Sequence[QueryResult]) -> str:
    # Long form: specs have different measures, and an empty value must mean one thing only.
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "query",
            "version",
            "min_cell",
            "year",
            "sex",
            "age_band",
            "measure",
            "value",
            "suppressed",
        ]
    )
    for r in results:
        names = [m.name for m in r.spec.measures]
        for cell in r.protected.rows():
            # Empty = all values, as null does in JSON.
            dims = ["" if cell.get(d) is None else cell[d] for d in ("year", "sex", "age_band")]
            for name in names:
                value = cell[name]
                writer.writerow(
                    [
                        r.spec.id,
                        r.spec.version,
                        r.k,
                        *dims,
                        name,
                        "" if value is None else value,
                        "yes" if value is None else "no",
                    ]
                )
    return out.getvalue()


def _table(results: Sequence[QueryResult]) -> str:
    blocks = []
    for r in results:
        dims = list(r.spec.dimensions)
        names = [m.name for m in r.spec.measures]
        has_rate = len(names) >= 2 and r.spec.measures[1].kind == "units_with"
        header = [*dims, *names] + (["rate"] if has_rate else [])
        rows = []
        for cell in r.protected.rows():
            row = ["all" if cell[d] is None else str(cell[d]) for d in dims]
            row += [SUPPRESSED if cell[n] is None else str(cell[n]) for n in names]
            if has_rate:
                den, num = cell[names[0]], cell[names[1]]
                if den is None or num is None:
                    row.append(SUPPRESSED)
                else:  # a published 0 denominator has no rate, and is not suppressed
                    row.append(f"{100 * num / den:.1f}%" if den else NO_RATE)
            rows.append(row)
        # max() of the header alone when there are no cells (an empty cohort).
        widths = [max([len(h), *(len(row[i]) for row in rows)]) for i, h in enumerate(header)]
        lines = [
            f"{r.spec.id} v{r.spec.version}: {r.spec.title}",
            f"k={r.k}  {r.spec_hash}  ('{SUPPRESSED}' = suppressed, 'all' = every value)",
            "  ".join(
                h.ljust(w) if i < len(dims) else h.rjust(w)
                for i, (h, w) in enumerate(zip(header, widths, strict=True))
            ),
        ]
        for row in rows:
            lines.append(
                "  ".join(
                    v.ljust(w) if i < len(dims) else v.rjust(w)
                    for i, (v, w) in enumerate(zip(row, widths, strict=True))
                )
            )
        report = r.protected.report
        lines.append(
            f"{len(rows)} cells; {report.primary + report.secondary} of {report.values} values"
            f" suppressed ({report.primary} below k, {report.secondary} to protect them)"
        )
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"
