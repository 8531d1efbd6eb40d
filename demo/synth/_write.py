"""Writing the drawn tables as CSV or Parquet files, all at once or not at all."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ._tables import TABLE_COLUMNS, Events

__all__ = ["to_arrow", "write_tables"]

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
NULLABLE_INT = {"visit_occurrence_id"}


def write_tables(
    tables: dict[str, Events], out: Path, fmt: Literal["csv", "parquet"]
) -> dict[str, int]:
    """Write one file per table into the new folder ``out``; return rows per table."""
    # Written into a staging folder beside ``out`` and renamed, so that a failure
    # leaves no half-written extract behind.
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    counts: dict[str, int] = {}
    try:
        for name, events in tables.items():
            arrow = to_arrow(events, name)
            counts[name] = arrow.num_rows
            _write_file(arrow, staging / name, fmt)
        if out.exists():
            out.rmdir()
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return counts


def _write_file(arrow: pa.Table, stem: Path, fmt: Literal["csv", "parquet"]) -> None:
    """Write one table to ``stem`` plus the format's suffix."""
    if fmt == "parquet":
        pq.write_table(arrow, stem.with_name(f"{stem.name}.parquet"))
    else:
        pacsv.write_csv(
            arrow,
            stem.with_name(f"{stem.name}.csv"),
            pacsv.WriteOptions(quoting_style="needed"),
        )


def to_arrow(events: Events, table: str) -> pa.Table:
    """The gathered rows of ``table`` as an Arrow table with the table's columns in order."""
    n = len(events.column("person_id"))
    columns = {}
    for name in TABLE_COLUMNS[table]:
        if name not in events.parts:  # a row id the simulation leaves to numbering
            columns[name] = pa.array(np.arange(1, n + 1, dtype=np.int64))
        else:
            columns[name] = _column(name, events.column(name))
    return pa.table(columns)


def _column(name: str, values: np.ndarray) -> pa.Array:
    """One column as Arrow: dates and nullable ids take -1 for null."""
    if name in DATE_COLUMNS:
        values = values.astype(np.int64)
        return pa.array(values.astype(np.int32), type=pa.date32(), mask=values == -1)
    if name == "value_as_number":
        values = values.astype(float)
        return pa.array(values, type=pa.float64(), mask=np.isnan(values))
    if values.dtype == object:
        return pa.array(values.astype(str), type=pa.string())
    if name in NULLABLE_INT:
        return pa.array(values.astype(np.int64), mask=values == -1)
    return pa.array(values.astype(np.int64))
