"""The exception tree of lhs.

Every error a person can cause, anywhere in lhs, is an ``LhsError`` whose message is
one line naming the problem; the ``lhs`` command prints it and exits non-zero.  The
protocol's own errors are ``ProtocolError``s::

    LhsError
    ├── ProtocolError
    │   ├── SpecInvalid        a spec is malformed, hostile or inconsistent
    │   ├── MessageInvalid     a message breaks the wire format (``code`` says how)
    │   ├── SignatureInvalid   a signed envelope is malformed or its signature is wrong
    │   ├── DisclosureError    a cube cannot be protected as asked
    │   │   └── AuditFailed    a suppressed value would be derivable
    │   └── AggregationError   a secure-aggregation key, share or sum is wrong
    ├── (node) NodeError       the node's extract, config, state or agent
    └── (coordinator) ServiceError, ConfigError, ClientError
"""

from __future__ import annotations

__all__ = [
    "AggregationError",
    "AuditFailed",
    "DisclosureError",
    "LhsError",
    "MessageInvalid",
    "ProtocolError",
    "SignatureInvalid",
    "SpecInvalid",
]


class LhsError(Exception):
    """Base class of every error a person can cause; the message is one line."""


class ProtocolError(LhsError):
    """Base class of every error raised by ``protocol``."""


class SpecInvalid(ProtocolError):
    """A query spec is malformed, hostile or inconsistent.

    ``source`` names the file (or ``<string>``), ``path`` the field, e.g.
    ``cohort.require[0].window.from``.
    """

    def __init__(self, message: str, *, source: str = "<spec>", path: str = "") -> None:
        self.source = source
        self.path = path
        self.detail = message
        where = f"{source}: {path}: " if path else f"{source}: "
        super().__init__(where + message)


class DisclosureError(ProtocolError):
    """A cube cannot be protected as asked (bad k, inconsistent cube)."""


class AuditFailed(DisclosureError):
    """A published value breaks the primary rules, or a suppressed one can be narrowed below k."""


class MessageInvalid(ProtocolError):
    """A message between node and coordinator breaks the wire format.

    ``code`` is the short, stable reason (e.g. ``bad_time``, ``wrong_node``) that a refusal
    carries; ``message_id`` names the message (a task id) where one could be read.
    """

    def __init__(self, code: str, message: str, *, message_id: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.message_id = message_id


class SignatureInvalid(ProtocolError):
    """A signed envelope is malformed, signed by someone else, or its signature is wrong."""


class AggregationError(ProtocolError):
    """A secure-aggregation message, key or vector is malformed or does not add up."""
