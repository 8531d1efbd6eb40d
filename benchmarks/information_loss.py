"""Benchmark: how much disclosure control hides, against the optimum, per cube a node builds.

Run by hand from the repository root (not a test):

    python -m benchmarks.information_loss
    python -m benchmarks.information_loss --persons 3000 10000 40000 200000 --before HEAD

Cubes are built the way a node builds them: a synthetic extract (``demo.synth``, seed 1,
Parquet under ``benchmarks/data``, shared with ``bench_node_run``), the library specs compiled
and counted by ``node.runner.fetch_finest``, the finest cells rolled up with every margin
(``Cube.from_finest``).  Besides each whole cube, a one-year table: the same spec's cells of
one year only (the year before the extract's last), as a node whose extract holds one year
would count them.

Per table it prints the number of count values, the primary suppressions, then for each
method the values it hides, their total and its time: lhs (``protect``), optionally the
``protect`` of an earlier revision (``--before``, read from git), the classic hypercube
heuristic, and the MILP of ``protocol.disclosure._optimal`` for two objectives, the number
of values and their total (``*`` = proven optimal; otherwise the lower bound is shown after
``>=``).  Every pattern is checked with ``audit``.  Times are CPU seconds of this process.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import subprocess
import sys
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from demo.synth import generate
from node.persons import fetch_persons
from node.runner import fetch_finest
from node.sources import open_source
from protocol import Cube, audit, load_spec, measure_defs, primary_suppression, protect
from protocol.disclosure._optimal import (
    hypercube_suppression,
    optimal_suppression,
    suppression_costs,
)
from queries import resolve_specs

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / "data"
K = 10

SPECS = ("hospital_admission_last_30d", "icu_admission_last_30d", "anticancer_therapy_last_30d")
"""The palliative specs measured by default (the three an earlier measurement named)."""

Entry = tuple[tuple[object, ...], str]


@dataclass
class Row:
    """One method's result on one table."""

    hidden: int | None
    total: int | None
    seconds: float
    note: str = ""


def extract(persons: int) -> Path:
    """Generate (once) a Parquet extract of ``persons`` persons, seed 1, under benchmarks/data."""
    folder = DATA / f"p{persons}"
    if not (folder / "person.parquet").exists():
        started = time.perf_counter()
        generate(persons, 1, folder, "parquet")
        print(f"generated {persons:,} persons in {time.perf_counter() - started:.1f}s", flush=True)
    return folder


def tables(persons: int, spec_ids: Collection[str], one_year: bool) -> list[tuple[str, Cube]]:
    """Return the cubes a node builds for the specs on an extract, with one-year tables."""
    specs = [load_spec(p) for p in resolve_specs(list(spec_ids))]
    source = open_source(str(extract(persons)))
    finest = fetch_finest(specs, source)
    persons_of = fetch_persons(specs, source)
    out = []
    for spec in specs:
        rows, domains = finest[spec.id]
        dims = spec.dimensions
        cube = Cube.from_finest(dims, measure_defs(spec), rows, {d: domains[d] for d in dims})
        cube.persons = persons_of.get(spec.id)
        out.append((spec.id, cube))
        # A visit cohort's persons per margin are unions over years: not for one year alone.
        if one_year and cube.persons is None and "year" in dims and len(domains["year"]) > 1:
            year = domains["year"][-2]
            at = dims.index("year")
            kept = [r for r in rows if r["year"] == year]
            one = {**{d: domains[d] for d in dims}, "year": [year]}
            out.append((f"{spec.id} {year}", Cube.from_finest(dims, measure_defs(spec), kept, one)))
            assert all(key[at] in (year, None) for key in out[-1][1].cells)
    return out


def counts_of(cube: Cube, pattern: Collection[Entry]) -> tuple[int, int]:
    """Return how many count values a pattern hides and their total."""
    names = {m.name for m in cube.measures if m.kind == "count"}
    hidden = [(key, name) for key, name in pattern if name in names]
    return len(hidden), sum(cube.cells[key][name] for key, name in hidden)


def checked(cube: Cube, pattern: Collection[Entry] | None, seconds: float, note: str = "") -> Row:
    """Return a method's row after checking its pattern with the audit."""
    if pattern is None:
        return Row(None, None, seconds, note or "none")
    if not audit(cube, pattern, K).passed:
        raise SystemExit(f"a pattern fails the audit ({note}): the benchmark is wrong")
    hidden, total = counts_of(cube, pattern)
    return Row(hidden, total, seconds, note)


def timed(run: Callable[[], object]) -> tuple[object, float]:
    """Run a function; return its result and the CPU seconds it took."""
    started = time.process_time()
    out = run()
    return out, time.process_time() - started


