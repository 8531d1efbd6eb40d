"""An independent attacker over everything one node released, written apart from ``protocol``
and ``node``.

It holds every published count and knows, from the specs, which units each counts (worked
out here in pandas from the extract, as ``tests/reference.py`` works out the indicators).
Units counted in exactly the same published counts are alike to it: an atom.  Each published
count is the sum of its atoms and atoms are non-negative; scipy's ``linprog`` gives each
small atom's narrowest interval (1..k-1 units, or units of 1..k-1 persons).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import linprog

from tests.reference import _band, _days, _hip, _norm, _persons, _with_events

K = 10


@dataclass(frozen=True)
class Count:
    """One released count: the units it counts (truth) and its published value (None: hidden)."""

    units: frozenset[Hashable]
    value: int | None


@dataclass(frozen=True)
class Narrowed:
    """A small atom and the interval the attacker narrowed it to."""

    true: int
    persons: int
    low: float
    high: float


def narrowed(
    counts: Sequence[Count], k: int = K, person_of: Mapping[Hashable, Hashable] | None = None
) -> list[Narrowed]:
    """Return every small atom the published counts narrow below k wide."""
    published = [c for c in counts if c.value is not None]
    for c in published:
        assert len(c.units) == c.value, "a published count differs from the truth"
    signature: dict[Hashable, list[int]] = {}
    for j, c in enumerate(published):
        for unit in c.units:
            signature.setdefault(unit, []).append(j)
    atoms = Counter(tuple(s) for s in signature.values())
    people: dict[tuple, set] = {}
    for unit, s in signature.items():
        people.setdefault(tuple(s), set()).add(person_of[unit] if person_of else unit)
    keys = sorted(atoms)
    a_eq = np.zeros((len(published), len(keys)))
    for i, key in enumerate(keys):
        a_eq[list(key), i] = 1
    b_eq = np.array([c.value for c in published], dtype=float)
    out = []
    for i, key in enumerate(keys):
        true, persons = atoms[key], len(people[key])
        if not (0 < true < k or 0 < persons < k):
            continue
        ends = []
        for sign in (1, -1):
            cost = np.zeros(len(keys))
            cost[i] = sign
            res = linprog(cost, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
            assert res.status == 0, res.message
            ends.append(sign * res.fun)
        if ends[1] - ends[0] < k - 1e-6:
            out.append(Narrowed(true, persons, ends[0], ends[1]))
    return out


def cancer_decedents(
    x: dict[str, pd.DataFrame],
    *,
    age_min: int | None = None,
    age_max: int | None = None,
    diagnosis_to: int = 0,
    therapy_from: int = -30,
) -> pd.DataFrame:
    """People who died with cancer (diagnosed up to ``diagnosis_to`` days from death), one row
    each: unit, person, year, sex, age_band and ``numerator`` (L01 from ``therapy_from``..0)."""
    p = _persons(x).dropna(subset=["death_date"])
    c = x["condition_occurrence"]
    code3 = _norm(c["condition_source_value"]).str[:3]
    c = c[(code3 >= "C00") & (code3 <= "C97")].merge(p[["person_id", "death_date"]], on="person_id")
    ids = set(c.loc[_days(c["condition_start_date"], c["death_date"]) <= diagnosis_to, "person_id"])
    p = p[p["person_id"].isin(ids)].reset_index(drop=True)
    age = p["death_date"].dt.year - p["year_of_birth"]
    keep = pd.Series(True, index=p.index)
    if age_min is not None:
        keep &= age >= age_min
    if age_max is not None:
        keep &= age <= age_max
    p = p[keep].reset_index(drop=True)
    drugs = x["drug_exposure"]
    l01 = drugs[_norm(drugs["drug_source_value"]).str.startswith("L01")]
    return pd.DataFrame(
        {
            "unit": p["person_id"].astype(int),
            "person": p["person_id"].astype(int),
            "year": p["death_date"].dt.year.astype(int),
            "sex": p["sex"],
            "age_band": _band(p["death_date"].dt.year - p["year_of_birth"]),
            "denominator": True,
            "numerator": _with_events(p, l01, "drug_exposure_start_date", therapy_from, 0),
        }
    )


def hip_admissions(x: dict[str, pd.DataFrame], *, age_min: int = 65) -> pd.DataFrame:
    """Hip fracture admissions with a discharge date, one row per visit (unit) with its person."""
    adm = _hip(x)
    adm = adm[adm["visit_end_date"].notna()]
    adm = adm[adm["visit_start_date"].dt.year - adm["year_of_birth"] >= age_min]
    return pd.DataFrame(
        {
            "unit": adm["visit_occurrence_id"].astype(int),
            "person": adm["person_id"].astype(int),
            "year": adm["visit_start_date"].dt.year.astype(int),
            "sex": adm["sex"],
            "age_band": _band(adm["visit_start_date"].dt.year - adm["year_of_birth"]),
            "admissions": True,
        }
    ).reset_index(drop=True)


def released_counts(output: Mapping, members: pd.DataFrame, counts: Sequence[str]) -> list[Count]:
    """Return every count of a published cube (``lhs node run`` JSON) with the units behind it."""
    out = []
    dims = [d for d in ("year", "sex", "age_band") if d in output["cells"][0]]
    for cell in output["cells"]:
        inside = pd.Series(True, index=members.index)
        for d in dims:
            if cell[d] is not None:
                inside &= members[d] == cell[d]
        for name in counts:
            units = frozenset(members.loc[inside & members[name], "unit"].tolist())
            out.append(Count(units, cell[name]))
    return out
