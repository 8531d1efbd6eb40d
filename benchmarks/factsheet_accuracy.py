"""Benchmark: how many factsheet counts are exact, checked against a hand computation.

Run by hand (not a test), after ``lhs demo --workdir WORKDIR``:

    python -m benchmarks.factsheet_accuracy WORKDIR     # from the repository root

For every factsheet page the demo wrote (every level and area), every indicator and every
number (the overall value and each one-way breakdown), it computes the true value by hand
from the member nodes' extracts (``tests/reference.py``, written from the contract alone)
and checks the page: an exact number must equal it, a range must hold it.  Prints, per level
and per indicator, the share of counts (not sums of days) whose true value is at least k
that are exact, and
fails (exit 1) on any number that is wrong.

It also prints a ceiling for the national page: the fewest counts of at least k that any
publication of these group tables must withhold beside these headlines.  The primary rules
withhold a group value of 1..k-1, and a numerator whose denominator or complement is 1..k-1.
In a one-way breakdown whose primary-withheld values add up to less than k, publishing every
other value and the overall value would pin them (the overall minus the rest), so one more
count of at least k must go: in that breakdown, or the overall value, which serves every
breakdown of the measure, unless the overall value is the sum of published headlines anyway.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import pandas as pd

from demo.world import NETWORKS, PROVIDERS
from protocol import DIMENSIONS, load_spec, measure_defs
from queries import library_paths
from tests.reference import load_extract, reference

SEX = {"female": "F", "male": "M", "unknown": "U"}
LEVELS = ("national", "network", "zorgkantoor", "province")


def members(level: str, area: str) -> list[str]:
    """Return the demo's nodes in an area."""
    areas = {
        code: {"network": code, "zorgkantoor": zk, "province": pr} for code, _, zk, pr in NETWORKS
    }
    return [p.node_id for p in PROVIDERS if level == "national" or areas[p.network][level] == area]


