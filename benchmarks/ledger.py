"""Benchmark: the release ledger's joint audit as the releases pile up.

Run by hand (not a test), from the repository root:

    python -m benchmarks.ledger WORKDIR                                  # 1M persons, 100 releases
    python -m benchmarks.ledger WORKDIR --persons 50000 --releases 10 30  # a quick run
    python -m benchmarks.ledger WORKDIR --scope headline cube            # cube releases too

The target: on 1M persons with 100 earlier releases of the library's specs, the joint audit
of one more release in under 10 s and the ledger under 200 MB.

A synthetic extract is written once to WORKDIR/extract-p<N> (reused when present).  Earlier
releases go through the node's own path: ``run_specs(batch, source, ledger=..., scope=...)``
then ``ledger.commit()``, into a fresh WORKDIR/ledger-<scope>-p<N>.  They are the library's 9
specs, then rounds of deterministic variants of them (seeded): a cohort age bound (minimum or
maximum), a changed numerator window, a changed window of the cohort's requirement (cancer
diagnosed at least D days before death); each variant gets an id of its own
(``<spec>_r<round>``).  Variants split the units into atoms the library alone would not (the
persons aged exactly 67, those diagnosed within 90 days of death), and some of them are
small: the audit withholds counts and the ledger records what it released.

At each checkpoint (``--releases``, counted in earlier releases) a fresh process makes one
more release, in each ``--probe-scope``, of two fixed specs no earlier release made (the same
at every checkpoint, so the figures show growth): opioids aged 71+ in the last 60 days of
life (person units) and an osteoporosis drug within 60 days of a hip fracture admission,
aged 71+ (visit units); the protection publishes most of their cubes (cube scope).  It runs
the spec without the ledger (``run_specs``, untimed), opens the ledger and reads it (``load
s``), then times ``node.ledger.decide`` alone (``audit s``: every joint audit and
withholding step; nothing is committed), of which ``joint s`` in ``JointAudit.narrowed``
(atoms and LPs) and ``prot s`` re-protecting the cube around withheld counts.  The audit
time is measured directly, not as a difference of two runs.

Columns: the ledger's releases, files and size on disk; the probe's cohort units; load,
audit, joint and protect time; joint audits run (``audits``: one per withholding trial); the
largest atom system (``cells`` x ``atoms``), its small atoms (``small``) and the most LP
targets of one audit (``LP tgt``); LPs solved in all; counts the ledger withheld (``wh``);
the process's resident memory before the audit and its peak during load and audit (VmHWM,
reset before).  Last, how the ledger's size and each probe's audit time grow.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import multiprocessing
import shutil
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from protocol import CUBE, HEADLINE, QuerySpec, UnitsWithMeasure, load_spec
from queries import library_paths

SEED = 7
FLOOR = 10

PALLIATIVE_AGES = (50, 60, 65, 67, 68, 70, 72, 75, 78, 80, 85, 90)
PALLIATIVE_MAX_AGES = (64, 69, 74, 79, 84, 89)
HIP_AGES = (66, 67, 68, 70, 72, 75, 78, 80, 82, 85, 90)
HIP_MAX_AGES = (79, 84, 89, 94)
BEFORE_DAYS = (7, 14, 45, 60, 90)
AFTER_DAYS = (7, 14, 60, 90, 180)
DIAGNOSED_BEFORE = (30, 90, 180, 365)


# -- the releases ------------------------------------------------------------------------------


def library() -> list[QuerySpec]:
    """Return the library's specs in a fixed order (by id)."""
    return sorted((load_spec(p) for p in library_paths()), key=lambda s: s.id)


