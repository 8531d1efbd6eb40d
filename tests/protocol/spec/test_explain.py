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
