"""Benchmark: group tables protected jointly (``protocol.protect_shown_tables``) on a demo.

Run by hand (not a test), after ``lhs demo --workdir WORKDIR``:

    python benchmarks/group_tables.py WORKDIR

For every library spec it counts each demo provider's extract (as its node would), sums the
cells factsheets show (the overall value and every one-way breakdown) exactly over every group
of the demo's nation, networks, zorgkantoor regions and provinces, takes each provider's
overall values as its node would publish them (protected at the node), and protects the group
tables jointly with k = 10, as publishing does.  Prints, per spec and level, the share of counts
whose true value is at least k that are published exactly, the time and the LPs; ``--alone``
adds two references that are not safe to publish (each group's table protected on its own).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from demo.world import NETWORKS, PROVIDERS
from node.runner import fetch_finest
from node.sources import open_source
from protocol import (
    AGE_BANDS,
    K_FLOOR,
    SEXES,
    Cube,
    load_spec,
    measure_defs,
    primary_suppression,
    protect,
    protect_shown_tables,
    shown_keys,
)
from queries import library_paths


def demo_groups() -> dict[tuple[str, str], list[str]]:
    """Return the demo's groups of 3 or more providers and their members."""
    regions = {code: (zk, province) for code, _, zk, province in NETWORKS}
    members: dict[tuple[str, str], list[str]] = {}
    for p in PROVIDERS:
        zk, province = regions[p.network]
        for group in (
            ("national", "NL"),
            ("network", p.network),
            ("zorgkantoor", zk),
            ("province", province),
        ):
            members.setdefault(group, []).append(p.node_id)
    return {group: nodes for group, nodes in members.items() if len(nodes) >= 3}


def counted(spec, workdir: Path) -> tuple[dict[str, list[dict]], dict[str, list]]:
    """Return each provider's finest cells of a spec (as its node counts them) and the domains."""
    finest = {}
    for p in PROVIDERS:
        source = open_source(str(workdir / "nodes" / p.node_id / "extract"))
        try:
            finest[p.node_id] = fetch_finest([spec], source)[spec.id][0]
        finally:
            source.close()
    years = sorted({row["year"] for rows in finest.values() for row in rows if "year" in row})
    domains = {"year": years, "sex": list(SEXES), "age_band": [b for b, _, _ in AGE_BANDS]}
    return finest, {d: domains[d] for d in spec.dimensions}


def shown_tables(spec, workdir: Path) -> tuple[list, dict[str, dict]]:
    """Return the shown keys and each provider's exact values in them."""
    finest, domains = counted(spec, workdir)
    defs = measure_defs(spec)
    keys = shown_keys(spec.dimensions, domains)
    tables = {}
    for node, rows in finest.items():
        cube = Cube.from_finest(spec.dimensions, defs, rows, domains)
        tables[node] = {key: cube.cells[key] for key in keys}
    return keys, tables


def alone(spec, workdir: Path, groups: dict, k: int) -> dict[str, dict[str, list[int]]]:
    """Exact shares when each group's full cube, or each one-way table, is protected alone."""
    defs = measure_defs(spec)
    counts = [m.name for m in defs if m.kind == "count"]
    finest, domains = counted(spec, workdir)
    shares: dict[str, dict[str, list[int]]] = {"full cube": {}, "one-way": {}}

    def tally(design: str, level: str, published: dict, cells: dict, skip=()) -> None:
        total = shares[design].setdefault(level, [0, 0])
        for key, values in cells.items():
            for name in counts:
                if values[name] >= k and key not in skip:
                    total[0] += published[key][name] is not None
                    total[1] += 1

    for group, members in groups.items():
        rows = [row for n in members for row in finest[n]]
        cube = Cube.from_finest(spec.dimensions, defs, rows, domains)
        published = {tuple(r[d] for d in spec.dimensions): r for r in protect(cube, k).rows()}
        tally("full cube", group[0], published, cube.cells)
        for i, dim in enumerate(spec.dimensions):
            sums: dict = {}
            for row in rows:
                cell = sums.setdefault(row[dim], {m.name: 0 for m in defs})
                for m in defs:
                    cell[m.name] += row[m.name]
            one = Cube.from_finest(
                (dim,), defs, [{dim: v, **c} for v, c in sums.items()], {dim: domains[dim]}
            )
            shown = {(r[dim],): r for r in protect(one, k).rows()}
            tally("one-way", group[0], shown, one.cells, skip=[(None,)] if i else [])
    return shares


def main() -> None:
    """Protect every spec's group tables and print what is published exactly."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--alone", action="store_true", help="Also print the two references.")
    args = parser.parse_args()
    references: dict[str, dict[str, list[int]]] = {"full cube": {}, "one-way": {}}
    groups = demo_groups()
    k = K_FLOOR
    overall: dict[str, list[int]] = {}
    for path in library_paths():
        spec = load_spec(path)
        defs = measure_defs(spec)
        counts = [m.name for m in defs if m.kind == "count"]
        keys, nodes = shown_tables(spec, args.workdir)
        top = keys[0]
        headlines = {}
        for node, table in nodes.items():
            hidden = primary_suppression(Cube(spec.dimensions, defs, {top: table[top]}), k)
            headlines[node] = {c: None if (top, c) in hidden else table[top][c] for c in counts}
        exact = {
            group: {
                key: {m.name: sum(nodes[n][key][m.name] for n in members) for m in defs}
                for key in keys
            }
            for group, members in groups.items()
        }
        started = time.perf_counter()
        result = protect_shown_tables(exact, groups, spec.dimensions, defs, k, headlines)
        seconds = time.perf_counter() - started
        shares: dict[str, list[int]] = {}
        for group, table in result.published.items():
            for key, values in table.items():
                for name in counts:
                    if exact[group][key][name] >= k:
                        tally = shares.setdefault(group[0], [0, 0])
                        tally[0] += values[name] is not None
                        tally[1] += 1
        for level, (done, of) in shares.items():
            total = overall.setdefault(level, [0, 0])
            total[0] += done
            total[1] += of
        if args.alone:
            for design, levels in alone(spec, args.workdir, groups, k).items():
                for level, (done, of) in levels.items():
                    total = references[design].setdefault(level, [0, 0])
                    total[0] += done
                    total[1] += of
        print(
            f"{spec.id:36} {seconds:5.2f}s {result.lps:5} LPs  "
            + "  ".join(f"{lv} {d}/{n}={d / n:.0%}" for lv, (d, n) in shares.items()),
            flush=True,
        )
    print("all specs", "  ".join(f"{lv} {d}/{n}={d / n:.1%}" for lv, (d, n) in overall.items()))
    for design, levels in references.items():
        if levels:
            shown = "  ".join(f"{lv} {d}/{n}={d / n:.1%}" for lv, (d, n) in levels.items())
            print(f"{design} alone:", shown)


if __name__ == "__main__":
    main()
