"""Earlier group releases, as a round's group tables must be audited with them.

Whatever a publication showed stays public.  Every group value of every publication is kept
(``group_releases``: the exact value, and whether it was shown or withheld).  Before a
round's tables are protected, the values kept for the same group and cell are looked up:

- a round published before whose tables have not changed is shown again as it was
  (``Earlier.frozen``): a second pattern beside the first would tell what both hide;
- of a measure counting the same units (same cohort, same measure: a rerun, a refreshed
  extract, a breakdown variant, another spec of the cohort), a shown value equal to this
  round's is *known* (public whatever this round withholds), and a withheld value equal
  to this round's stays withheld (showing it would undo that earlier protection);
- of the same spec, of a spec one restriction away (an age bound, a window, a code list, a
  breakdown: ``protocol.restriction_differences``) or of a measure counting the same units,
  a shown value that differs from this round's by 1..k-1 gives that difference away: this
  round's value is withheld and kept k wide (a *difference*, ``protect_group_tables``;
  unless the headlines or values known before give it whatever is withheld).

The coordinator needs nothing more from nodes for this: it holds each group's exact table,
and the specs say which counts nest.  Services only (no Flask).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from protocol import COUNT_KINDS, Key, QuerySpec, parse_spec, restriction_differences, same_count

from ..merge.model import GroupId
from ..rounds.models import Round
from .models import GroupRelease

__all__ = ["Earlier", "cell_name", "earlier_releases", "record_releases"]

Cell = tuple[GroupId, Key, str]
Tables = Mapping[GroupId, Mapping[Key, Mapping[str, int]]]
Published = dict[GroupId, dict[Key, dict[str, int | None]]]


@dataclass
class Earlier:
    """What earlier publications mean for this round's group values."""

    withhold: set[Cell] = field(default_factory=set)
    """Values withheld before, of the same units and equal now."""
    known: set[Cell] = field(default_factory=set)
    """Values shown before, of the same units and equal now."""
    differences: set[Cell] = field(default_factory=set)
    """Values 1..k-1 away from one shown before."""
    frozen: Published | None = None
    """This round as published before, when its tables have not changed since."""


def cell_name(dimensions: Sequence[str], key: Key) -> str:
    """Return a cell's name across specs: its fixed dimensions, as JSON."""
    return json.dumps([[d, v] for d, v in zip(dimensions, key, strict=True) if v is not None])


def earlier_releases(
    session: Session, round_id: int, spec: QuerySpec, tables: Tables, k: int
) -> Earlier:
    """Return what publications before this one mean for this round's group values."""
    rows = list(session.scalars(sa.select(GroupRelease).order_by(GroupRelease.id)))
    names = {
        (group, cell_name(spec.dimensions, key)): key
        for group, table in tables.items()
        for key in table
    }
    own = [row for row in rows if row.round_id == round_id]
    frozen = _frozen(own, names, tables)
    if frozen is not None:
        return Earlier(frozen=frozen)
    out = Earlier()
    related = _relations(spec, round_id, _round_specs(session))
    for row in rows:
        key = names.get(((row.level, row.area), row.cell))
        if key is None:
            continue
        group = (row.level, row.area)
        for name, alike in related.get((row.round_id, row.measure), ()):
            cell, value = (group, key, name), int(tables[group][key][name])
            if alike and value == row.value:
                (out.known if row.shown else out.withhold).add(cell)
            elif row.shown and 0 < abs(value - row.value) < k:
                out.differences.add(cell)
    out.known -= out.withhold | out.differences
    return out


def record_releases(
    session: Session, round_id: int, spec: QuerySpec, tables: Tables, published: Published
) -> int:
    """Keep every group value of a publication, shown or withheld (once); return how many
    were new."""
    now = datetime.now(UTC)
    existing = {
        (r.level, r.area, r.cell, r.measure, r.value, r.shown)
        for r in session.scalars(sa.select(GroupRelease).where(GroupRelease.round_id == round_id))
    }
    added = 0
    for (level, area), table in sorted(published.items()):
        for key, values in table.items():
            cell = cell_name(spec.dimensions, key)
            for name, shown in sorted(values.items()):
                value = int(tables[(level, area)][key][name])
                entry = (level, area, cell, name, value, shown is not None)
                if entry in existing:
                    continue
                session.add(GroupRelease(
                    round_id=round_id, level=level, area=area, cell=cell, measure=name,
                    value=value, shown=shown is not None, published_at=now,
                ))  # fmt: skip
                added += 1
    return added


def _frozen(own: list[GroupRelease], names: Mapping, tables: Tables) -> Published | None:
    """Return the round as published before, if every value kept still equals its table's."""
    if not own:
        return None
    out: Published = {}
    for row in own:
        group = (row.level, row.area)
        key = names.get((group, row.cell))
        if key is None or int(tables[group][key][row.measure]) != row.value:
            return None
        values = out.setdefault(group, {}).setdefault(key, {})
        if row.measure in values:  # published twice with another value: not one pattern
            return None
        values[row.measure] = row.value if row.shown else None
    return out


def _round_specs(session: Session) -> dict[int, QuerySpec]:
    released = sa.select(GroupRelease.round_id).distinct()
    rounds = session.scalars(sa.select(Round).where(Round.id.in_(released)))
    return {r.id: parse_spec(r.spec.yaml, source=r.spec.spec_hash) for r in rounds}


def _relations(
    spec: QuerySpec, round_id: int, specs: Mapping[int, QuerySpec]
) -> dict[tuple[int, str], list[tuple[str, bool]]]:
    """Return, per earlier round and count, this spec's counts it bears on, each with whether
    it counts the same units (else it is the same count of a spec one restriction away)."""
    counts = [m.name for m in spec.measures if m.kind in COUNT_KINDS]
    out: dict[tuple[int, str], list[tuple[str, bool]]] = {}
    for other_round, other in specs.items():
        near = (
            other_round == round_id
            or other.id == spec.id
            or len(restriction_differences(spec, other)) <= 1
        )
        for measure in (m.name for m in other.measures if m.kind in COUNT_KINDS):
            for name in counts:
                alike = same_count(spec, name, other, measure)
                if alike or (near and measure == name):
                    out.setdefault((other_round, measure), []).append((name, alike))
    return out
