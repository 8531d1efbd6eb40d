"""What the coordinator of a finished demo could derive: an LP over every number it received.

Run by hand after ``lhs demo`` (not a test):

    python benchmarks/coordinator_knowledge.py lhs-demo

Per round, the unknowns are every node's suppressed counts; the attacker knows
every published node cube (margins, numerator <= denominator, non-negativity)
and every group total secure aggregation gave the coordinator.  The nodes'
exact cubes (kept in each node's state for aggregation) give a feasible point
and say which derived values are zeros.  Prints, per round, the totals summed
and the suppressed counts an LP pins down (exact) or narrows below k.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import sqlalchemy as sa

from coordinator import create_app
from coordinator.aggregation.services import _published_cubes, group_totals
from coordinator.db import session_scope
from coordinator.rounds.services import list_rounds
from protocol import Cube, PublishedCube
from protocol.disclosure._linked_table import LinkedTable
from protocol.disclosure._lp import intervals

K = 10


def exact_cubes(workdir: Path, round_id: int, published: dict[str, PublishedCube]) -> dict:
    """Return every node's exact cube of a round (finest cells and margins)."""
    out = {}
    for node_id, cube in published.items():
        engine = sa.create_engine(
            f"sqlite:///{workdir / 'nodes' / node_id / 'state' / 'agent.sqlite'}"
        )
        with engine.connect() as c:
            text = c.execute(
                sa.text("SELECT cube FROM exact_cubes WHERE round_id = :r"), {"r": round_id}
            ).scalar_one()
        engine.dispose()
        exact = json.loads(text)
        rows = [
            {**dict(zip(cube.dimensions, key, strict=True)), **values}
            for key, values in exact["cells"]
        ]
        out[node_id] = Cube.from_finest(cube.dimensions, cube.measures, rows)
    return out


def knowledge(published: dict[str, PublishedCube], totals: dict, exact: dict) -> dict:
    """Return the suppressed counts an LP over node cubes and group totals narrows below K."""
    table = LinkedTable(
        published,
        {group: members for group, (members, _) in totals.items()},
        {group: cells for group, (_, cells) in totals.items()},
        K,
    )
    system = table.system(range(len(table.rows)))
    truth = [float(exact[n].cells[key][name]) for n, key, name in table.entries]
    targets = [{i: 1.0} for i in range(len(table.entries))]
    solved = intervals(system, targets, point=truth, min_width=K - 1e-6)
    exact_values, narrow = [], []
    for e, value, bound in zip(table.entries, truth, solved.bounds, strict=True):
        if bound is None or math.isinf(bound[1]) or bound[1] - bound[0] >= K - 1e-6:
            continue
        (exact_values if bound[1] - bound[0] < 0.5 else narrow).append((e, int(value), bound))
    return {
        "hidden": len(table.entries),
        "summed": sum(len(cells) for _, cells in totals.values()),
        "lps": solved.lps,
        "exact": exact_values,
        "narrow": narrow,
    }


def _only_hiding(totals: dict, cubes: dict, at_least: int) -> dict:
    out = {}
    for group, (members, cells) in totals.items():
        out[group] = (
            members,
            {
                key: values
                for key, values in cells.items()
                if sum(None in cubes[n].cells[key].values() for n in members) >= at_least
            },
        )
    return out


def main() -> None:
    """Report, round by round, what the coordinator's data pins down."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--show", action="store_true", help="list every non-zero value found")
    parser.add_argument(
        "--min-hiding",
        type=int,
        default=0,
        help="simulate: keep only summed cells where this many members hide a value",
    )
    args = parser.parse_args()
    data = args.workdir / "coordinator-data"
    app = create_app(
        {
            "DATABASE_URL": f"sqlite:///{data / 'coordinator.sqlite3'}",
            "COORDINATOR_KEY_FILE": str(data / "coordinator.key"),
        }
    )
    with session_scope(app.extensions["lhs_sessions"]) as session:
        for round_ in reversed(list_rounds(session)):
            round_id = round_["round_id"]
            spec, cubes = _published_cubes(session, round_id)
            totals = group_totals(session, round_id)
            exact = exact_cubes(args.workdir, round_id, cubes)
            if args.min_hiding:
                totals = _only_hiding(totals, cubes, args.min_hiding)
            found = knowledge(cubes, totals, exact)
            nonzero = [x for x in found["exact"] if x[1]]
            small = [x for x in nonzero if 0 < x[1] < K]
            print(
                f"round {round_id} {spec.id}: {found['hidden']} hidden counts,"
                f" {found['summed']} group cells summed, {found['lps']} LPs;"
                f" exact {len(found['exact'])} ({len(nonzero)} non-zero,"
                f" {len(small)} in 1..{K - 1}),"
                f" narrower than {K} {len(found['narrow'])}"
                f" ({sum(0 < x[1] < K for x in found['narrow'])} in 1..{K - 1})"
            )
            if args.show:
                for e, value, bound in nonzero + found["narrow"]:
                    print(f"    {e}: {value} in [{bound[0]:g}, {bound[1]:g}]")


if __name__ == "__main__":
    main()
