"""Synthetic OMOP extracts: end-of-life and hip-fracture patterns, edge cases, a provider effect.

Everything is drawn with numpy in whole arrays and written with pyarrow, so a
million persons take seconds.  The same seed gives the same extract.  Edge
cases of the contract are planted on purpose (window boundaries, events after
death, dotted/undotted/lower-case codes, decoy codes, deaths before birth,
visits that end before they start) so that tests exercise every rule.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import click
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

__all__ = ["generate", "synth_command"]

EPOCH = np.datetime64("1970-01-01", "D")
START = int((np.datetime64("2015-01-01", "D") - EPOCH).astype(int))
END = int((np.datetime64("2024-12-31", "D") - EPOCH).astype(int))

CANCER = [
    "C34.1",
    "C341",
    "c34.1",
    "C18.7",
    "C50.9",
    "C50.4",
    "C61",
    "C25.0",
    "C16.9",
    "C00.0",
    "C97",
    "C91.1",
    "C71.9",
    "C79.5",
]
DECOY_CONDITIONS = [
    "C98",
    "C7A",
    "D00.0",
    "CC34",
    "I10",
    "E11.9",
    "J44.1",
    "I50.9",
    "F03",
    "N18.3",
    "X34C",
]
ANTICANCER = ["L01XC02", "L01BC06", "L01XE01", "l01.ca04", "L01AA01"]
OPIOIDS = ["N02AA01", "N02AB03", "N02AE01", "n02a.a05", "N02AX02"]
DECOY_DRUGS = ["N02BE01", "L10", "L1", "M05A", "A10BA02", "C09AA05", "XL01", "B01AC06"]
OSTEOPOROSIS = ["M05BA04", "M05BA07", "M05B.A08", "m05bx04"]
HIP = ["S72.00", "S7200", "s72.0", "S72.10", "S721", "S72.21", "S722"]
HIP_DECOYS = ["S72.3", "S72", "S73.0", "T84.0"]
PROCEDURES = ["0SR9019", "5A1955Z", "BW28ZZZ", "3E0336Z"]

TABLE_COLUMNS = {
    "person": ["person_id", "gender_concept_id", "year_of_birth", "race_concept_id"],
    "death": ["person_id", "death_date", "death_type_concept_id"],
    "visit_occurrence": [
        "visit_occurrence_id",
        "person_id",
        "visit_concept_id",
        "visit_start_date",
        "visit_end_date",
        "visit_type_concept_id",
    ],
    "visit_detail": [
        "visit_detail_id",
        "person_id",
        "visit_detail_concept_id",
        "visit_detail_start_date",
        "visit_occurrence_id",
    ],
    "condition_occurrence": [
        "condition_occurrence_id",
        "person_id",
        "condition_start_date",
        "condition_source_value",
        "condition_concept_id",
        "visit_occurrence_id",
    ],
    "drug_exposure": [
        "drug_exposure_id",
        "person_id",
        "drug_exposure_start_date",
        "drug_source_value",
        "drug_concept_id",
    ],
    "procedure_occurrence": [
        "procedure_occurrence_id",
        "person_id",
        "procedure_date",
        "procedure_source_value",
        "procedure_concept_id",
    ],
    "observation_period": [
        "observation_period_id",
        "person_id",
        "observation_period_start_date",
        "observation_period_end_date",
    ],
}


@dataclass
class _Events:
    """Columns of one table, gathered as arrays and concatenated once."""

    parts: dict[str, list[np.ndarray]] = field(default_factory=dict)

    def add(self, **columns: np.ndarray) -> None:
        n = len(next(iter(columns.values())))
        for name, values in columns.items():
            values = np.asarray(values)
            if values.ndim == 0:
                values = np.full(n, values)
            self.parts.setdefault(name, []).append(values)

    def column(self, name: str) -> np.ndarray:
        return np.concatenate(self.parts[name]) if name in self.parts else np.array([])


def _pick(rng: np.random.Generator, values: list[str], n: int) -> np.ndarray:
    return np.array(values, dtype=object)[rng.integers(0, len(values), n)]


def _rate(p: float, effect: float) -> float:
    return float(min(0.95, max(0.0, p * effect)))


def _offset(rng: np.random.Generator, n: int, low: int, high: int, edges: list[int]) -> np.ndarray:
    """Days in [low, high], with about 3% set exactly to the given boundary values.

    The first entries take each boundary value once, so that even a small group
    (a few hip fractures in a small extract) has every boundary.
    """
    days = rng.integers(low, high + 1, n)
    if edges:
        hit = rng.random(n) < 0.03
        days[hit] = np.array(edges)[rng.integers(0, len(edges), hit.sum())]
        first = min(n, len(edges))
        days[:first] = edges[:first]
    return days


def _simulate(persons: int, rng: np.random.Generator, effect: float) -> dict[str, _Events]:
    t = {name: _Events() for name in TABLE_COLUMNS}
    ids = np.arange(1, persons + 1, dtype=np.int64)
    age_weights = np.concatenate(
        [np.full(18, 1.0), np.full(47, 1.3), np.full(10, 1.1), np.full(10, 0.8), np.full(16, 0.35)]
    )
    age = rng.choice(101, persons, p=age_weights / age_weights.sum())
    yob = 2024 - age
    sex = rng.choice(np.array([8507, 8532, 0, 8551]), persons, p=[0.49, 0.5, 0.007, 0.003])
    t["person"].add(
        person_id=ids,
        gender_concept_id=sex,
        year_of_birth=yob,
        race_concept_id=np.full(persons, 8527),
    )

    # Deaths in 2015-2024, mostly among the old.
    p_die = np.select([age < 50, age < 65, age < 75, age < 85], [0.01, 0.05, 0.12, 0.25], 0.45)
    dies = rng.random(persons) < p_die
    death = np.full(persons, -1, dtype=np.int64)
    birth_day = ((yob - 1970) * 365.25).astype(np.int64)
    death[dies] = np.maximum(rng.integers(START, END + 1, dies.sum()), birth_day[dies] + 1)
    invalid = dies & (rng.random(persons) < 0.004)  # dies before the year of birth
    death[invalid] = (yob[invalid] - 1 - rng.integers(0, 5, invalid.sum()) - 1970) * 365.25
    dead = np.flatnonzero(dies)

    visit_id = [0]
    # The helpers below take 0-based person indices; person_id is index + 1.

    def visits(
        pids: np.ndarray, concept: np.ndarray, start: np.ndarray, end: np.ndarray
    ) -> np.ndarray:
        vid = np.arange(visit_id[0] + 1, visit_id[0] + 1 + len(pids), dtype=np.int64)
        visit_id[0] += len(pids)
        t["visit_occurrence"].add(
            visit_occurrence_id=vid,
            person_id=pids + 1,
            visit_concept_id=concept,
            visit_start_date=start,
            visit_end_date=end,
            visit_type_concept_id=32817,
        )
        return vid

    def conditions(pids, day, codes, vid=None) -> None:
        t["condition_occurrence"].add(
            person_id=pids + 1,
            condition_start_date=day,
            condition_source_value=codes,
            condition_concept_id=0,
            visit_occurrence_id=(np.full(len(pids), -1) if vid is None else vid),
        )

    def drugs(pids, day, codes) -> None:
        t["drug_exposure"].add(
            person_id=pids + 1,
            drug_exposure_start_date=day,
            drug_source_value=codes,
            drug_concept_id=0,
        )

    # Cancer among decedents, diagnosed months to years before death.
    cancer = dead[rng.random(len(dead)) < 0.36]
    d = death[cancer]
    conditions(cancer, d - _offset(rng, len(cancer), 0, 1500, [0]), _pick(rng, CANCER, len(cancer)))
    late = dead[rng.random(len(dead)) < 0.01]  # diagnosed after death: not in the cohort
    conditions(late, death[late] + rng.integers(1, 30, len(late)), _pick(rng, CANCER, len(late)))

    def among(p: float) -> np.ndarray:
        return cancer[rng.random(len(cancer)) < _rate(p, effect)]

    # Hospital admissions in the last 30 days (boundaries 30 and 31 planted).
    adm = among(0.22)
    start = death[adm] - _offset(rng, len(adm), 0, 30, [30, 31, 0])
    end = np.minimum(start + rng.integers(1, 10, len(adm)), death[adm] - 1)
    end = np.where(end < start, start, end)
    visits(adm, rng.choice(np.array([9201, 262]), len(adm), p=[0.8, 0.2]), start, end)
    # Died in hospital: a stay spanning the date of death, some without a discharge date.
    dih = among(0.22)
    start = death[dih] - rng.integers(0, 20, len(dih))
    end = death[dih] + rng.choice(np.array([0, 0, 0, 1, -1]), len(dih))
    end = np.where(rng.random(len(dih)) < 0.3, -1, end)
    visits(dih, rng.choice(np.array([9201, 262]), len(dih), p=[0.85, 0.15]), start, end)
    # Emergency department visits, one to three.
    ed = among(0.25)
    for repeat in range(3):
        who = ed if repeat == 0 else ed[rng.random(len(ed)) < 0.45]
        day = death[who] - _offset(rng, len(who), 0, 40, [30, 31])
        visits(who, rng.choice(np.array([9203, 262]), len(who), p=[0.85, 0.15]), day, day)
    # Intensive care, as a visit detail of an inpatient visit.
    icu = among(0.06)
    day = death[icu] - _offset(rng, len(icu), 0, 40, [30, 31, 0])
    vid = visits(icu, np.full(len(icu), 9201), day, day + 2)
    t["visit_detail"].add(
        visit_detail_id=vid + 10_000_000,
        person_id=icu + 1,
        visit_detail_concept_id=32037,
        visit_detail_start_date=day,
        visit_occurrence_id=vid,
    )
    # Anticancer drugs and opioids near the end of life.
    chemo = among(0.12)
    drugs(
        chemo,
        death[chemo] - _offset(rng, len(chemo), 0, 45, [30, 31]),
        _pick(rng, ANTICANCER, len(chemo)),
    )
    opioid = among(0.6)
    drugs(
        opioid,
        death[opioid] - _offset(rng, len(opioid), 0, 120, [90, 91, 0]),
        _pick(rng, OPIOIDS, len(opioid)),
    )
    # Data errors: events after death, visits that end before they start.
    after = cancer[rng.random(len(cancer)) < 0.02]
    visits(
        after,
        np.full(len(after), 9201),
        death[after] + rng.integers(1, 20, len(after)),
        death[after] + 25,
    )
    drugs(after, death[after] + rng.integers(1, 10, len(after)), _pick(rng, ANTICANCER, len(after)))
    backwards = cancer[rng.random(len(cancer)) < 0.01]
    day = death[backwards] - rng.integers(1, 20, len(backwards))
    visits(backwards, np.full(len(backwards), 9201), day, day - rng.integers(1, 5, len(backwards)))

    # Hip fractures among the old who have not died, aged 64+ at admission.
    old = np.flatnonzero((age >= 66) & ~dies)
    hip = old[rng.random(len(old)) < 0.012]
    years = np.maximum(2015, yob[hip] + rng.choice(np.array([64, 65, 70, 80]), len(hip)))
    years = np.minimum(years, 2024)
    start = ((years - 1970) * 365.25).astype(np.int64) + rng.integers(0, 360, len(hip))
    start = np.clip(start, START, END - 40)
    los = rng.integers(3, 21, len(hip))
    end = np.where(rng.random(len(hip)) < 0.04, -1, start + los)
    vid = visits(hip, rng.choice(np.array([9201, 262]), len(hip), p=[0.85, 0.15]), start, end)
    conditions(hip, start, _pick(rng, HIP, len(hip)), vid)
    decoy = hip[rng.random(len(hip)) < 0.1]
    dstart = np.clip(start[: len(decoy)], START, END)
    dvid = visits(decoy, np.full(len(decoy), 9201), dstart, dstart + 5)
    conditions(decoy, dstart, _pick(rng, HIP_DECOYS, len(decoy)), dvid)
    dies_after = rng.random(len(hip)) < _rate(0.08, effect)
    death[hip[dies_after]] = start[dies_after] + _offset(rng, dies_after.sum(), 0, 30, [30, 31])
    treated = (rng.random(len(hip)) < _rate(0.2, effect)) & (end >= 0)
    drugs(
        hip[treated],
        end[treated] + _offset(rng, treated.sum(), 1, 90, [0, 90, 91]),
        _pick(rng, OSTEOPOROSIS, treated.sum()),
    )

    # Background: outpatient care, other diagnoses and drugs, procedures, orphans.
    some = np.flatnonzero(rng.random(persons) < 0.8)
    day = rng.integers(START, END, len(some))
    vid = visits(some, np.full(len(some), 9202), day, day)
    conditions(some, day, _pick(rng, DECOY_CONDITIONS, len(some)), vid)
    drugs(some, day, _pick(rng, DECOY_DRUGS, len(some)))
    proc = some[rng.random(len(some)) < 0.3]
    t["procedure_occurrence"].add(
        person_id=ids[proc],
        procedure_date=rng.integers(START, END, len(proc)),
        procedure_source_value=_pick(rng, PROCEDURES, len(proc)),
        procedure_concept_id=0,
    )
    orphans = np.arange(persons, persons + max(1, persons // 2000), dtype=np.int64)  # no person row
    drugs(orphans, rng.integers(START, END, len(orphans)), _pick(rng, ANTICANCER, len(orphans)))

    died = np.flatnonzero(death != -1)
    t["death"].add(person_id=ids[died], death_date=death[died], death_type_concept_id=32817)
    obs_end = np.where(death != -1, np.maximum(death, START), END)
    t["observation_period"].add(
        observation_period_id=ids,
        person_id=ids,
        observation_period_start_date=np.full(persons, START - 3650),
        observation_period_end_date=obs_end,
    )
    return t


DATE_COLUMNS = {
    "death_date",
    "visit_start_date",
    "visit_end_date",
    "visit_detail_start_date",
    "condition_start_date",
    "drug_exposure_start_date",
    "procedure_date",
    "observation_period_start_date",
    "observation_period_end_date",
}
NULLABLE_INT = {"visit_occurrence_id"}


def _arrow(events: _Events, table: str) -> pa.Table:
    n = len(events.column("person_id"))
    columns = {}
    for name in TABLE_COLUMNS[table]:
        if name not in events.parts:  # a row id the simulation leaves to numbering
            columns[name] = pa.array(np.arange(1, n + 1, dtype=np.int64))
            continue
        values = events.column(name)
        if name in DATE_COLUMNS:
            values = values.astype(np.int64)
            columns[name] = pa.array(values.astype(np.int32), type=pa.date32(), mask=values == -1)
        elif values.dtype == object:
            columns[name] = pa.array(values.astype(str), type=pa.string())
        elif name in NULLABLE_INT:
            columns[name] = pa.array(values.astype(np.int64), mask=values == -1)
        else:
            columns[name] = pa.array(values.astype(np.int64))
    return pa.table(columns)


def generate(
    persons: int,
    seed: int,
    out: Path,
    fmt: Literal["csv", "parquet"] = "csv",
    site_effect: float = 1.0,
) -> dict[str, int]:
    """Write a synthetic extract of ``persons`` persons to ``out``; return rows per table."""
    if persons < 1:
        raise ValueError("persons must be at least 1")
    if site_effect <= 0:
        raise ValueError("site effect must be above 0")
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"{out} exists and is not an empty folder")
    rng = np.random.default_rng(seed)
    tables = _simulate(persons, rng, site_effect)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    counts: dict[str, int] = {}
    try:
        for name, events in tables.items():
            arrow = _arrow(events, name)
            counts[name] = arrow.num_rows
            if fmt == "parquet":
                pq.write_table(arrow, staging / f"{name}.parquet")
            else:
                pacsv.write_csv(
                    arrow,
                    staging / f"{name}.csv",
                    pacsv.WriteOptions(quoting_style="needed"),
                )
        if out.exists():
            out.rmdir()
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return counts


@click.command("synth")
@click.option("--persons", type=click.IntRange(min=1), required=True, help="How many persons.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder to create (must not exist, or be empty).",
)
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "parquet"]), default="csv", show_default=True
)
@click.option(
    "--site-effect",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    help="Provider effect: multiplies the rates of care events.",
)
def synth_command(persons: int, seed: int, out: Path, fmt: str, site_effect: float) -> None:
    """Write a synthetic OMOP extract with end-of-life and hip-fracture patterns."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise click.UsageError(f"{out} already exists and is not an empty folder")
    started = time.perf_counter()
    counts = generate(persons, seed, out, fmt, site_effect)  # type: ignore[arg-type]
    for name, rows in counts.items():
        click.echo(f"{name:<22} {rows:>12,} rows")
    click.echo(f"wrote {out} ({fmt}) in {time.perf_counter() - started:.1f}s")
