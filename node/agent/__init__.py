"""The node agent: enrolment, the poll-run-upload cycle, the outbox and the audit log.

The node only ever calls out to the coordinator (``transport``).  Tasks are
checked (``checks``) before anything runs, results are stored in the outbox
(``store``) before they are uploaded, and every task, decision and byte sent
is recorded in a hash-chained audit log (``audit``).
"""

from .agent import Agent, Cycle
from .audit import AuditLog
from .enrol import Enrolment, enrol
from .errors import AgentError, CoordinatorRefused, CoordinatorUnavailable, TaskRefused
from .service import Service, backoff_delay
from .state import NodeState

__all__ = [
    "Agent",
    "AgentError",
    "AuditLog",
    "CoordinatorRefused",
    "CoordinatorUnavailable",
    "Cycle",
    "Enrolment",
    "NodeState",
    "Service",
    "TaskRefused",
    "backoff_delay",
    "enrol",
]