def variant(spec: QuerySpec, round_: int, rng: np.random.Generator) -> QuerySpec:
    """Return a variant of ``spec`` for a round: one or two changes drawn from ``rng``."""
    data = spec.model_dump(by_alias=True, exclude_none=True)
    data["id"] = f"{spec.id}_r{round_:02d}"
    person = spec.cohort.unit == "person"
    windows = [m.event.window for m in spec.measures if isinstance(m, UnitsWithMeasure)]
    kinds = ["age_min", "age_max"]
    kinds += ["window"] if any(w is not None and w.from_ is not None for w in windows) else []
    kinds += ["diagnosed"] if person else []
    chosen = rng.choice(len(kinds), size=int(rng.integers(1, 3)), replace=False)
    for kind in sorted(kinds[i] for i in chosen):
        age = dict(data["cohort"].get("age") or {})
        if kind == "age_min":
            age["min"] = int(rng.choice(PALLIATIVE_AGES if person else HIP_AGES))
            if age.get("max", age["min"]) < age["min"]:
                del age["max"]
            data["cohort"]["age"] = age
        elif kind == "age_max":
            age["max"] = int(rng.choice(PALLIATIVE_MAX_AGES if person else HIP_MAX_AGES))
            if age.get("min", 0) > age["max"]:
                age["max"] = age["min"] + 10
            data["cohort"]["age"] = age
        elif kind == "window":
            for measure in data["measures"]:
                window = measure.get("event", {}).get("window")
                if window is None or "from" not in window:
                    continue
                if window["from"] < 0:
                    window["from"] = -int(rng.choice(BEFORE_DAYS))
                else:
                    window["to"] = int(rng.choice(AFTER_DAYS))
        else:  # diagnosed: the cohort's requirement moved back before death
            for criterion in data["cohort"]["require"]:
                if "window" in criterion:
                    criterion["window"] = {"to": -int(rng.choice(DIAGNOSED_BEFORE))}
    return QuerySpec.model_validate(data)


def sequence(count: int, seed: int) -> list[QuerySpec]:
    """Return ``count`` specs: the library, then rounds of its variants (deterministic)."""
    base = library()
    rng = np.random.default_rng(seed)
    specs = list(base)
    round_ = 0
    while len(specs) < count:
        round_ += 1
        specs += [variant(spec, round_, rng) for spec in base]
    return specs[:count]


def probes() -> list[QuerySpec]:
    """Return the specs of the one more release: the same at every checkpoint, one per unit,
    each a variant no earlier release made (an age bound and a window of their own) whose
    cube the protection mostly publishes (cube scope: about 400 of 528 counts at 1M)."""
    specs = {spec.id: spec for spec in library()}
    out = []
    for name, base, window in (
        ("opioid_71_60d", "opioid_last_90d", {"from": -60, "to": 0}),
        (
            "hip_osteo_71_60d",
            "hip_fracture_osteoporosis_drug_90d",
            {"relative_to": "visit_end_date", "from": 1, "to": 60},
        ),
    ):
        data = specs[base].model_dump(by_alias=True, exclude_none=True)
        data["id"] = name
        data["cohort"]["age"] = {"min": 71}
        data["measures"][1]["event"]["window"] = window
        out.append(QuerySpec.model_validate(data))
    return out


def batches(specs: Sequence[QuerySpec], cuts: Sequence[int], size: int) -> Iterator[list]:
    """Yield the specs in runs of at most ``size``, never across a checkpoint in ``cuts``."""
    start = 0
    for cut in sorted(set(cuts)):
        while start < cut:
            end = min(cut, start + size)
            yield list(specs[start:end])
            start = end


# -- one more release, in a process of its own ---------------------------------------------------


