"""Errors of the node agent: each message is one line naming the problem."""

from __future__ import annotations

from ..errors import NodeError

__all__ = ["AgentError", "CoordinatorRefused", "CoordinatorUnavailable", "TaskRefused"]


class AgentError(NodeError):
    """The agent cannot do what was asked: keys, enrolment, state or an admin action."""


class CoordinatorUnavailable(AgentError):
    """The coordinator cannot be reached or failed (5xx); the agent tries again later."""


class CoordinatorRefused(AgentError):
    """The coordinator answered with an error (4xx): its code and message say why."""

    def __init__(self, message: str, *, status: int, code: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class TaskRefused(Exception):
    """A task failed a check; ``code`` is the short reason recorded in the audit log."""

    def __init__(self, code: str, message: str, task_id: str | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.task_id = task_id
