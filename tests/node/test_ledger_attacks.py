"""Differencing attacks on one node's releases, run through ``lhs node run --ledger``.

Each attack is a sequence of specs the language accepts (nested and complementary cohorts,
window bounds, a sum measure, breakdown variants, a refreshed extract, a rerun, visit units).
An independent attacker (``tests/release_attacker.py``) holds every output: with the ledger
no small group is narrowed below k; without it the same outputs give one away, so each
test can fail.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.cli import run
from tests.reference import load_extract
from tests.release_attacker import (
    Count,
    cancer_decedents,
    hip_admissions,
    narrowed,
    released_counts,
)

ROOT = Path(__file__).parents[2]
CANCER = yaml.safe_load((ROOT / "queries/palliative/anticancer_therapy_last_30d.yaml").read_text())
HIP = yaml.safe_load((ROOT / "queries/hip_fracture/hip_fracture_los.yaml").read_text())


def cancer(
    name: str,
    dims: list[str],
    *,
    age_min: int | None = None,
    age_max: int | None = None,
    diagnosis_to: int = 0,
    therapy_from: int = -30,
) -> tuple[dict, Callable]:
    """A variant of the anticancer-therapy spec and its members, worked out independently."""
    spec = copy.deepcopy(CANCER)
    spec["id"], spec["dimensions"] = name, dims
    age = {k: v for k, v in (("min", age_min), ("max", age_max)) if v is not None}
    if age:
        spec["cohort"]["age"] = age
    spec["cohort"]["require"][0]["window"] = {"to": diagnosis_to}
    spec["measures"][1]["event"]["window"] = {"from": therapy_from, "to": 0}

    def members(x: dict) -> pd.DataFrame:
        return cancer_decedents(
            x,
            age_min=age_min,
            age_max=age_max,
            diagnosis_to=diagnosis_to,
            therapy_from=therapy_from,
        )

    return spec, members


def hip(name: str, dims: list[str], age_min: int) -> tuple[dict, Callable]:
    """A variant of the hip-fracture length-of-stay spec (visit units) and its members."""
    spec = copy.deepcopy(HIP)
    spec["id"], spec["dimensions"] = name, dims
    spec["cohort"]["age"] = {"min": age_min}
    return spec, lambda x: hip_admissions(x, age_min=age_min)


@dataclass
class Attack:
    """Specs run one after another, each on the extract named beside it."""

    steps: list[tuple[tuple[dict, Callable], str]]
    works_without_ledger: bool = True
    extracts: dict[str, Path] = field(default_factory=dict)


ATTACKS = {
    "nested age bound": Attack(
        [(cancer("c66", [], age_min=66), "x"), (cancer("c67", [], age_min=67), "x")]
    ),
    "complementary cohorts": Attack(
        [
            (cancer("all", []), "x"),
            (cancer("upto65", [], age_max=65), "x"),
            (cancer("from67", [], age_min=67), "x"),
        ]
    ),
    "required window bound": Attack(
        [(cancer("dx0", []), "x"), (cancer("dx1", [], diagnosis_to=-1), "x")]
    ),
    "numerator window": Attack(
        [(cancer("t30", []), "x"), (cancer("t29", [], therapy_from=-29), "x")]
    ),
    "sum measure": Attack([(hip("los67", [], 67), "x"), (hip("los68", [], 68), "x")]),
    "breakdown variants": Attack(
        [
            (cancer("byyear", ["year"], age_min=50), "x"),
            (cancer("byyearsex", ["year", "sex"], age_min=50), "x"),
        ]
    ),
    "refreshed extract": Attack(
        [(cancer("again", ["sex"]), "before"), (cancer("again", ["sex"]), "x")]
    ),
    "rerun": Attack(
        [(cancer("same", ["year", "sex"]), "x"), (cancer("same", ["year", "sex"]), "x")],
        works_without_ledger=False,
    ),
    "visit units": Attack(
        [(hip("v67", ["year", "sex"], 67), "x"), (hip("v68", ["year", "sex"], 68), "x")]
    ),
}


def _attack(attack: Attack, extracts: dict[str, Path], folder: Path, ledger: bool) -> list:
    tables = {name: load_extract(path) for name, path in extracts.items()}
    counts: list[Count] = []
    person_of: dict = {}
    outputs = []
    for i, ((spec, members), extract) in enumerate(attack.steps):
        path = folder / f"{i}-{spec['id']}.yaml"
        path.write_text(yaml.safe_dump(spec), encoding="utf-8")
        args = ["node", "run", str(path), "--data", str(extracts[extract])]
        if ledger:
            args += ["--ledger", str(folder / "ledger")]
        result = run(*args)
        assert result.exit_code == 0, result.output
        output = json.loads(result.output)
        outputs.append(output)
        frame = members(tables[extract])
        names = [m["name"] for m in spec["measures"] if m["kind"] != "sum_days"]
        counts += released_counts(output, frame, names)
        person_of.update(zip(frame["unit"], frame["person"], strict=True))
    return narrowed(counts, person_of=person_of), outputs


@pytest.mark.parametrize("name", ATTACKS)
def test_attack_through_the_ledger_narrows_no_small_group(
    name: str, extracts: dict[str, Path], tmp_path: Path
) -> None:
    attack = ATTACKS[name]
    with_ledger = tmp_path / "with"
    with_ledger.mkdir()
    found, outputs = _attack(attack, extracts, with_ledger, ledger=True)
    assert found == [], f"{name}: {found}"
    assert len(list((with_ledger / "ledger").iterdir())) == len(attack.steps)
    without = tmp_path / "without"
    without.mkdir()
    exposed, plain = _attack(attack, extracts, without, ledger=False)
    if attack.works_without_ledger:
        assert exposed, f"{name}: the attack finds nothing even without the ledger"
    else:
        assert exposed == [] and outputs == plain
