"""Import every area's tables so ``Base.metadata`` is complete (Alembic and tests need it)."""

from __future__ import annotations

from .accounts.models import ApiToken, User
from .aggregation.models import AggAttempt, AggMessage
from .audit.models import AuditEvent
from .cycles.models import Cycle, CycleRound, ImprovementAction
from .factsheets.models import GroupRelease
from .registry.models import EnrolmentCode, Membership, Node, Organisation, Region
from .review.models import Decision, Spec
from .rounds.models import PollNonce, Result, Round, Task
from .throttle.models import RefusalCount, Throttle

__all__ = [
    "AggAttempt",
    "AggMessage",
    "ApiToken",
    "AuditEvent",
    "Cycle",
    "CycleRound",
    "Decision",
    "EnrolmentCode",
    "GroupRelease",
    "ImprovementAction",
    "Membership",
    "Node",
    "Organisation",
    "PollNonce",
    "RefusalCount",
    "Region",
    "Result",
    "Round",
    "Spec",
    "Task",
    "Throttle",
    "User",
]