def earlier_protect(revision: str) -> Callable[..., object]:
    """Return ``protect`` as it was at a git revision (its module loaded beside today's)."""
    source = subprocess.run(
        ["git", "show", f"{revision}:protocol/disclosure/_protect.py"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    name = "protocol.disclosure._protect_before"
    spec = importlib.util.spec_from_loader(name, loader=None)
    assert spec is not None
    module = ModuleType(name)
    module.__package__ = "protocol.disclosure"
    module.__spec__ = spec
    sys.modules[name] = module
    exec(compile(source, f"{revision}:_protect.py", "exec"), module.__dict__)
    return module.protect  # type: ignore[no-any-return]


def measure(
    cube: Cube,
    before: Callable[..., object] | None,
    rounds: int,
    limit: float,
) -> dict[str, Row]:
    """Return every method's row for one table."""
    primary = primary_suppression(cube, K)
    out: dict[str, Row] = {}
    protected, seconds = timed(lambda: protect(cube, K))
    out["lhs"] = checked(cube, protected.suppressed, seconds)  # type: ignore[attr-defined]
    if before is not None:
        earlier, seconds = timed(lambda: before(cube, K))
        out["before"] = checked(cube, earlier.suppressed, seconds)  # type: ignore[attr-defined]
    costs = suppression_costs(cube, "count")
    pattern, seconds = timed(lambda: hypercube_suppression(cube, K, primary, costs))
    out["hypercube"] = checked(cube, pattern, seconds)  # type: ignore[arg-type]
    for objective in ("count", "value") if rounds else ():
        costs = suppression_costs(cube, objective)  # type: ignore[arg-type]
        found, seconds = timed(
            lambda costs=costs: optimal_suppression(
                cube, K, primary, costs, max_rounds=rounds, seconds=limit
            )
        )
        bound = found.bound  # type: ignore[attr-defined]
        proven = found.optimal  # type: ignore[attr-defined]
        # The cost is a whole number plus tie-breakers worth less than 1 together.
        note = "*" if proven else f">={math.floor(bound + 1e-6)}" if math.isfinite(bound) else ""
        out[objective] = checked(cube, found.suppressed, seconds, note)  # type: ignore[attr-defined]
    return out


def cell(row: Row | None, key: str) -> str:
    """Format one method's hidden values and total."""
    if row is None or row.hidden is None:
        return "-"
    main = f"{row.hidden}" if key != "value" else f"{row.total}"
    other = f"{row.total}" if key != "value" else f"{row.hidden}"
    return f"{main}{row.note} ({other}) {row.seconds:.2f}s"


def ratio(lhs: Row, count: Row | None, value: Row | None) -> str:
    """Return lhs's hidden values and total over the MILP's best (proven or not)."""
    if lhs.hidden is None or count is None or value is None:
        return "-"
    if count.hidden is None or value.total is None:
        return "-"
    by_count = lhs.hidden / count.hidden if count.hidden else math.nan
    by_value = (lhs.total or 0) / value.total if value.total else math.nan
    return f"{by_count:.2f} {by_value:.2f}"


def main(argv: list[str] | None = None) -> None:
    """Build the cubes, protect them every way and print one line per table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, nargs="+", default=[3000, 10000, 40000, 200000])
    parser.add_argument("--specs", nargs="+", default=list(SPECS))
    parser.add_argument("--no-one-year", action="store_true", help="skip one-year tables")
    parser.add_argument(
        "--rounds", type=int, default=25, help="MILP rounds per optimum (0: no MILP)"
    )
    parser.add_argument(
        "--seconds", type=float, default=5.0, help="no new MILP round after this (per optimum)"
    )
    parser.add_argument("--before", metavar="REV", help="also run protect as of a git revision")
    args = parser.parse_args(argv)
    before = earlier_protect(args.before) if args.before else None
    header = (
        f"{'persons':>8} {'table':<34} {'values':>6} {'prim':>5} | {'lhs: hidden (total)':<24}"
        + (f" | {'before: hidden (total)':<24}" if before else "")
        + f" | {'hypercube':<22} | {'MILP count (total)':<28} | {'MILP value (hidden)':<30}"
        + " | lhs/MILP"
    )
    print(header)
    print("-" * len(header))
    for persons in args.persons:
        for name, cube in tables(persons, args.specs, not args.no_one_year):
            rows = measure(cube, before, args.rounds, args.seconds)
            values = len(cube.cells) * sum(m.kind == "count" for m in cube.measures)
            line = (
                f"{persons:>8} {name:<34} {values:>6} {len(primary_suppression(cube, K)):>5}"
                f" | {cell(rows['lhs'], 'lhs'):<24}"
            )
            if before:
                line += f" | {cell(rows['before'], 'before'):<24}"
            line += (
                f" | {cell(rows['hypercube'], 'hypercube'):<22}"
                f" | {cell(rows.get('count'), 'count'):<28}"
                f" | {cell(rows.get('value'), 'value'):<30}"
                f" | {ratio(rows['lhs'], rows.get('count'), rows.get('value'))}"
            )
            print(line, flush=True)


if __name__ == "__main__":
    main()
