"""The tables of an extract: their columns, and the rows gathered as the simulation draws them."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

__all__ = ["TABLE_COLUMNS", "Events", "Extract"]

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
    "measurement": [
        "measurement_id",
        "person_id",
        "measurement_concept_id",
        "measurement_date",
        "value_as_number",
        "measurement_source_value",
    ],
    "observation": [
        "observation_id",
        "person_id",
        "observation_concept_id",
        "observation_date",
        "value_as_number",
        "observation_source_value",
    ],
}


@dataclass
class Events:
    """Columns of one table, gathered as arrays and concatenated once."""

    parts: dict[str, list[np.ndarray]] = field(default_factory=dict)

    def add(self, **columns: npt.ArrayLike) -> None:
        """Append rows; a scalar column is repeated for every row of the first column."""
        n = len(next(iter(columns.values())))  # type: ignore[arg-type]
        for name, values in columns.items():
            values = np.asarray(values)
            if values.ndim == 0:
                values = np.full(n, values)
            self.parts.setdefault(name, []).append(values)

    def column(self, name: str) -> np.ndarray:
        """All values of one column so far (empty if none was added)."""
        return np.concatenate(self.parts[name]) if name in self.parts else np.array([])


class Extract:
    """Every table of one extract as it is drawn, with visits numbered in the order drawn."""

    # The steps pass 0-based person indices; person_id is index + 1.

    def __init__(self) -> None:
        self.tables: dict[str, Events] = {name: Events() for name in TABLE_COLUMNS}
        self._last_visit = 0

    def add(self, table: str, **columns: npt.ArrayLike) -> None:
        """Append rows to ``table``."""
        self.tables[table].add(**columns)

    def visits(
        self, people: np.ndarray, concept: np.ndarray, start: np.ndarray, end: np.ndarray
    ) -> np.ndarray:
        """Add one visit for each of ``people``; return the new visit ids."""
        first = self._last_visit + 1
        vid = np.arange(first, first + len(people), dtype=np.int64)
        self._last_visit += len(people)
        self.add(
            "visit_occurrence",
            visit_occurrence_id=vid,
            person_id=people + 1,
            visit_concept_id=concept,
            visit_start_date=start,
            visit_end_date=end,
            visit_type_concept_id=32817,
        )
        return vid

    def conditions(
        self,
        people: np.ndarray,
        day: np.ndarray,
        codes: np.ndarray,
        vid: np.ndarray | None = None,
    ) -> None:
        """Add one diagnosis for each of ``people``, within a visit if ``vid`` is given."""
        self.add(
            "condition_occurrence",
            person_id=people + 1,
            condition_start_date=day,
            condition_source_value=codes,
            condition_concept_id=0,
            visit_occurrence_id=(np.full(len(people), -1) if vid is None else vid),
        )

    def procedures(self, people: np.ndarray, day: np.ndarray, codes: np.ndarray) -> None:
        """Add one procedure for each of ``people``."""
        self.add(
            "procedure_occurrence",
            person_id=people + 1,
            procedure_date=day,
            procedure_source_value=codes,
            procedure_concept_id=0,
        )

    def values(
        self, table: str, people: np.ndarray, day: np.ndarray, codes: np.ndarray, value: np.ndarray
    ) -> None:
        """Add one measurement or observation (NaN: no value) for each of ``people``."""
        self.add(
            table,
            person_id=people + 1,
            **{f"{table}_concept_id": 0, f"{table}_date": day},
            value_as_number=np.asarray(value, dtype=float),
            **{f"{table}_source_value": codes},
        )

    def drugs(self, people: np.ndarray, day: np.ndarray, codes: np.ndarray) -> None:
        """Add one drug exposure for each of ``people``."""
        self.add(
            "drug_exposure",
            person_id=people + 1,
            drug_exposure_start_date=day,
            drug_source_value=codes,
            drug_concept_id=0,
        )