class Hand:
    """Each node's hand-computed cube of an indicator, computed once."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.extracts: dict[str, dict] = {}
        self.cubes: dict[tuple[str, str], pd.DataFrame] = {}

    def cube(self, node: str, indicator: str) -> pd.DataFrame:
        if (node, indicator) not in self.cubes:
            if node not in self.extracts:
                self.extracts[node] = load_extract(self.workdir / "nodes" / node / "extract")
            self.cubes[(node, indicator)] = reference(self.extracts[node], indicator)
        return self.cubes[(node, indicator)]

    def total(self, indicator: str, nodes: list[str]) -> pd.DataFrame:
        frames = [self.cube(n, indicator) for n in nodes]
        dims = [c for c in frames[0].columns if c in DIMENSIONS]
        return pd.concat(frames).groupby(dims, as_index=False).sum()


def rows(found: dict, hand: pd.DataFrame):
    """Yield (row label, counts, hand part) for the overall row and every breakdown row."""
    yield "All", found["overall"]["counts"], hand
    for breakdown in found["breakdowns"]:
        dim = breakdown["dimension"]
        for row in breakdown["rows"]:
            label = SEX.get(row["label"], row["label"]) if dim == "sex" else row["label"]
            yield f"{dim}={label}", row["counts"], hand[hand[dim].astype(str) == label]


def check(value: dict, truth: int) -> str | None:
    """Return a problem if a shown count does not hold the truth."""
    if value["status"] == "exact" and value["value"] != truth:
        return f"exact {value['value']} but the truth is {truth}"
    if value["status"] == "incomplete":
        high = value["high"] if value["high"] is not None else float("inf")
        if not value["low"] <= truth <= high:
            return f"range {value['low']}-{value['high']} misses the truth {truth}"
    return None


def national_ceiling(workdir: Path, hand: Hand, counts_of: dict) -> tuple[int, int]:
    """Return (the fewest national counts >= k any protection must withhold, the counts >= k)."""
    sheet = json.loads((workdir / "factsheets" / "national" / "NL.json").read_text())
    lost = of = 0
    for found in sheet["indicators"]:
        k, indicator = found["min_cell"], found["id"]
        truth = hand.total(indicator, members("national", "NL"))
        bench = json.loads((workdir / "factsheets" / "benchmark" / f"{indicator}.json").read_text())
        parents = {m.name: m.parent for m in measure_defs(load_spec(_path(indicator)))}
        for name in counts_of[indicator]:
            if name not in found["overall"]["counts"]:
                continue  # a count this page does not show (e.g. beside a mean) loses nothing
            public_top = all(
                p["counts"].get(name, {}).get("status") == "exact" for p in bench["providers"]
            )
            needy = 0
            for _label, _, part in rows(found, truth):
                value = int(part[name].sum())
                of += value >= k
                parent = parents[name] and int(part[parents[name]].sum())
                lost += value >= k and bool(parent) and (0 < parent < k or 0 < parent - value < k)
            for breakdown in found["breakdowns"]:
                dim = breakdown["dimension"]
                held = []
                for row in breakdown["rows"]:
                    label = SEX.get(row["label"], row["label"]) if dim == "sex" else row["label"]
                    part = truth[truth[dim].astype(str) == label]
                    value = int(part[name].sum())
                    parent = parents[name] and int(part[parents[name]].sum())
                    small = 0 < value < k or (parent and (0 < parent < k or 0 < parent - value < k))
                    held += [value] if small else []
                needy += bool(held) and sum(held) < k
            lost += needy if public_top else min(needy, 1)
    return lost, of


def _path(indicator: str) -> Path:
    return next(p for p in library_paths() if p.stem == indicator)


def main() -> int:
    """Check every page against the hand computation and print the exact shares."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdir", type=Path)
    args = parser.parse_args()
    hand = Hand(args.workdir)
    counts_of = {}
    for path in library_paths():
        spec = load_spec(path)
        counts_of[spec.id] = {m.name for m in measure_defs(spec) if m.kind == "count"}
    tally: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    statuses: dict[str, int] = defaultdict(int)
    problems = []
    for page in sorted((args.workdir / "factsheets").glob("*/*.json")):
        sheet = json.loads(page.read_text())
        if sheet.get("kind") != "factsheet":
            continue
        nodes = members(sheet["level"], sheet["area"])
        for found in sheet["indicators"]:
            if found["withheld"]:
                continue
            k = found["min_cell"]
            truth = hand.total(found["id"], nodes)
            for label, counts, part in rows(found, truth):
                for name, value in counts.items():
                    true = int(part[name].sum())
                    problem = check(value, true)
                    if problem:
                        problems.append(f"{page.name} {found['id']} {label} {name}: {problem}")
                    if true >= k and name in counts_of[found["id"]]:
                        statuses[value["status"]] += 1
                        cell = tally[(sheet["level"], found["id"])]
                        cell[0] += value["status"] == "exact"
                        cell[1] += 1
    indicators = sorted({i for _, i in tally})
    print(f"{'indicator':36}" + "".join(f"{level:>16}" for level in LEVELS))
    for indicator in [*indicators, "all"]:
        line = f"{indicator:36}"
        for level in LEVELS:
            done = sum(
                t[0] for (lv, i), t in tally.items() if lv == level and indicator in (i, "all")
            )
            of = sum(
                t[1] for (lv, i), t in tally.items() if lv == level and indicator in (i, "all")
            )
            line += f"{f'{done}/{of} {done / of:.1%}' if of else '-':>16}"
        print(line)
    print("counts >= k by status:", dict(statuses))
    lost, of = national_ceiling(args.workdir, hand, counts_of)
    print(
        f"national ceiling: at least {lost} of {of} counts >= k must be withheld,"
        f" at most {(of - lost) / of:.1%} exact"
    )
    for problem in problems:
        print("WRONG:", problem, file=sys.stderr)
    print(f"{len(problems)} number(s) disagree with the hand computation")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
