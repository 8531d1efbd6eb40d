"""Merge node cubes into national, network, zorgkantoor and province cubes (issue 3, part 4)."""

from .model import (
    FEWER_THAN_3,
    LEVELS,
    MIN_PROVIDERS,
    NATIONAL,
    ExactTotals,
    GroupId,
    Membership,
    MergedGroup,
    MergedResult,
    MergedValue,
    NodeCube,
)
from .services import group_members, merge, merge_group
from .validate import MergeInputError, published_cubes, validate_memberships, validate_result

__all__ = [
    "FEWER_THAN_3",
    "LEVELS",
    "MIN_PROVIDERS",
    "NATIONAL",
    "ExactTotals",
    "GroupId",
    "Membership",
    "MergeInputError",
    "MergedGroup",
    "MergedResult",
    "MergedValue",
    "NodeCube",
    "group_members",
    "merge",
    "merge_group",
    "published_cubes",
    "validate_memberships",
    "validate_result",
]
