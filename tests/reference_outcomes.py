"""An independent hand computation of birth care, knee, CKD and colorectal indicators (pandas).

Written from the contract's sections 6-9 alone (not from the compiler): deliveries, knee
replacements and resections are rows of one person on one day (and side), CKD person-years are
a person's calendar years with two eGFR values below 60 at least 90 days apart.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from tests.reference import _days, _norm, _persons

MATERNAL = [(19, "<20"), (24, "20-24"), (29, "25-29"), (34, "30-34"), (39, "35-39")]
BANDS = [(17, "0-17"), (64, "18-64"), (74, "65-74"), (84, "75-84")]
EGFR = ("62238-1", "33914-3", "98979-8")
RESECTIONS = ("0DTE", "0DTF", "0DTG", "0DTH", "0DTK", "0DTL", "0DTM", "0DTN", "0DTP")

Frames = dict[str, pd.DataFrame]


def _label(age: pd.Series, bands: list[tuple[int, str]], top: str) -> pd.Series:
    out = pd.Series(top, index=age.index)
    for high, label in reversed(bands):
        out[age <= high] = label
    return out


def _cells(
    units: pd.DataFrame, year: pd.Series, dims: list[str], measures: dict[str, pd.Series]
) -> pd.DataFrame:
    """Sum measures over units by the dimensions (year, sex, age_band, maternal_age_band)."""
    age = year - units["year_of_birth"].astype(int)
    frame = pd.DataFrame(
        {
            "year": year.astype(int),
            "sex": units["sex"],
            "age_band": _label(age, BANDS, "85+"),
            "maternal_age_band": _label(age, MATERNAL, "40+"),
        }
    )[dims]
    for name, series in measures.items():
        frame[name] = np.asarray(series, dtype=np.int64)
    return frame.groupby(dims, as_index=False).sum()


def _whole(values: pd.Series) -> pd.Series:
    """Each value rounded to a whole number, halves away from zero."""
    return (np.sign(values) * np.floor(np.abs(values) + 0.5)).astype(np.int64)


def _first(
    units: pd.DataFrame, rows: pd.DataFrame, date: str, low: int, high: int, latest: bool
) -> pd.Series:
    """Per unit (by row index), the first or latest value dated index+low..index+high."""
    merged = units[["person_id", "index"]].reset_index().merge(rows, on="person_id")
    diff = _days(merged[date], merged["index"])
    merged = merged[(diff >= low) & (diff <= high)]
    # On one date the highest value counts.
    merged = merged.sort_values([date, "value_as_number"], ascending=[not latest, False])
    return merged.groupby("unit")["value_as_number"].first()


def _valued(x: Frames, table: str, codes: tuple[str, ...], low: float, high: float) -> pd.DataFrame:
    rows = x[table]
    code = _norm(rows[f"{table}_source_value"])
    value = rows["value_as_number"]
    keep = code.str.startswith(codes) & value.notna() & (value >= low) & (value <= high)
    return rows[keep & rows[f"{table}_date"].notna()]


# ----- birth care (section 6)


def _deliveries(x: Frames) -> pd.DataFrame:
    c = x["condition_occurrence"]
    code3 = _norm(c["condition_source_value"]).str[:3]
    rows = c[(code3 >= "O80") & (code3 <= "O84") & c["condition_start_date"].notna()]
    units = rows[["person_id", "condition_start_date"]].drop_duplicates()
    units = units.rename(columns={"condition_start_date": "index"}).merge(_persons(x))
    units = units[units["year_of_birth"].notna()]
    valid = units["index"].dt.year >= units["year_of_birth"].astype(int)
    valid &= ~(units["index"] > units["death_date"])  # no death, or death on or after
    return units[valid].reset_index(drop=True).rename_axis("unit")


def _same_day(x: Frames, units: pd.DataFrame, prefix: str) -> pd.Series:
    c = x["condition_occurrence"]
    c = c[_norm(c["condition_source_value"]).str.startswith(prefix)]
    keys = set(zip(c["person_id"], c["condition_start_date"], strict=True))
    return pd.Series(
        [(p, d) in keys for p, d in zip(units["person_id"], units["index"], strict=True)]
    )


def _birth(x: Frames, numerator: Callable[[Frames, pd.DataFrame], pd.Series]) -> pd.DataFrame:
    units = _deliveries(x)
    return _cells(
        units,
        units["index"].dt.year,
        ["year", "maternal_age_band"],
        {"denominator": pd.Series(1, index=units.index), "numerator": numerator(x, units)},
    )


def _epidural(x: Frames, units: pd.DataFrame) -> pd.Series:
    drugs = x["drug_exposure"]
    drugs = drugs[_norm(drugs["drug_source_value"]).str.startswith("N01BB")]
    merged = units[["person_id", "index"]].reset_index().merge(drugs, on="person_id")
    diff = _days(merged["drug_exposure_start_date"], merged["index"])
    hit = set(merged.loc[(diff >= -1) & (diff <= 0), "unit"])
    return pd.Series(units.index.isin(hit))


def _epds(x: Frames) -> pd.DataFrame:
    units = _deliveries(x)
    epds = _valued(x, "observation", ("71354-5",), 0, 30)
    score = _first(units, epds, "observation_date", 28, 84, latest=False)
    units = units.loc[score.index]
    whole = _whole(score)
    return _cells(
        units,
        units["index"].dt.year,
        ["year", "maternal_age_band"],
        {
            "denominator": pd.Series(1, index=units.index),
            "numerator": score >= 13,
            "epds_sum": whole,
            "epds_sum_squares": whole * whole,
        },
    )


# ----- knee arthroplasty (section 7)


def _knees(x: Frames) -> pd.DataFrame:
    p = x["procedure_occurrence"]
    code = _norm(p["procedure_source_value"])
    rows = p[code.str.startswith(("0SRC", "0SRD")) & p["procedure_date"].notna()].copy()
    rows["side"] = code[rows.index].str[3]
    units = rows[["person_id", "procedure_date", "side"]].drop_duplicates()
    units = units.rename(columns={"procedure_date": "index"}).merge(_persons(x))
    units = units[units["year_of_birth"].notna()]
    units = units[units["index"].dt.year - units["year_of_birth"].astype(int) >= 18]
    return units.reset_index(drop=True).rename_axis("unit")


def _revision(x: Frames) -> pd.DataFrame:
    units = _knees(x)
    p = x["procedure_occurrence"]
    code = _norm(p["procedure_source_value"])
    later = p[code.str.startswith(("0SW", "0SP", "0SU"))].assign(later_side=code.str[3])
    merged = units.reset_index().merge(later, on="person_id")
    diff = _days(merged["procedure_date"], merged["index"])
    hit = (diff >= 1) & (diff <= 365) & (merged["later_side"] == merged["side"])
    revised = units.index.isin(set(merged.loc[hit, "unit"]))
    return _cells(
        units,
        units["index"].dt.year,
        ["year", "sex", "age_band"],
        {"denominator": pd.Series(1, index=units.index), "numerator": revised},
    )


def _oks(x: Frames) -> pd.DataFrame:
    units = _knees(x)
    oks = _valued(x, "observation", ("OKS",), 0, 48)
    before = _first(units, oks, "observation_date", -180, 0, latest=True)
    after = _first(units, oks, "observation_date", 300, 430, latest=False)
    both = before.index.intersection(after.index)
    units = units.loc[both]
    change = after[both] - before[both]
    whole = _whole(change)
    return _cells(
        units,
        units["index"].dt.year,
        ["year", "sex", "age_band"],
        {
            "pairs": pd.Series(1, index=units.index),
            "change_sum": whole,
            "change_sum_squares": whole * whole,
            "improved": change >= 5,
        },
    )


# ----- chronic kidney disease (section 8)


def _ckd(x: Frames, numerator: str) -> pd.DataFrame:
    egfr = _valued(x, "measurement", EGFR, 0, 200).copy()
    egfr["year"] = egfr["measurement_date"].dt.year
    low = egfr[egfr["value_as_number"] < 60].groupby(["person_id", "year"])["measurement_date"]
    spread = (low.max() - low.min()).dt.days
    years = spread[(low.size() >= 2) & (spread >= 90)].reset_index()[["person_id", "year"]]
    units = years.merge(_persons(x))
    units = units[units["year_of_birth"].notna()].reset_index(drop=True)
    if numerator == "ckd_ras_inhibitor":
        drugs = x["drug_exposure"]
        drugs = drugs[_norm(drugs["drug_source_value"]).str.startswith("C09")]
        hits = set(zip(drugs["person_id"], drugs["drug_exposure_start_date"].dt.year, strict=True))
    else:
        below = egfr[egfr["value_as_number"] < 15]
        hits = set(zip(below["person_id"], below["year"], strict=True))
    hit = [(p, y) in hits for p, y in zip(units["person_id"], units["year"], strict=True)]
    return _cells(
        units,
        units["year"],
        ["year", "sex", "age_band"],
        {"denominator": pd.Series(1, index=units.index), "numerator": pd.Series(hit)},
    )


# ----- colorectal cancer surgery (section 9)


def _colorectal(x: Frames) -> pd.DataFrame:
    p = x["procedure_occurrence"]
    rows = p[_norm(p["procedure_source_value"]).str.startswith(RESECTIONS)]
    units = rows[["person_id", "procedure_date"]].dropna().drop_duplicates()
    units = units.rename(columns={"procedure_date": "index"}).merge(_persons(x))
    units = units[units["year_of_birth"].notna()]
    units = units[units["index"].dt.year - units["year_of_birth"].astype(int) >= 18]
    units = units.reset_index(drop=True).rename_axis("unit")
    c = x["condition_occurrence"]
    code3 = _norm(c["condition_source_value"]).str[:3]
    cancer = c[(code3 >= "C18") & (code3 <= "C20")][["person_id", "condition_start_date"]]
    merged = units.reset_index().merge(cancer, on="person_id")
    ok = set(merged.loc[merged["condition_start_date"] <= merged["index"], "unit"])
    units = units[units.index.isin(ok)].reset_index(drop=True)
    days = _days(units["death_date"], units["index"])
    died = ((days >= 0) & (days <= 90)).fillna(False)
    return _cells(
        units,
        units["index"].dt.year,
        ["year", "sex", "age_band"],
        {"denominator": pd.Series(1, index=units.index), "numerator": died},
    )


OUTCOMES: dict[str, Callable[[Frames], pd.DataFrame]] = {
    "caesarean_section": lambda x: _birth(x, lambda x, u: _same_day(x, u, "O82")),
    "epidural_analgesia": lambda x: _birth(x, _epidural),
    "preterm_birth": lambda x: _birth(x, lambda x, u: _same_day(x, u, "O601")),
    "postpartum_depression_symptoms": _epds,
    "knee_revision_1y": _revision,
    "knee_oks_change_1y": _oks,
    "ckd_ras_inhibitor": lambda x: _ckd(x, "ckd_ras_inhibitor"),
    "ckd_egfr_below_15": lambda x: _ckd(x, "ckd_egfr_below_15"),
    "colorectal_mortality_90d": _colorectal,
}
"""Indicator id -> its finest cells."""
