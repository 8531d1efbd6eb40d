"""The merged cube of a round: per level and area, each value exact, withheld or an interval.

A group's value comes from its protected group table (``source`` ``group_table``): exact where
the joint protection published it, withheld where it did not.  A member whose value the
table does not sum (it declined secure aggregation, or dropped out) adds what it published
itself; where that is a suppressed value or a breakdown of a headline, the value becomes the
interval ``[sum of lows, sum of highs]`` over what anyone can infer from its publication.  A
group without a table is such a sum of its members' publications alone (``source`` ``nodes``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from protocol import (
    HEADLINE,
    MIN_MEMBERS,
    Bound,
    GroupId,
    Key,
    MeasureDef,
    PublishedCube,
    suppressed_bounds,
)

__all__ = [
    "FEWER_THAN_3",
    "LEVELS",
    "MIN_PROVIDERS",
    "NATIONAL",
    "SMALL_NUMBERS",
    "ExactTotals",
    "GroupId",
    "GroupTable",
    "Membership",
    "MergedGroup",
    "MergedResult",
    "MergedValue",
    "NodeCube",
]

LEVELS = ("national", "network", "zorgkantoor", "province")
"""Aggregation levels, widest first."""

NATIONAL = "NL"
"""The one area of the national level."""

MIN_PROVIDERS = MIN_MEMBERS
"""Fewer providers than this and a group total is as good as node-level output."""

FEWER_THAN_3 = "fewer than 3 providers"
SMALL_NUMBERS = "to protect small numbers"

GroupTable = Mapping[Key, Mapping[str, int | None]]
"""A group's protected table: per shown cell and measure, the exact value or None (withheld)."""

ExactTotals = Mapping[GroupId, GroupTable]
"""Protected group tables by group."""

Source = Literal["nodes", "group_table", "withheld"]


@dataclass(frozen=True)
class Membership:
    """Which organisation runs a node and which areas it belongs to (None = none)."""

    organisation: str
    network: str | None = None
    zorgkantoor: str | None = None
    province: str | None = None

    def area(self, level: str) -> str | None:
        """Return the node's area code at a level."""
        return NATIONAL if level == "national" else getattr(self, level)


@dataclass(frozen=True)
class NodeCube:
    """One node's validated published result; its suppressed values' bounds are solved once."""

    node_id: str
    min_cell: int
    cube: PublishedCube
    scope: str = "cube"
    """``headline`` (the overall values only) or ``cube`` (every cell)."""
    years: tuple[int, int] | None = None
    """Headline only: the first and last year it counted units in (the coordinator's alone)."""

    @cached_property
    def bounds(self) -> dict[tuple[Key, str], Bound]:
        """Return the feasible interval of every suppressed value of this cube."""
        return suppressed_bounds(self.cube)

    def contribution(self, key: Key, measure: str) -> tuple[float, float, bool]:
        """Return (low, high, suppressed) of one value; a cell outside the node's grid is 0."""
        if self.scope == HEADLINE and any(v is not None for v in key):
            return self._breakdown(key, measure)
        values = self.cube.cells.get(key)
        if values is None:
            # The grid spans every value the node saw: a key beyond it counts no units.
            return 0, 0, False
        value = values[measure]
        if value is not None:
            return value, value, False
        low, high = self.bounds[(key, measure)]
        return low, high, True

    def _breakdown(self, key: Key, measure: str) -> tuple[float, float, bool]:
        # A headline bounds each breakdown by its overall value, no closer: the years the
        # node counted units in are the coordinator's to lay out sums, never a page's.
        if any(m.signed for m in self.cube.measures if m.name == measure):
            return -math.inf, math.inf, True  # a sum of changes: any part may be negative
        _, high, _ = self.contribution((None,) * len(key), measure)
        return (0, 0, False) if high == 0 else (0, high, True)


@dataclass(frozen=True)
class MergedValue:
    """One merged value: exact, or an interval because some nodes suppressed theirs."""

    low: int
    high: float
    suppressed_at: int = 0
    """How many contributing nodes withheld their own value."""
    source: Source = "nodes"

    @classmethod
    def withheld(cls) -> MergedValue:
        """Return a value the group table's protection withheld."""
        return cls(0, math.inf, 0, "withheld")

    @classmethod
    def summed(
        cls, low: float, high: float, suppressed_at: int, source: Source = "nodes"
    ) -> MergedValue:
        """Return a sum of contributions; one unbounded below (a signed sum) says nothing."""
        if math.isinf(low):
            return cls.withheld()
        return cls(int(low), high, suppressed_at, source)

    @property
    def exact(self) -> bool:
        """Return whether the value is known exactly."""
        return self.source != "withheld" and self.low == self.high

    @property
    def value(self) -> int | None:
        """Return the exact value, or None when withheld or only an interval is known."""
        return self.low if self.exact else None

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form; a withheld value has no bounds, an unbounded high is null."""
        if self.source == "withheld":
            return {"exact": False, "withheld": True, "source": self.source}
        return {
            "exact": self.exact,
            "value": self.value,
            "low": self.low,
            "high": None if math.isinf(self.high) else int(self.high),
            "suppressed_at": self.suppressed_at,
            "source": self.source,
        }


@dataclass(frozen=True)
class MergedGroup:
    """The merged cube of one area, or why it is withheld."""

    level: str
    area: str
    members: tuple[str, ...]
    """Nodes of this area, answered or not."""
    nodes: tuple[str, ...]
    """Nodes whose result was merged."""
    providers: int
    """Distinct organisations among ``nodes``."""
    cells: dict[Key, dict[str, MergedValue]] = field(default_factory=dict)
    withheld: str | None = None

    @property
    def published(self) -> bool:
        """Return whether the group's aggregates may be published."""
        return self.withheld is None

    def to_dict(self, dimensions: tuple[str, ...]) -> dict[str, Any]:
        """Return the JSON form: cells as dimension values plus one object per measure."""
        return {
            "level": self.level,
            "area": self.area,
            "members": list(self.members),
            "nodes": list(self.nodes),
            "providers": self.providers,
            "published": self.published,
            "withheld": self.withheld,
            "cells": [
                {
                    **dict(zip(dimensions, key, strict=True)),
                    **{name: value.to_dict() for name, value in values.items()},
                }
                for key, values in self.cells.items()
            ],
        }


@dataclass(frozen=True)
class MergedResult:
    """Every level and area of one spec's round, with the node cubes they came from."""

    query: str
    version: int
    spec_hash: str
    dimensions: tuple[str, ...]
    measures: tuple[MeasureDef, ...]
    min_cell: int
    """The highest k any contributing node protected its cube with."""
    nodes: dict[str, NodeCube]
    memberships: dict[str, Membership]
    groups: dict[GroupId, MergedGroup]

    def group(self, level: str, area: str) -> MergedGroup:
        """Return the merged group of one area."""
        return self.groups[(level, area)]

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form of every group."""
        return {
            "query": self.query,
            "version": self.version,
            "spec_hash": self.spec_hash,
            "min_cell": self.min_cell,
            "dimensions": list(self.dimensions),
            "measures": [
                {"name": m.name, "kind": m.kind, "parent": m.parent} for m in self.measures
            ],
            "groups": [g.to_dict(self.dimensions) for g in self.groups.values()],
        }
