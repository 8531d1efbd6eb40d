"""Publish factsheets from the stored rounds: merge each round's results, write the pages.

Where secure aggregation gave a group's exact totals, the linked-table audit
(``protocol.protect_linked``) first withholds every total that, beside the
published node cubes, would narrow a node's suppressed value below k; the
rest replace the merge's intervals.  Services only (no Flask): ``lhs
coordinator publish`` and ``lhs demo`` call it with a database session.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from protocol import QuerySpec, protect_linked

from ..aggregation.services import group_totals
from ..merge.model import NATIONAL, ExactTotals, GroupId
from ..merge.services import merge
from ..merge.validate import published_cubes
from ..registry.models import Region
from ..registry.services import memberships
from ..rounds.services import list_rounds, round_results, round_status
from .services import write_factsheets

__all__ = ["latest_rounds", "publish_factsheets", "safe_totals"]

NATIONAL_NAME = "Nederland"


def latest_rounds(session: Session) -> list[int]:
    """Return, per query, the newest round that holds at least one result."""
    chosen: dict[str, int] = {}
    for status in list_rounds(session):  # newest first
        if status["answered"] and status["query"] not in chosen:
            chosen[status["query"]] = int(status["round_id"])
    return sorted(chosen.values())


def safe_totals(
    session: Session, round_id: int, spec: QuerySpec, results: dict[str, Any], k: int
) -> tuple[ExactTotals, dict[GroupId, tuple[str, ...]]]:
    """Return the exact group totals the linked-table audit lets out, and the nodes each sums."""
    exact = group_totals(session, round_id)
    if not exact:
        return {}, {}
    cubes = published_cubes(spec, results, k)
    groups = {group: members for group, (members, _) in exact.items()}
    totals = {group: cells for group, (_, cells) in exact.items()}
    return protect_linked(cubes, groups, totals, k).totals, groups


def publish_factsheets(
    session: Session,
    out_dir: Path,
    round_ids: Sequence[int] | None = None,
    *,
    title: str = "lhs factsheets",
) -> list[Path]:
    """Merge the given rounds (default: the latest per query) and write every factsheet."""
    ids = list(round_ids) if round_ids else latest_rounds(session)
    members = memberships(session)
    round_set = []
    for round_id in ids:
        spec, results = round_results(session, round_id)
        if not results:
            continue
        k = round_status(session, round_id)["min_cell"]
        exact, summed = safe_totals(session, round_id, spec, results, k)
        merged = merge(spec, results, members, exact_totals=exact, exact_members=summed, min_cell=k)
        round_set.append((spec, merged))
    names = {(r.kind, r.code): r.name for r in session.scalars(sa.select(Region))}
    names[("national", NATIONAL)] = NATIONAL_NAME
    return write_factsheets(out_dir, round_set, title=title, area_names=names)
