"""Publish factsheets from the stored rounds: protect each round's group tables, merge, write.

Secure aggregation gave every group with enough members taking part its exact table of the
shown cells.  Before anything is published, the tables of all groups of a round are
protected jointly with every provider's headline (``protocol.protect_group_tables``): no
value of 1..k-1, of a group or of one provider, can be narrowed below k from everything the
round publishes.  What earlier publications showed comes in too (``history``): values they
make known, and values that differ from one of them by 1..k-1; every value published is
recorded for the publications to come.  Services only (no Flask): ``lhs coordinator
publish`` and ``lhs demo`` call it with a database session.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from protocol import (
    HEADLINE,
    DisclosureError,
    Key,
    QuerySpec,
    measure_defs,
    protect_shown_tables,
)

from ..aggregation.services import group_totals
from ..cycles.models import CycleRound
from ..cycles.services import action_view, list_actions
from ..merge.model import NATIONAL, ExactTotals, GroupId, MergedResult
from ..merge.services import merge
from ..merge.validate import validate_result
from ..registry.models import Region
from ..registry.services import memberships
from ..rounds.services import list_rounds, round_results, round_status
from .history import earlier_releases, record_releases
from .services import write_factsheets
from .trends import SeriesRound

__all__ = ["latest_rounds", "protected_tables", "publish_factsheets"]

log = logging.getLogger(__name__)

NATIONAL_NAME = "Nederland"


def latest_rounds(session: Session) -> list[int]:
    """Return, per query, the newest round that holds at least one result."""
    chosen: dict[str, int] = {}
    for status in list_rounds(session):  # newest first
        if status["answered"] and status["query"] not in chosen:
            chosen[status["query"]] = int(status["round_id"])
    return sorted(chosen.values())


def protected_tables(
    session: Session, round_id: int, spec: QuerySpec, results: Mapping[str, Any], k: int
) -> tuple[ExactTotals, dict[GroupId, tuple[str, ...]]]:
    """Return a round's group tables protected jointly, and the nodes each sums."""
    exact = group_totals(session, round_id)
    if not exact:
        return {}, {}
    groups = {group: members for group, (members, _) in exact.items()}
    headlines: dict[str, dict[str, int | None]] = {}
    spans = []
    for node_id, result in results.items():
        node = validate_result(spec, result, node_id=node_id, min_cell=k)
        if node.scope == HEADLINE:
            (headlines[node_id],) = node.cube.cells.values()
            if node.years and any(node_id in m for m in groups.values()):
                spans.append(node.years)
    keys = _shown_years(spec, next(iter(exact.values()))[1], spans)
    tables = {group: {key: cells[key] for key in keys} for group, (_, cells) in exact.items()}
    started = time.perf_counter()
    earlier = earlier_releases(session, round_id, spec, tables, k)
    if earlier.frozen is not None:
        log.info("round %d (%s): shown as published before", round_id, spec.id)
        return earlier.frozen, groups
    protected = protect_shown_tables(
        tables,
        groups,
        spec.dimensions,
        measure_defs(spec),
        k,
        headlines,
        withhold=earlier.withhold,
        known=earlier.known,
        differences=earlier.differences,
    )
    record_releases(session, round_id, spec, tables, protected.published)
    log.info(
        "round %d (%s): %d group tables protected, withheld %s, %d LPs, %.1fs",
        round_id,
        spec.id,
        len(tables),
        protected.withheld,
        protected.lps,
        time.perf_counter() - started,
    )
    return protected.published, groups


def _shown_years(
    spec: QuerySpec, cells: Mapping[Key, Any], spans: list[tuple[int, int]]
) -> list[Key]:
    """Return the cells a page may show: years from the first to the last a summed member
    counted units in (a member that dropped out, and the years only it counted, stay out)."""
    if "year" not in spec.dimensions:
        return list(cells)
    at = spec.dimensions.index("year")
    if not spans:
        return [key for key in cells if key[at] is None]
    first, last = min(s[0] for s in spans), max(s[1] for s in spans)
    return [key for key in cells if key[at] is None or first <= key[at] <= last]


def _merged(
    session: Session, round_id: int, members: Any, progress: Callable[[str], None] | None
) -> tuple[QuerySpec, MergedResult] | None:
    """Protect one round's group tables and merge it; None when it has no result or cannot
    be proven safe beside what was published before."""
    spec, results = round_results(session, round_id)
    if not results:
        return None
    k = round_status(session, round_id)["min_cell"]
    try:
        tables, summed = protected_tables(session, round_id, spec, results, k)
    except DisclosureError as exc:
        # Fail closed: a round that cannot be proven safe beside what was published
        # before is left out (its earlier pages stay as they were).
        log.error("round %d (%s) not published: %s", round_id, spec.id, exc)
        return None
    merged = merge(spec, results, members, group_tables=tables, summed=summed, min_cell=k)
    if progress is not None:
        progress(f"round {round_id} ({spec.id}): group tables protected and merged")
    return spec, merged


def publish_factsheets(
    session: Session,
    out_dir: Path,
    round_ids: Sequence[int] | None = None,
    *,
    title: str = "lhs factsheets",
    progress: Callable[[str], None] | None = None,
) -> list[Path]:
    """Merge the given rounds (default: the latest per query) and every cycle's rounds, and
    write every factsheet; ``progress`` is told each round's protection, as a line."""
    ids = list(round_ids) if round_ids else latest_rounds(session)
    members = memberships(session)
    cycle_rounds = list(
        session.scalars(sa.select(CycleRound).order_by(CycleRound.period_start, CycleRound.id))
    )
    merged: dict[int, tuple[QuerySpec, MergedResult]] = {}
    # Oldest round first: each is protected beside everything published before it.
    for round_id in sorted(set(ids) | {r.round_id for r in cycle_rounds}):
        done = _merged(session, round_id, members, progress)
        if done is not None:
            merged[round_id] = done
    round_set = [merged[i] for i in ids if i in merged]
    series: dict[str, list[SeriesRound]] = {}
    for row in cycle_rounds:
        if row.round_id in merged:
            spec, result = merged[row.round_id]
            series.setdefault(spec.id, []).append(
                SeriesRound(
                    row.cycle.name, row.period_start, row.period_end, row.round_id, spec, result
                )
            )
    actions = [action_view(a) for a in list_actions(session)]
    names = {(r.kind, r.code): r.name for r in session.scalars(sa.select(Region))}
    names[("national", NATIONAL)] = NATIONAL_NAME
    return write_factsheets(
        out_dir, round_set, title=title, area_names=names, series=series, actions=actions
    )