def _memory_mb(field: str) -> float:
    """Return a memory figure of this process (VmRSS, VmHWM) in MB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak() -> None:
    """Start VmHWM (the peak resident memory) afresh from the current resident memory."""
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")


def probe(extract: str, folder: str, spec_json: str, scope: str) -> dict[str, Any]:
    """Make one more release of a spec against the ledger in ``folder``; return the figures."""
    import node.ledger.audit as audit_module
    import node.ledger.release as release_module
    import protocol.disclosure._joint as joint
    from node.ledger import Ledger, decide, fetch_members
    from node.runner import run_specs
    from node.sources import open_source

    stats: dict[str, Any] = dict.fromkeys(("audits", "cells", "atoms", "small", "targets"), 0)
    stats.update(lps=0, joint=0.0, protect=0.0)
    atoms_of, narrowed_atoms = audit_module.atoms_of, audit_module.narrowed_atoms
    intervals, protect = joint.intervals, release_module.protect
    narrowed = audit_module.JointAudit.narrowed

    def counting_atoms_of(cells, n_units, persons=None):
        atoms = atoms_of(cells, n_units, persons)
        stats["audits"] += 1
        if atoms.membership.shape[1] >= stats["atoms"]:
            stats["cells"], stats["atoms"] = atoms.membership.shape
        return atoms

    def counting_narrowed(atoms, values, k, fresh):
        if atoms.membership.shape[1] >= stats["atoms"]:
            stats["small"] = len(atoms.small_atoms(k))
        return narrowed_atoms(atoms, values, k, fresh)

    def counting_intervals(system, targets, **kwargs):
        found = intervals(system, targets, **kwargs)
        stats["targets"] = max(stats["targets"], len(targets))
        stats["lps"] += found.lps
        return found

    def timed(name, function):
        def run(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                stats[name] += time.perf_counter() - started

        return run

    audit_module.atoms_of = counting_atoms_of
    audit_module.narrowed_atoms = counting_narrowed
    audit_module.JointAudit.narrowed = timed("joint", narrowed)
    joint.intervals = counting_intervals
    release_module.protect = timed("protect", protect)

    spec = QuerySpec.model_validate_json(spec_json)
    source = open_source(extract)
    (result,) = run_specs([spec], source, floor=FLOOR)
    members = fetch_members([spec], source)[spec.id]
    ledger = Ledger(Path(folder))
    before = _memory_mb("VmRSS")
    _reset_peak()
    started = time.perf_counter()
    held = len(ledger.releases())
    loaded = time.perf_counter()
    decision = decide(ledger, spec.id, result.spec_hash, result.protected, members, scope)
    done = time.perf_counter()
    return {
        **stats,
        "held": held,
        "load": loaded - started,
        "audit": done - loaded,
        "withheld": len(decision.withheld),
        "units": len(members.units),
        "rss": before,
        "peak": _memory_mb("VmHWM"),
    }


def probe_apart(extract: Path, folder: Path, spec: QuerySpec, scope: str) -> dict[str, Any]:
    """Run ``probe`` in a fresh process (its memory figures are its own)."""
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as pool:
        job = pool.submit(probe, str(extract), str(folder), spec.model_dump_json(), scope)
        return job.result()


# -- the run -------------------------------------------------------------------------------------


def ensure_extract(workdir: Path, persons: int, seed: int) -> Path:
    """Write (once) a Parquet extract of ``persons`` persons to WORKDIR/extract-p<N>."""
    from demo.synth import generate

    folder = workdir / f"extract-p{persons}"
    if (folder / "person.parquet").exists():
        print(f"extract: reusing {folder}")
        return folder
    if folder.exists():
        shutil.rmtree(folder)  # a partial one from an interrupted run
    started = time.perf_counter()
    generate(persons, seed=seed, out=folder, fmt="parquet")
    print(f"extract: wrote {folder} in {time.perf_counter() - started:.1f}s")
    return folder


def disk(folder: Path) -> tuple[int, int]:
    """Return the number of release files and their total size in bytes."""
    files = [p for p in folder.iterdir() if p.name.endswith(".release")]
    return len(files), sum(p.stat().st_size for p in files)


HEADER = (
    f"{'ledger':>8} {'rel':>4} {'files':>5} {'MB':>7}  {'probe':<20} {'scope':<8} "
    f"{'units':>6} {'load s':>6} {'audit s':>7} {'joint s':>7} {'prot s':>6} "
    f"{'audits':>6} {'cells':>6} {'atoms':>7} "
    f"{'small':>6} {'LP tgt':>6} {'LPs':>6} {'wh':>3} {'RSS MB':>7} {'peak MB':>7}"
)


def row(scope: str, released: int, files: int, size: int, spec: QuerySpec, probe_scope: str,
        f: dict[str, Any]) -> str:  # fmt: skip
    return (
        f"{scope:>8} {released:>4} {files:>5} {size / 1e6:>7.2f}  {spec.id:<20} "
        f"{probe_scope:<8} {f['units']:>6} {f['load']:>6.2f} {f['audit']:>7.2f} "
        f"{f['joint']:>7.2f} {f['protect']:>6.2f} "
        f"{f['audits']:>6} {f['cells']:>6} {f['atoms']:>7} {f['small']:>6} {f['targets']:>6} "
        f"{f['lps']:>6} {f['withheld']:>3} {f['rss']:>7.0f} {f['peak']:>7.0f}"
    )


def run(workdir: Path, persons: int, checkpoints: list[int], scope: str, probe_scopes: list[str],
        seed: int, batch: int) -> list[dict[str, Any]]:  # fmt: skip
    """Build a ledger of ``scope`` releases up to each checkpoint and probe it there."""
    from node.ledger import Ledger
    from node.runner import run_specs
    from node.sources import open_source

    extract = ensure_extract(workdir, persons, seed)
    print(HEADER)
    source = open_source(str(extract))
    folder = workdir / f"ledger-{scope}-p{persons}"
    if folder.exists():
        shutil.rmtree(folder)
    ledger = Ledger(folder)
    specs = sequence(max(checkpoints), seed)
    released, withheld = 0, 0
    results = []
    build_started = time.perf_counter()
    for run_of in batches(specs, checkpoints, batch):
        started = time.perf_counter()
        out = run_specs(run_of, source, floor=FLOOR, ledger=ledger, scope=scope)
        ledger.commit()
        released += len(run_of)
        withheld += sum(len(r.withheld) for r in out)
        print(
            f"  [{scope}] releases {released - len(run_of) + 1}-{released}: "
            f"{time.perf_counter() - started:.1f}s, {withheld} counts withheld so far",
            flush=True,
        )
        if released not in checkpoints:
            continue
        files, size = disk(folder)
        for spec in probes():
            unit = spec.cohort.unit
            for probe_scope in probe_scopes:
                figures = probe_apart(extract, folder, spec, probe_scope)
                assert figures["held"] == released
                results.append(
                    {"released": released, "size": size, "unit": unit,
                     "probe_scope": probe_scope, "figures": figures}
                )  # fmt: skip
                print(row(scope, released, files, size, spec, probe_scope, figures), flush=True)
    print(f"  [{scope}] built in {time.perf_counter() - build_started:.0f}s", flush=True)
    return results


def growth(scope: str, results: list[dict[str, Any]]) -> None:
    """Print how the ledger's size and one more release's audit grow with the releases."""
    points = sorted({(r["released"], r["size"]) for r in results})
    if len(points) < 2:
        return
    (first, low), (last, high) = points[0], points[-1]
    print(
        f"{scope} ledger: "
        + " -> ".join(f"{s / 1e6:.2f} MB@{n}" for n, s in points)
        + f" ({(high - low) / (last - first) / 1e3:.1f} kB per release)"
    )
    for probe_scope in dict.fromkeys(r["probe_scope"] for r in results):
        for unit in ("person", "visit"):
            trail = " -> ".join(
                f"{r['figures']['audit']:.2f}s@{r['released']}"
                for r in results
                if r["probe_scope"] == probe_scope and r["unit"] == unit
            )
            print(f"  one more {probe_scope} release, {unit} unit: audit {trail}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument(
        "--releases", type=int, nargs="+", default=[10, 30, 100], help="checkpoints"
    )
    parser.add_argument(
        "--scope", nargs="+", choices=[HEADLINE, CUBE], default=[HEADLINE],
        help="scope of the earlier releases (one ledger per scope)",
    )  # fmt: skip
    parser.add_argument(
        "--probe-scope", nargs="+", choices=[HEADLINE, CUBE], default=[HEADLINE, CUBE],
        help="scope of the one more release timed at each checkpoint",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument(
        "--batch", type=int, default=9, help="specs per run_specs call while building"
    )
    args = parser.parse_args(argv)
    if min(args.releases) < 1:
        parser.error("--releases must be at least 1")
    args.workdir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    print(f"{args.persons:,} persons; checkpoints {args.releases}; seed {args.seed}")
    everything = {}
    for scope in args.scope:
        everything[scope] = run(
            args.workdir,
            args.persons,
            sorted(args.releases),
            scope,
            args.probe_scope,
            args.seed,
            args.batch,
        )
    for scope, results in everything.items():
        growth(scope, results)
    print(f"wall time {time.perf_counter() - started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
