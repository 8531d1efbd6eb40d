"""Specs one restriction apart: what a reviewer should see before approving a near copy.

Two specs that count the same cohort except for one restriction (an age bound, a window bound,
a code list, a set of breakdowns, one more required event) release two counts whose
difference is the few units the restriction tells apart.  Words (ids, titles, labels, names)
and the disclosure settings are not restrictions; everything else is compared field by field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ._model import QuerySpec

__all__ = ["Neighbour", "neighbours", "restriction_differences", "same_count"]

WORDS = frozenset({"id", "version", "title", "description", "label", "name", "disclosure"})
"""Fields that change what a spec is called, not whom it counts."""

_FIELDS = {
    "age": "age at the index date",
    "min": "at least",
    "max": "at most",
    "from": "window from day",
    "to": "window to day",
    "relative_to": "window counted from",
    "icd10": "ICD-10 codes",
    "atc": "ATC codes",
    "source_codes": "source codes",
    "concepts": "concept ids",
    "visit_concepts": "visit concepts",
    "require_dates": "required dates",
    "require": "required events",
    "dimensions": "breakdowns",
    "at_least": "at least this many events",
    "same_visit": "on the same admission",
    "end_window": "end window",
    "unit": "unit",
    "index": "index date",
    "table": "event table",
    "kind": "measure kind",
}

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Neighbour:
    """Another spec one restriction away, and that restriction in words."""

    ref: str
    """How the other spec is named to the reader (an id and version, or a hash)."""
    difference: str


def restriction_differences(a: QuerySpec, b: QuerySpec) -> list[tuple[Path, Any, Any]]:
    """Return every restriction in which two specs differ: (path, value in a, value in b)."""
    return _diff(_data(a), _data(b), ())


def same_count(a: QuerySpec, a_measure: str, b: QuerySpec, b_measure: str) -> bool:
    """Return whether a measure of ``a`` and one of ``b`` count the same units, words aside:
    the same cohort and the same measure (a count is the same whatever else the specs hold)."""
    first, second = _data(a), _data(b)
    this = next(m for m in first["measures"] if m["name"] == a_measure)
    that = next(m for m in second["measures"] if m["name"] == b_measure)
    return not _diff(first["cohort"], second["cohort"], ()) and not _diff(this, that, ())


def neighbours(spec: QuerySpec, others: Iterable[tuple[str, QuerySpec]]) -> list[Neighbour]:
    """Return the specs of ``others`` (name, spec) exactly one restriction away from ``spec``."""
    found = []
    for ref, other in others:
        differences = restriction_differences(spec, other)
        if len(differences) == 1:
            found.append(Neighbour(ref, _words(spec, *differences[0])))
    return found


def _data(spec: QuerySpec) -> dict[str, Any]:
    return spec.model_dump(mode="json", by_alias=True)


def _diff(a: Any, b: Any, path: Path) -> list[tuple[Path, Any, Any]]:
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        out = []
        for key in sorted(set(a) | set(b)):
            if key not in WORDS:
                out += _diff(a.get(key), b.get(key), (*path, key))
        return out
    if isinstance(a, list) and isinstance(b, list):
        if all(isinstance(x, dict) for x in a + b):
            if len(a) == len(b):  # the same events or measures: compare them one by one
                pairs = enumerate(zip(a, b, strict=True))
                return [d for i, (x, y) in pairs for d in _diff(x, y, (*path, i))]
        else:
            a, b = sorted(map(str, a)), sorted(map(str, b))  # a code list is a set
    return [] if a == b else [(path, a, b)]


def _words(spec: QuerySpec, path: Path, here: Any, there: Any) -> str:
    """Say one difference in plain words: where it is, and its value here and there."""
    where = _where(spec, path)
    field = _FIELDS.get(str(path[-1]), str(path[-1]))
    return f"{where}{field}: {_value(here)} here, {_value(there)} there"


def _where(spec: QuerySpec, path: Path) -> str:
    if path[:2] == ("cohort", "require") and len(path) > 3:
        criterion = spec.cohort.require[int(path[2])]
        return f"required event {int(path[2]) + 1} ({criterion.label}), "
    if path[:1] == ("measures",) and len(path) > 2:
        return f"measure {spec.measures[int(path[1])].name}, "
    if path[:2] == ("cohort", "age") and len(path) > 2:
        return "age at the index date "
    return ""


def _value(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "none"
    if isinstance(value, dict):
        said = [f"{_FIELDS.get(k, k)} {v}" for k, v in value.items() if v is not None]
        return ", ".join(said) or "none"
    return str(value)
