"""Benchmark: the linked-table audit (``protocol.protect_linked``) at demo scale.

Run by hand (not a test):

    python benchmarks/bench_linked.py --seed 0 --scale 1

Nine nodes publish a 264-cell cube (10 years x 2 sexes x 7 age bands, every
margin) of a denominator and a numerator, each protected by ``protect`` with
k = 10.  Counts are Poisson around 3, 10 or 40 times ``scale`` per cell, so
small nodes suppress nearly everything.  The groups: the nation, three
networks of three, two zorgkantoor regions and three provinces, all
overlapping.  Prints the time of the linked audit alone, its LPs, and how many
totals it withheld, by reason and for the nation.
"""

from __future__ import annotations

import argparse
import itertools
import time

import numpy as np

from protocol import Cube, MeasureDef, PublishedCube, protect, protect_linked

K = 10
DIMS = ("year", "sex", "age")
DOMAINS = [list(range(2014, 2024)), ["F", "M"], [f"a{i}" for i in range(7)]]
MEASURES = (MeasureDef("denominator"), MeasureDef("numerator", "count", parent="denominator"))


def main() -> None:
    """Build the nodes and groups, then time the linked audit."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    nodes = [f"n{i}" for i in range(9)]
    true: dict[str, Cube] = {}
    published: dict[str, PublishedCube] = {}
    for node in nodes:
        size = rng.choice([3, 10, 40]) * args.scale
        rows = []
        for key in itertools.product(*DOMAINS):
            den = int(rng.poisson(size * rng.uniform(0.2, 1.5)))
            num = int(rng.binomial(den, 0.3))
            rows.append({**dict(zip(DIMS, key, strict=True)), "denominator": den, "numerator": num})
        true[node] = Cube.from_finest(DIMS, MEASURES, rows)
        published[node] = PublishedCube.from_rows(DIMS, MEASURES, protect(true[node], K).rows())
    n = nodes
    groups = {
        ("national", "NL"): n,
        ("network", "A"): n[0:3],
        ("network", "B"): n[3:6],
        ("network", "C"): n[6:9],
        ("zorgkantoor", "Z1"): [n[0], n[1], n[3], n[4], n[6]],
        ("zorgkantoor", "Z2"): [n[2], n[5], n[7], n[8]],
        ("province", "P1"): [n[0], n[4], n[8]],
        ("province", "P2"): [n[1], n[5], n[6]],
        ("province", "P3"): [n[2], n[3], n[7]],
    }
    totals = {
        group: {
            key: {m.name: sum(true[x].cells[key][m.name] for x in members) for m in MEASURES}
            for key in true[n[0]].cells
        }
        for group, members in groups.items()
    }
    hidden = sum(
        v is None for c in published.values() for r in c.cells.values() for v in r.values()
    )
    start = time.perf_counter()
    result = protect_linked(published, groups, totals, K)
    seconds = time.perf_counter() - start
    national = result.totals[("national", "NL")]
    withheld = sum(v is None for r in national.values() for v in r.values())
    print(f"{len(nodes)} nodes x {len(true[n[0]].cells)} cells x 2 measures, {hidden} hidden")
    print(f"linked audit {seconds:.1f} s, {result.lps} LPs, {result.rounds} quick rounds")
    print(f"withheld {result.withheld}; national {withheld} of {2 * len(national)}")


if __name__ == "__main__":
    main()
