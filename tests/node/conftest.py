"""Fixtures of the node tests: the test extract and a copy from before three deaths."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from tests.reference import load_extract
from tests.release_attacker import cancer_decedents


@pytest.fixture(scope="session")
def extracts(synth_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The test extract, and a copy from before three of its cancer deaths were recorded."""
    before = tmp_path_factory.mktemp("before") / "extract"
    shutil.copytree(synth_csv, before)
    x = load_extract(synth_csv)
    died = cancer_decedents(x).sort_values("person")["person"].tolist()[:3]
    death = pd.read_csv(before / "death.csv", dtype=str, keep_default_na=False)
    death[~death["person_id"].astype(int).isin(died)].to_csv(before / "death.csv", index=False)
    return {"x": synth_csv, "before": before}
