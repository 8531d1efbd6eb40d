"""Disclosure control: protect a cube, prove it with an LP audit, and protect linked tables.

For one cube: primary and secondary suppression (``protect``), the LP audit that proves
no suppressed value can be narrowed below k (``audit``), the feasible bounds of every
suppressed value (``suppressed_bounds``) and the audit run again on published values
alone (``check_published``).

Across cubes: the cells each group may sum by secure aggregation, chosen from the
published cubes alone (``aggregation_cells``), and which exact group totals may be
published beside the node cubes (``protect_linked``).  Group tables: the shown cells of
overlapping groups protected jointly, with every provider in them (``protect_group_tables``).
"""

from ._audit import AuditResult, audit
from ._bounds import Bound, PublishedCube, suppressed_bounds
from ._cube import Cube, Key, MeasureDef
from ._groups import GroupTables, protect_group_tables, shown_keys
from ._layout import aggregation_cells
from ._linked import LinkedResult, protect_linked
from ._linked_table import MIN_MEMBERS, GroupId
from ._protect import ProtectedCube, SuppressionReport, primary_suppression, protect
from ._recheck import check_published

__all__ = [
    "MIN_MEMBERS",
    "AuditResult",
    "Bound",
    "Cube",
    "GroupId",
    "GroupTables",
    "Key",
    "LinkedResult",
    "MeasureDef",
    "ProtectedCube",
    "PublishedCube",
    "SuppressionReport",
    "aggregation_cells",
    "audit",
    "check_published",
    "primary_suppression",
    "protect",
    "protect_group_tables",
    "protect_linked",
    "shown_keys",
    "suppressed_bounds",
]
