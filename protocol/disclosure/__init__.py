"""Disclosure control: protect a cube, prove it with an LP audit, and protect group tables.

For one cube: primary and secondary suppression (``protect``), the LP audit that proves
no suppressed value can be narrowed below k (``audit``), the feasible bounds of every
suppressed value (``suppressed_bounds``) and the audit run again on published values
alone (``check_published``).

Across releases: units grouped into atoms by the published cells holding them (``atoms_of``)
and the small atoms that everything one node published narrows below k (``narrowed_atoms``).

Across providers: the cells a round shows (``shown_keys``), a provider's headline
(``protect_headline``), and the exact group tables of overlapping groups protected jointly,
with every provider's headline beside them (``protect_group_tables``).
"""

from ._audit import AuditResult, audit
from ._bounds import Bound, PublishedCube, suppressed_bounds
from ._cube import Cube, Key, MeasureDef
from ._groups import GroupTables, protect_group_tables
from ._joint import Atoms, NarrowAtom, atoms_of, narrowed_atoms
from ._protect import FEW_PERSONS, ProtectedCube, SuppressionReport, primary_suppression, protect
from ._recheck import check_published
from ._round import protect_shown_tables
from ._shown import (
    MIN_MEMBERS,
    GroupId,
    Headline,
    protect_headline,
    shown_cell,
    shown_keys,
)

__all__ = [
    "FEW_PERSONS",
    "MIN_MEMBERS",
    "Atoms",
    "AuditResult",
    "Bound",
    "Cube",
    "GroupId",
    "GroupTables",
    "Headline",
    "Key",
    "MeasureDef",
    "NarrowAtom",
    "ProtectedCube",
    "PublishedCube",
    "SuppressionReport",
    "atoms_of",
    "audit",
    "check_published",
    "narrowed_atoms",
    "primary_suppression",
    "protect",
    "protect_group_tables",
    "protect_headline",
    "protect_shown_tables",
    "shown_cell",
    "shown_keys",
    "suppressed_bounds",
]
