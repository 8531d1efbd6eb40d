"""Benchmark: rounds' group tables protected jointly, as the number of providers grows.

Run by hand (not a test), from the repository root:

    python -m benchmarks.round_scale                                  # 9, 30, 100, 300 nodes
    python -m benchmarks.round_scale --nodes 9 30 --seed 1 --years 6 --specs 1
    python -m benchmarks.round_scale --nodes 100 300 --timeout-per-size 600 900

Each size simulates ``--specs`` rounds (default nine, as many as the library's palliative and
hip-fracture specs), one after the other, each of a palliative-style spec with data of its own
(denominator: decedents; numerator: a share of them, 20-40% per provider) over ``--years``
years, by sex (F, M, U; U rare) and age band (0-17 rare), for providers of mixed size: a few
large hospitals, more nursing homes, most of them GP practices (lognormal decedents a year).
Providers are dealt to palliative networks (at least 3 each, ~65 at 300 nodes), networks to
zorgkantoor regions (~31) and regions to provinces (12), fewer at smaller sizes; groups of fewer
than ``MIN_MEMBERS`` would be dropped. At small sizes some groups have the same members (at 9
nodes the one region and the one province are the nation), as in the demo (npz-groningen, ZK01
and GR). Each provider's exact cube comes from ``Cube.from_finest`` and its headline from
``protect_headline``; every group's table sums its members' shown cells (the overall value and
each one-way breakdown), and ``protect_shown_tables`` protects them all with k = 10, as
publishing does. Deterministic for a seed.

Each size runs in a subprocess of its own with a timeout (``--timeout-per-size``: one per size,
the last one repeated); a size that does not finish is reported as such and the larger sizes
after it are skipped (they only take longer). Columns: nodes; groups per level
(national/network/zorgkantoor/province); shown cells per group (keys x count measures); unknowns
of the attacker's system (every member's and group's shown counts); seconds to build the inputs
and to protect (all rounds, and the slowest round); LPs; rounds of withholding; whether the year
rows are shown (no: the tables fell back to no year rows); per level the share of group counts
whose true value is at least k that are published exactly; the process's peak memory; the values
withheld by reason. Published values are checked against the primary rule (no count and no
complement of a published numerator in 1..k-1).
"""

from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import queue
import resource
import time
import traceback

import numpy as np

from protocol import (
    AGE_BANDS,
    MIN_MEMBERS,
    SEXES,
    Cube,
    MeasureDef,
    protect_headline,
    protect_shown_tables,
    shown_keys,
)

K = 10
LEVELS = ("national", "network", "zorgkantoor", "province")
CAPS = {"network": 65, "zorgkantoor": 31, "province": 12}
"""Areas at 300 nodes (and at most); fewer in proportion below."""
DIMENSIONS = ("year", "sex", "age_band")
MEASURES = (MeasureDef("denominator"), MeasureDef("numerator", "count", parent="denominator"))
SEX_SHARE = {"F": 0.51, "M": 0.485, "U": 0.005}
BAND_SHARE = {"0-17": 0.005, "18-64": 0.14, "65-74": 0.17, "75-84": 0.29, "85+": 0.395}
KINDS = (("hospital", 0.08, 250.0, 0.5), ("nursing home", 0.32, 40.0, 0.6), ("gp", 0.6, 12.0, 0.6))
"""Kind of provider, share of providers, median decedents a year, lognormal sigma."""
FIRST_YEAR = 2019


def finest_rows(rng: np.random.Generator, n: int, years: list[int]) -> list[list[dict]]:
    """Return each provider's finest cells: decedents and numerator by year, sex, age band."""
    kinds = []
    for i, (_, share, median, sigma) in enumerate(KINDS):
        many = n - len(kinds) if i == len(KINDS) - 1 else max(int(i == 0), round(share * n))
        kinds += [(median, sigma)] * many
    cells = [(s, b) for s in SEXES for b, _, _ in AGE_BANDS]
    probs = np.array([SEX_SHARE[s] * BAND_SHARE[b] for s, b in cells])
    out = []
    for median, sigma in kinds:
        size, share = rng.lognormal(math.log(median), sigma), rng.uniform(0.2, 0.4)
        rows = []
        for year in years:
            split = rng.multinomial(rng.poisson(size), probs / probs.sum())
            for (sex, band), den in zip(cells, split, strict=True):
                num = int(rng.binomial(den, share))
                cell = {"year": year, "sex": sex, "age_band": band}
                rows.append({**cell, "denominator": int(den), "numerator": num})
        out.append(rows)
    return out


