"""Import every area's tables so ``Base.metadata`` is complete (Alembic and tests need it)."""

from __future__ import annotations

from .accounts.models import ApiToken, User
from .audit.models import AuditEvent
from .registry.models import EnrolmentCode, Membership, Node, Organisation, Region
from .review.models import Decision, Spec
from .rounds.models import PollNonce, Result, Round, Task

__all__ = [
    "ApiToken",
    "AuditEvent",
    "Decision",
    "EnrolmentCode",
    "Membership",
    "Node",
    "Organisation",
    "PollNonce",
    "Region",
    "Result",
    "Round",
    "Spec",
    "Task",
    "User",
]
