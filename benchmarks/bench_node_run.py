"""Benchmark: the 6 palliative specs in one `lhs node run` vs hand-written DuckDB SQL.

Run by hand (not a test):

    python benchmarks/bench_node_run.py --persons 1000000 --repeat 3
    python benchmarks/bench_node_run.py --scaling 100000 1000000 10000000

Both sides read the same Parquet files in place. Three commands race: `lhs node run` (query,
cube and disclosure control, the whole job), the lhs query alone (`fetch_finest`: the compiled SQL
that counts the finest cells) and the hand-written SQL (finest cells and every margin by CUBE).
Runs alternate (run, query, hand, run, ...), each in a fresh process, so each pays its own
start-up; wall time and peak RSS come from the operating system (wait4). Then the compiled
query and the hand SQL alternate inside one process, without start-up: the engine's own ratio.
Then where a run's time goes: Python starting and importing what `lhs node run` imports (a
fresh process), counting, the persons behind each cell, and protecting the six cubes on one
thread and side by side (medians of the repeats). With ``--areas``, last, the counting of
each named library area's specs beside the palliative ones (``--areas birth_care knee ckd
colorectal``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"

HAND_SQL = """
WITH
person AS (SELECT * FROM read_parquet('{d}/person.parquet')),
first_death AS (
  SELECT person_id, min(death_date) AS death_date
  FROM read_parquet('{d}/death.parquet') GROUP BY person_id),
visits AS (
  SELECT person_id, visit_concept_id, visit_start_date, visit_end_date
  FROM read_parquet('{d}/visit_occurrence.parquet')
  WHERE visit_end_date IS NULL OR visit_end_date >= visit_start_date),
drugs AS (
  SELECT person_id, drug_exposure_start_date AS start,
         upper(replace(drug_source_value, '.', '')) AS code
  FROM read_parquet('{d}/drug_exposure.parquet')),
cohort AS (
  SELECT p.person_id, d.death_date, year(d.death_date) AS year,
         CASE p.gender_concept_id WHEN 8507 THEN 'M' WHEN 8532 THEN 'F' ELSE 'U' END AS sex,
         year(d.death_date) - p.year_of_birth AS age
  FROM person p JOIN first_death d USING (person_id)
  WHERE year(d.death_date) >= p.year_of_birth
    AND p.person_id IN (
      SELECT c.person_id FROM read_parquet('{d}/condition_occurrence.parquet') c
      JOIN first_death d2 USING (person_id)
      WHERE substr(upper(replace(c.condition_source_value, '.', '')), 1, 3)
            BETWEEN 'C00' AND 'C97'
        AND c.condition_start_date <= d2.death_date)),
adm AS (SELECT DISTINCT c.person_id FROM cohort c JOIN visits v USING (person_id)
        WHERE v.visit_concept_id IN (9201, 262)
          AND v.visit_start_date BETWEEN c.death_date - 30 AND c.death_date),
ed AS (SELECT c.person_id FROM cohort c JOIN visits v USING (person_id)
       WHERE v.visit_concept_id IN (9203, 262)
         AND v.visit_start_date BETWEEN c.death_date - 30 AND c.death_date
       GROUP BY c.person_id HAVING count(*) >= 2),
icu AS (SELECT DISTINCT c.person_id FROM cohort c
        JOIN read_parquet('{d}/visit_detail.parquet') vd USING (person_id)
        WHERE vd.visit_detail_concept_id = 32037
          AND vd.visit_detail_start_date BETWEEN c.death_date - 30 AND c.death_date),
chemo AS (SELECT DISTINCT c.person_id FROM cohort c JOIN drugs g USING (person_id)
          WHERE g.code LIKE 'L01%' AND g.start BETWEEN c.death_date - 30 AND c.death_date),
opioid AS (SELECT DISTINCT c.person_id FROM cohort c JOIN drugs g USING (person_id)
           WHERE g.code LIKE 'N02A%' AND g.start BETWEEN c.death_date - 90 AND c.death_date),
dih AS (SELECT DISTINCT c.person_id FROM cohort c JOIN visits v USING (person_id)
        WHERE v.visit_concept_id IN (9201, 262) AND v.visit_start_date <= c.death_date
          AND (v.visit_end_date >= c.death_date OR v.visit_end_date IS NULL))
SELECT year, sex,
       CASE WHEN age <= 17 THEN '0-17' WHEN age <= 64 THEN '18-64' WHEN age <= 74 THEN '65-74'
            WHEN age <= 84 THEN '75-84' ELSE '85+' END AS age_band,
       count(*) AS denominator,
       count(adm.person_id) AS hospital_admission_last_30d,
       count(ed.person_id) AS ed_visits_2plus_last_30d,
       count(icu.person_id) AS icu_admission_last_30d,
       count(chemo.person_id) AS anticancer_therapy_last_30d,
       count(opioid.person_id) AS opioid_last_90d,
       count(dih.person_id) AS died_in_hospital