def deal(rng: np.random.Generator, items: int, bins: int) -> list[int]:
    """Return a bin for each item: each bin gets MIN_MEMBERS items first, the rest at random
    (with fewer than that many items per bin, every bin still gets at least one)."""
    order = rng.permutation(items)
    out = [0] * items
    for i, item in enumerate(order):
        out[item] = i % bins if i < bins * MIN_MEMBERS else int(rng.integers(bins))
    return out


def area_groups(rng: np.random.Generator, nodes: list[str]) -> dict[tuple[str, str], list[str]]:
    """Return the groups (nation, networks, zorgkantoor regions, provinces) and their members."""
    n = len(nodes)
    scaled = {lv: max(1, min(cap, round(cap * n / 300))) for lv, cap in CAPS.items()}
    networks = min(scaled["network"], n // MIN_MEMBERS)
    regions = min(scaled["zorgkantoor"], networks)
    provinces = min(scaled["province"], regions)
    network = deal(rng, n, networks)
    region = deal(rng, networks, regions)  # nested: a network lies in one region,
    province = deal(rng, regions, provinces)  # a region in one province
    members: dict[tuple[str, str], list[str]] = {}
    for node, net in zip(nodes, network, strict=True):
        for group in (
            ("national", "NL"),
            ("network", f"N{net:02}"),
            ("zorgkantoor", f"ZK{region[net]:02}"),
            ("province", f"P{province[region[net]]:02}"),
        ):
            members.setdefault(group, []).append(node)
    return {group: nodes for group, nodes in members.items() if len(nodes) >= MIN_MEMBERS}


def simulate(n: int, seed: int, years: int, specs: int = 1) -> dict:
    """Build ``specs`` rounds of ``n`` providers, protect each round's group tables; return
    the figures summed over the rounds (time, LPs, withheld, shares) and the slowest round."""
    rng = np.random.default_rng([seed, n])
    nodes = [f"p{i:03}" for i in range(n)]
    groups = area_groups(rng, nodes)
    domains = {
        "year": list(range(FIRST_YEAR, FIRST_YEAR + years)),
        "sex": list(SEXES),
        "age_band": [b for b, _, _ in AGE_BANDS],
    }
    keys = shown_keys(DIMENSIONS, domains)
    total = {"built": 0.0, "seconds": 0.0, "slowest": 0.0, "lps": 0, "rounds": 0, "years": True}
    shares = {level: [0, 0] for level in LEVELS}
    withheld: dict[str, int] = {}
    for spec in range(specs):
        started = time.perf_counter()
        data = np.random.default_rng([seed, n, spec])
        exact, headlines = _round(data, nodes, groups, domains, keys)
        total["built"] += time.perf_counter() - started
        started = time.perf_counter()
        result = protect_shown_tables(exact, groups, DIMENSIONS, MEASURES, K, headlines)
        seconds = time.perf_counter() - started
        total["seconds"] += seconds
        total["slowest"] = max(total["slowest"], seconds)
        total["lps"] += result.lps
        total["rounds"] += result.rounds
        total["years"] &= any(key[0] is not None for key in next(iter(result.published.values())))
        for reason, count in result.withheld.items():
            withheld[reason] = withheld.get(reason, 0) + count
        for level, (exact_count, of) in _check(exact, result.published).items():
            shares[level][0] += exact_count
            shares[level][1] += of
    names = [m.name for m in MEASURES]
    return {
        "nodes": n,
        "specs": specs,
        "groups": [sum(g[0] == level for g in groups) for level in LEVELS],
        "cells": len(keys) * len(names),
        "unknowns": (n + len(groups)) * len(keys) * len(names),
        **total,
        "shares": shares,
        "withheld": withheld,
        "memory": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _round(
    rng: np.random.Generator, nodes: list[str], groups: dict, domains: dict, keys: list
) -> tuple[dict, dict]:
    """Return one round's exact group tables and every provider's headline."""
    tables, headlines = {}, {}
    for node, rows in zip(nodes, finest_rows(rng, len(nodes), domains["year"]), strict=True):
        cube = Cube.from_finest(DIMENSIONS, MEASURES, rows, domains)
        tables[node] = {key: cube.cells[key] for key in keys}
        headlines[node] = protect_headline(cube, K)[0]
    names = [m.name for m in MEASURES]
    exact = {
        group: {key: {m: sum(tables[n][key][m] for n in members) for m in names} for key in keys}
        for group, members in groups.items()
    }
    return exact, headlines


def _check(exact: dict, published: dict) -> dict[str, list[int]]:
    """Check what a round publishes (exact where shown, no small count or complement) and
    return per level the counts of at least k published exactly, and of them all."""
    names = [m.name for m in MEASURES]
    shares = {level: [0, 0] for level in LEVELS}
    for group, table in exact.items():
        shown = published[group]
        for key, values in table.items():
            got = shown.get(key, dict.fromkeys(names))
            for name in names:
                value = got[name]
                assert value is None or value == values[name], (group, key, name)
                assert value is None or not 0 < value < K, (group, key, name, value)
                if values[name] >= K:
                    shares[group[0]][0] += value is not None
                    shares[group[0]][1] += 1
            if got["numerator"] is not None and got["denominator"] is not None:
                assert not 0 < got["denominator"] - got["numerator"] < K, (group, key)
    return shares


def _worker(n: int, seed: int, years: int, specs: int, out: mp.Queue) -> None:
    try:
        out.put(simulate(n, seed, years, specs))
    except BaseException:
        out.put({"nodes": n, "error": traceback.format_exc()})


def run(n: int, seed: int, years: int, specs: int, timeout: float) -> dict | None:
    """Run one size in a subprocess; None when it did not finish within ``timeout`` seconds."""
    context = mp.get_context("spawn")
    out = context.Queue()
    process = context.Process(target=_worker, args=(n, seed, years, specs, out), daemon=True)
    process.start()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            try:
                return out.get(timeout=min(1.0, max(0.01, deadline - time.monotonic())))
            except queue.Empty:
                if not process.is_alive() and out.empty():
                    return {"nodes": n, "error": f"exit code {process.exitcode}"}
        return None
    finally:
        if process.is_alive():
            process.terminate()
        process.join()


HEADER = (
    f"{'nodes':>5} {'groups':>11} {'cells':>5} {'unknowns':>8} {'build s':>7} {'prot s':>7}"
    f" {'slowest':>7}"
    f" {'LPs':>6} {'rnds':>4} {'years':>5}"
    + "".join(f" {level:>18}" for level in LEVELS)
    + f" {'MB':>5}  withheld"
)


def row(figures: dict) -> str:
    """Format one size's figures as a table row."""
    shares = "".join(
        f" {f'{d}/{o} {d / o:.1%}' if o else '-':>18}" for d, o in figures["shares"].values()
    )
    withheld = ", ".join(f"{r} {c}" for r, c in sorted(figures["withheld"].items()))
    return (
        f"{figures['nodes']:>5} {'/'.join(map(str, figures['groups'])):>11}"
        f" {figures['cells']:>5} {figures['unknowns']:>8} {figures['built']:>7.1f}"
        f" {figures['seconds']:>7.1f} {figures['slowest']:>7.1f} {figures['lps']:>6}"
        f" {figures['rounds']:>4}"
        f" {'yes' if figures['years'] else 'no':>5}{shares} {figures['memory']:>5.0f}  {withheld}"
    )


def main() -> None:
    """Run every size and print a row each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, nargs="+", default=[9, 30, 100, 300])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--years", type=int, default=6)
    parser.add_argument(
        "--specs", type=int, default=9, help="Rounds per size (each its own data), one by one."
    )
    parser.add_argument(
        "--timeout-per-size",
        type=float,
        nargs="+",
        default=[600.0],
        help="Seconds per size, in the order of --nodes; the last is repeated.",
    )
    args = parser.parse_args()
    print(f"k = {K}, seed {args.seed}, {args.years} years, {args.specs} specs", flush=True)
    print(HEADER, flush=True)
    started = time.perf_counter()
    for i, n in enumerate(args.nodes):
        timeout = args.timeout_per_size[min(i, len(args.timeout_per_size) - 1)]
        figures = run(n, args.seed, args.years, args.specs, timeout)
        if figures is None:
            print(f"{n:>5} did not finish in {timeout:.0f} s", flush=True)
            for skipped in args.nodes[i + 1 :]:
                print(f"{skipped:>5} skipped (a smaller size did not finish)", flush=True)
            break
        if "error" in figures:
            print(f"{n:>5} failed:\n{figures['error']}", flush=True)
            continue
        print(row(figures), flush=True)
    print(f"wall time {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
