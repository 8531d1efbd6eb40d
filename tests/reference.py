"""An independent hand computation of the contract's indicators, in plain pandas.

Written from docs/indicators.md alone (not from the compiler), so the tests
can check that every number the engine produces equals the definition.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

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
    "measurement_date",
    "observation_date",
}
BANDS = [(17, "0-17"), (64, "18-64"), (74, "65-74"), (84, "75-84"), (10_000, "85+")]


def load_extract(folder: Path) -> dict[str, pd.DataFrame]:
    """Read every table of an extract folder (CSV or Parquet, any file-name case)."""
    tables = {}
    for path in Path(folder).iterdir():
        name = path.name.lower()
        if name.endswith(".csv"):
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
            table = name[:-4]
        elif name.endswith(".parquet"):
            frame = pd.read_parquet(path).astype(str).replace({"None": "", "NaT": "", "<NA>": ""})
            table = name[:-8]
        else:
            continue
        frame.columns = [c.lower() for c in frame.columns]
        for column in frame.columns:
            if column in DATE_COLUMNS:
                frame[column] = pd.to_datetime(frame[column].replace("", None), format="%Y-%m-%d")
            elif column.endswith("_id") or column == "year_of_birth":
                frame[column] = pd.to_numeric(frame[column].replace("", None)).astype("Int64")
            elif column == "value_as_number":
                frame[column] = pd.to_numeric(frame[column].replace("", None)).astype(float)
        tables[table] = frame
    return tables


def _norm(codes: pd.Series) -> pd.Series:
    return codes.fillna("").str.replace(".", "", regex=False).str.upper()


def _persons(x: dict[str, pd.DataFrame]) -> pd.DataFrame:
    person = x["person"][["person_id", "gender_concept_id", "year_of_birth"]].copy()
    death = x["death"].dropna(subset=["death_date"]).groupby("person_id")["death_date"].min()
    if death.empty:  # pandas cannot map through an empty Series of dates
        person["death_date"] = pd.Series(pd.NaT, index=person.index, dtype="datetime64[ns]")
    else:
        person["death_date"] = person["person_id"].map(death)
    invalid = person["death_date"].dt.year < person["year_of_birth"]
    person = person[~invalid.fillna(False).astype(bool)].copy()
    person["sex"] = person["gender_concept_id"].map({8507: "M", 8532: "F"}).fillna("U")
    return person


def _band(age: pd.Series) -> pd.Series:
    out = pd.Series("85+", index=age.index)
    for high, label in reversed(BANDS):
        out[age <= high] = label
    return out


def _valid_visits(x: dict[str, pd.DataFrame]) -> pd.DataFrame:
    v = x["visit_occurrence"]
    return v[v["visit_end_date"].isna() | (v["visit_end_date"] >= v["visit_start_date"])]


def _cube(units: pd.DataFrame, index: str, measures: dict[str, pd.Series]) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "year": units[index].dt.year.astype(int),
            "sex": units["sex"],
            "age_band": _band(units[index].dt.year - units["year_of_birth"]),
        }
    )
    for name, series in measures.items():
        frame[name] = series.astype(np.int64).to_numpy()
    return frame.groupby(["year", "sex", "age_band"], as_index=False).sum()


def _days(a: pd.Series, b: pd.Series) -> pd.Series:
    return (a - b).dt.days


def _cancer_decedents(x: dict[str, pd.DataFrame]) -> pd.DataFrame:
    p = _persons(x).dropna(subset=["death_date"])
    c = x["condition_occurrence"]
    code3 = _norm(c["condition_source_value"]).str[:3]
    c = c[(code3 >= "C00") & (code3 <= "C97")].merge(p[["person_id", "death_date"]], on="person_id")
    ids = set(c.loc[c["condition_start_date"] <= c["death_date"], "person_id"])
    return p[p["person_id"].isin(ids)].reset_index(drop=True)


def _with_events(
    cohort: pd.DataFrame, events: pd.DataFrame, date: str, low: int, high: int, at_least: int = 1
) -> pd.Series:
    merged = events.merge(cohort[["person_id", "death_date"]], on="person_id")
    diff = _days(merged[date], merged["death_date"])
    hits = merged[(diff >= low) & (diff <= high)].groupby("person_id").size()
    return cohort["person_id"].isin(hits[hits >= at_least].index)


def _hip(x: dict[str, pd.DataFrame]) -> pd.DataFrame:
    p = _persons(x)
    v = _valid_visits(x)
    v = v[v["visit_concept_id"].isin([9201, 262])].merge(p, on="person_id")
    v = v[v["visit_start_date"].dt.year - v["year_of_birth"] >= 65]
    c = x["condition_occurrence"]
    code = _norm(c["condition_source_value"])
    linked = set(c.loc[code.str[:4].isin(["S720", "S721", "S722"]), "visit_occurrence_id"].dropna())
    return v[v["visit_occurrence_id"].isin(linked)].reset_index(drop=True)


def reference(x: dict[str, pd.DataFrame], indicator: str) -> pd.DataFrame:
    """Return the finest cells (dimensions, measures) of one contract indicator."""
    # Imported here: the later domains' hand computation builds on this module's helpers.
    from tests.reference_outcomes import OUTCOMES

    if indicator in OUTCOMES:
        return OUTCOMES[indicator](x)
    if indicator.startswith("hip_fracture"):
        return _hip_indicator(x, indicator)
    cohort = _cancer_decedents(x)
    visits = _valid_visits(x)
    drugs = x["drug_exposure"]
    atc = _norm(drugs["drug_source_value"])
    if indicator == "hospital_admission_last_30d":
        hit = _with_events(
            cohort, visits[visits["visit_concept_id"].isin([9201, 262])], "visit_start_date", -30, 0
        )
    elif indicator == "ed_visits_2plus_last_30d":
        hit = _with_events(
            cohort,
            visits[visits["visit_concept_id"].isin([9203, 262])],
            "visit_start_date",
            -30,
            0,
            at_least=2,
        )
    elif indicator == "icu_admission_last_30d":
        vd = x["visit_detail"]
        hit = _with_events(
            cohort, vd[vd["visit_detail_concept_id"] == 32037], "visit_detail_start_date", -30, 0
        )
    elif indicator == "anticancer_therapy_last_30d":
        hit = _with_events(
            cohort, drugs[atc.str.startswith("L01")], "drug_exposure_start_date", -30, 0
        )
    elif indicator == "opioid_last_90d":
        hit = _with_events(
            cohort, drugs[atc.str.startswith("N02A")], "drug_exposure_start_date", -90, 0
        )
    elif indicator == "died_in_hospital":
        inpatient = visits[visits["visit_concept_id"].isin([9201, 262])]
        merged = inpatient.merge(cohort[["person_id", "death_date"]], on="person_id")
        spans = (merged["visit_start_date"] <= merged["death_date"]) & (
            merged["visit_end_date"].isna() | (merged["visit_end_date"] >= merged["death_date"])
        )
        hit = cohort["person_id"].isin(set(merged.loc[spans, "person_id"]))
    else:
        raise KeyError(indicator)
    return _cube(
        cohort, "death_date", {"denominator": pd.Series(1, index=cohort.index), "numerator": hit}
    )


def _hip_indicator(x: dict[str, pd.DataFrame], indicator: str) -> pd.DataFrame:
    adm = _hip(x)
    if indicator == "hip_fracture_mortality_30d":
        days = _days(adm["death_date"], adm["visit_start_date"])
        died = (days >= 0) & (days <= 30)
        return _cube(
            adm,
            "visit_start_date",
            {"denominator": pd.Series(1, index=adm.index), "numerator": died.fillna(False)},
        )
    adm = adm[adm["visit_end_date"].notna()].reset_index(drop=True)
    if indicator == "hip_fracture_los":
        los = _days(adm["visit_end_date"], adm["visit_start_date"])
        return _cube(
            adm,
            "visit_start_date",
            {"admissions": pd.Series(1, index=adm.index), "los_days_sum": los},
        )
    if indicator == "hip_fracture_osteoporosis_drug_90d":
        drugs = x["drug_exposure"]
        drugs = drugs[_norm(drugs["drug_source_value"]).str.startswith("M05B")]
        merged = adm[["visit_occurrence_id", "person_id", "visit_end_date"]].merge(
            drugs, on="person_id"
        )
        days = _days(merged["drug_exposure_start_date"], merged["visit_end_date"])
        treated = set(merged.loc[(days >= 1) & (days <= 90), "visit_occurrence_id"])
        return _cube(
            adm,
            "visit_start_date",
            {
                "denominator": pd.Series(1, index=adm.index),
                "numerator": adm["visit_occurrence_id"].isin(treated),
            },
        )
    raise KeyError(indicator)
