"""The plain-language reading a reviewer approves."""

from __future__ import annotations

from protocol import explain, load_spec, spec_hash
from queries import library_paths


def _spec(name: str):
    return load_spec(next(p for p in library_paths() if p.stem == name))


def test_palliative_reading_names_cohort_window_codes_and_disclosure() -> None:
    spec = _spec("ed_visits_2plus_last_30d")
    text = explain(spec)
    assert spec_hash(spec) in text
    assert "one unit = one person" in text
    assert "ICD-10 C00-C97" in text
    assert "at least 2 visit (visit_occurrence row): emergency department visit" in text
    assert "9203 (emergency room visit)" in text
    assert "from 30 days before the date of death to the date of death" in text
    assert "31 days" in text
    assert "Minimum cell size k = 10" in text
    assert "no identifiers" in text
    for dim in ("year", "sex", "age_band"):
        assert f"  {dim}: " in text


def test_hip_fracture_reading_names_visit_link_age_and_discharge_window() -> None:
    text = explain(_spec("hip_fracture_osteoporosis_drug_90d"), min_cell=15)
    assert "one unit = one visit" in text
    assert "aged 65 or older" in text
    assert "same visit" in text
    assert "from 1 day after the discharge date to 90 days after the discharge date" in text
    assert "discharge date recorded" in text
    assert "k = 15" in text


def test_open_end_window_is_explained() -> None:
    text = explain(_spec("died_in_hospital"))
    assert "visit_end_date empty (still open)" in text
    assert "at any time up to the date of death (inclusive)" in text


def test_delivery_reading_names_events_bands_exclusion_and_the_epds() -> None:
    text = explain(_spec("postpartum_depression_symptoms"))
    assert "one unit = one event" in text
    assert "all such rows of one person on one day are one unit" in text
    assert "who do NOT have at least 1 death" in text
    assert "death_date at any time up to 1 day before the event date" in text
    assert "a unit dated before the person's year of birth is excluded" in text
    assert "the earliest observation" in text and "LOINC 71354-5" in text
    assert "with value_as_number from 0 to 30 (a row without a value" in text
    assert "from 28 days after the event date to 84 days after the event date" in text
    assert "of several on that day, the highest value counts" in text
    assert "whose value 'epds' is 13 or more" in text
    assert "the squares of the value 'epds', each rounded to a whole number" in text
    assert "  maternal_age_band: the mother's age band at delivery (<20, 20-24" in text


def test_knee_reading_names_sides_and_the_change() -> None:
    text = explain(_spec("knee_oks_change_1y"))
    assert "with one side (character 4 of the code)" in text
    assert "both sides on one day are two units" in text
    assert "the latest observation" in text and "the earliest observation" in text
    assert "change from 'baseline' to 'follow_up' (follow_up minus baseline) is 5 or more" in text
    revision = explain(_spec("knee_revision_1y"))
    assert "on the same side (the same code character as the unit's side)" in revision


def test_ckd_reading_names_person_years_and_values() -> None:
    text = explain(_spec("ckd_egfr_below_15"))
    assert "one unit = one person-year" in text
    assert "dated in that year at least 90 days apart" in text
    assert "and a value below 60" in text and "and a value below 15" in text
    assert "measurement_date in the unit's calendar year" in text
    assert "number of person-years in the cohort" in text