FROM cohort
LEFT JOIN adm USING (person_id) LEFT JOIN ed USING (person_id) LEFT JOIN icu USING (person_id)
LEFT JOIN chemo USING (person_id) LEFT JOIN opioid USING (person_id)
LEFT JOIN dih USING (person_id)
GROUP BY CUBE (year, sex, age_band)
"""

QUERY_SCRIPT = """
import json, sys
from protocol import load_spec
from queries import library_paths
from node.runner import fetch_finest
from node.sources import open_source
specs = [load_spec(p) for p in library_paths() if p.parent.name == "palliative"]
json.dump({k: v[0] for k, v in fetch_finest(specs, open_source(sys.argv[1])).items()},
          open(sys.argv[2], "w"), default=str)
"""

HAND_SCRIPT = """
import json, sys, duckdb
rows = duckdb.connect().execute(sys.argv[1]).fetchall()
json.dump([list(map(str, r)) for r in rows], open(sys.argv[2], "w"))
"""


def ensure_extract(persons: int) -> Path:
    """Generate (once) a Parquet extract of ``persons`` persons under benchmarks/data."""
    folder = DATA / f"p{persons}"
    # An extract written before the measurement and observation tables existed is written again.
    if not (folder / "measurement.parquet").exists():
        shutil.rmtree(folder, ignore_errors=True)
        started = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "lhs",
                "synth",
                "--persons",
                str(persons),
                "--seed",
                "1",
                "--out",
                str(folder),
                "--format",
                "parquet",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        print(f"generated {persons:,} persons in {time.perf_counter() - started:.1f}s", flush=True)
    return folder


def timed(cmd: list[str]) -> tuple[float, float]:
    """Run a command; return wall seconds and peak RSS in MiB."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stderr.read().decode()}")
    return elapsed, usage.ru_maxrss / 1024


def bench(persons: int, repeat: int) -> dict[str, float]:
    """Alternate lhs and the hand SQL on one extract; return medians."""
    folder = ensure_extract(persons)
    out = Path(tempfile.mkdtemp())
    lhs = [
        sys.executable,
        "-m",
        "lhs",
        "node",
        "run",
        "palliative",
        "--data",
        str(folder),
        "--out",
        str(out / "lhs.json"),
    ]
    query = [sys.executable, "-c", QUERY_SCRIPT, str(folder), str(out / "query.json")]
    hand = [sys.executable, "-c", HAND_SCRIPT, HAND_SQL.format(d=folder), str(out / "hand.json")]
    times: dict[str, list[float]] = {"lhs": [], "query": [], "hand": []}
    rss: dict[str, list[float]] = {"lhs": [], "query": [], "hand": []}
    for _ in range(repeat):
        for name, cmd in (("lhs", lhs), ("query", query), ("hand", hand)):
            t, m = timed(cmd)
            times[name].append(t)
            rss[name].append(m)
    result = {
        "persons": persons,
        "lhs_s": statistics.median(times["lhs"]),
        "query_s": statistics.median(times["query"]),
        "hand_s": statistics.median(times["hand"]),
        "lhs_rss_mib": max(rss["lhs"]),
        "hand_rss_mib": max(rss["hand"]),
    }
    result["ratio"] = result["lhs_s"] / result["hand_s"]
    result["query_ratio"] = result["query_s"] / result["hand_s"]
    check_same_totals(out / "lhs.json", out / "query.json", out / "hand.json")
    return result


def in_process(persons: int, repeat: int) -> tuple[float, float]:
    """Time the compiled lhs query and the hand SQL in one process, alternating; medians."""
    import duckdb

    from node.runner import fetch_finest
    from node.sources import open_source
    from protocol import load_spec
    from queries import library_paths

    folder = ensure_extract(persons)
    specs = [load_spec(p) for p in library_paths() if p.parent.name == "palliative"]
    sql = HAND_SQL.format(d=folder)
    lhs_times, hand_times = [], []
    for _ in range(repeat):
        started = time.perf_counter()
        fetch_finest(specs, open_source(str(folder)))
        lhs_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        duckdb.connect().execute(sql).fetchall()
        hand_times.append(time.perf_counter() - started)
    return statistics.median(lhs_times), statistics.median(hand_times)


