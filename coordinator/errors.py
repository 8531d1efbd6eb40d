"""Errors the coordinator's rules raise; the API turns each into one JSON error body.

Services never import Flask: they raise a ``ServiceError`` carrying the HTTP status, a
stable machine-readable ``code`` and a one-line ``message`` naming the problem, or let a
message's own check (``protocol.MessageInvalid``, with its code) speak for them.
"""

from __future__ import annotations

from protocol import LhsError, MessageInvalid

__all__ = [
    "BadRequest",
    "ConfigError",
    "Conflict",
    "Forbidden",
    "NotFound",
    "ServiceError",
    "TooManyRequests",
    "Unauthorized",
    "refused_message",
]


class ServiceError(LhsError):
    """A refusal: HTTP status, stable code and a one-line message."""

    status = 400

    def __init__(
        self,
        code: str,
        message: str,
        *,
        subject: str | None = None,
        failures: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.subject = subject
        self.failures = failures
        """Throttle keys this refusal counts a failed guess against."""

    def body(self) -> dict[str, object]:
        """Return the one error body shape of the API."""
        return {"status": self.status, "code": self.code, "message": self.message}


class BadRequest(ServiceError):
    """The request is malformed or breaks a rule (400)."""

    status = 400


class Unauthorized(ServiceError):
    """No valid credentials came with the request (401)."""

    status = 401


class Forbidden(ServiceError):
    """The caller is known but may not do this (403)."""

    status = 403


class NotFound(ServiceError):
    """The thing named does not exist (404)."""

    status = 404


class Conflict(ServiceError):
    """The request clashes with what is stored (409)."""

    status = 409


class TooManyRequests(ServiceError):
    """Too many failed attempts: the key is locked for a while (429)."""

    status = 429

    def __init__(self, code: str, message: str, *, retry_after: int) -> None:
        super().__init__(code, message)
        self.retry_after = retry_after


class ConfigError(LhsError):
    """The coordinator is set up wrongly (a setting, the key file, the database)."""


_MESSAGE_STATUS: dict[str, type[ServiceError]] = {"unknown_task": NotFound}
"""Message refusals that are not a 400: a result naming no task is answered as an unknown one."""


def refused_message(exc: MessageInvalid) -> ServiceError:
    """Return the refusal of a message that breaks the wire format, with its code."""
    return _MESSAGE_STATUS.get(exc.code, BadRequest)(exc.code, exc.message)