def phases(persons: int, repeat: int) -> dict[str, float]:
    """Time the parts of a run: start-up, counting, persons, protection (1 and all threads)."""
    from unittest import mock

    from node.persons import fetch_persons
    from node.runner import _protect_all, effective_k, fetch_finest
    from node.sources import open_source
    from protocol import load_spec
    from queries import library_paths

    folder = ensure_extract(persons)
    specs = [load_spec(p) for p in library_paths() if p.parent.name == "palliative"]
    source = open_source(str(folder))
    ks = {spec.id: effective_k(spec) for spec in specs}
    startup = [sys.executable, "-c", "import lhs.cli, node.agent.cli, node.runner"]
    found: dict[str, list[float]] = {}

    def clock(name: str, work: Callable[..., Any], *args: Any) -> Any:
        started = time.perf_counter()
        out = work(*args)
        found.setdefault(name, []).append(time.perf_counter() - started)
        return out

    def protect_all(*args: Any) -> list:
        return list(_protect_all(*args))

    for _ in range(repeat):
        found.setdefault("start-up", []).append(timed(startup)[0])
        finest = clock("counting", fetch_finest, specs, source)
        counted = clock("persons", fetch_persons, specs, source)
        with mock.patch("node.runner.os.cpu_count", return_value=1):
            clock("protect, 1 thread", protect_all, specs, finest, ks, counted)
        clock("protect, threads", protect_all, specs, finest, ks, counted)
    return {name: statistics.median(times) for name, times in found.items()}


def counting(persons: int, repeat: int, areas: list[str]) -> dict[str, tuple[int, float]]:
    """Time counting each library area's specs in one process: (specs, median seconds)."""
    from node.runner import fetch_finest
    from node.sources import open_source
    from protocol import load_spec
    from queries import library_paths

    source = open_source(str(ensure_extract(persons)))
    out = {}
    for area in areas:
        specs = [load_spec(p) for p in library_paths() if p.parent.name == area]
        if not specs:
            raise SystemExit(f"no library area {area!r}")
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            fetch_finest(specs, source)
            times.append(time.perf_counter() - started)
        out[area] = (len(specs), statistics.median(times))
    return out


def check_same_totals(lhs_file: Path, query_file: Path, hand_file: Path) -> None:
    """Check both sides count the same national totals, so the race is fair."""
    lhs = json.loads(lhs_file.read_text())
    finest = json.loads(query_file.read_text())
    hand = json.loads(hand_file.read_text())
    total = next(r for r in hand if r[0] == "None" and r[1] == "None" and r[2] == "None")
    names = [
        "hospital_admission_last_30d",
        "ed_visits_2plus_last_30d",
        "icu_admission_last_30d",
        "anticancer_therapy_last_30d",
        "opioid_last_90d",
        "died_in_hospital",
    ]
    for i, name in enumerate(names):
        counted = (
            sum(c["denominator"] for c in finest[name]),
            sum(c["numerator"] for c in finest[name]),
        )
        if counted != (int(total[3]), int(total[4 + i])):
            raise SystemExit(f"{name}: lhs counts {counted}, hand-written SQL {total}")
        cell = next(
            c
            for c in lhs[name]["cells"]
            if c["year"] is None and c["sex"] is None and c["age_band"] is None
        )
        for published, exact in zip((cell["denominator"], cell["numerator"]), counted, strict=True):
            if published is not None and published != exact:
                raise SystemExit(f"{name}: published total {published} is not {exact}")


def main() -> None:
    """Run the benchmark and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--scaling", type=int, nargs="*", help="several sizes, one row each")
    parser.add_argument(
        "--areas", nargs="*", default=[], help="also time counting these library areas' specs"
    )
    args = parser.parse_args()
    os.chdir(HERE.parent)
    sizes = args.scaling or [args.persons]
    print(
        f"{'persons':>11} {'run s':>7} {'query s':>8} {'hand s':>7} {'query/hand':>10}"
        f" {'run/hand':>8} {'run MiB':>8} {'hand MiB':>9} {'in-process lhs/hand':>22}"
    )
    for n in sizes:
        r = bench(n, args.repeat)
        lhs_sql, hand_sql = in_process(n, args.repeat)
        print(
            f"{n:>11,} {r['lhs_s']:>7.2f} {r['query_s']:>8.2f} {r['hand_s']:>7.2f}"
            f" {r['query_ratio']:>10.2f} {r['ratio']:>8.2f}"
            f" {r['lhs_rss_mib']:>8.0f} {r['hand_rss_mib']:>9.0f}"
            f" {lhs_sql:>7.2f}/{hand_sql:.2f}={lhs_sql / hand_sql:.2f}",
            flush=True,
        )
    print(f"\nwhere a run's time goes (seconds; {os.cpu_count()} cores):")
    for n in sizes:
        parts = phases(n, args.repeat)
        print(f"{n:>11,} " + ", ".join(f"{name} {s:.2f}" for name, s in parts.items()), flush=True)
    if args.areas:
        print("\ncounting each area's specs in one process (seconds, median):")
        for n in sizes:
            timed_areas = counting(n, args.repeat, ["palliative", *args.areas])
            cells = (f"{area} ({k} specs) {s:.2f}" for area, (k, s) in timed_areas.items())
            print(f"{n:>11,} " + ", ".join(cells), flush=True)


if __name__ == "__main__":
    main()
