"""The exception tree of the protocol library.

Every error a user can cause (a bad spec, a bad signature, an unsafe cube) is a
``ProtocolError``; callers catch that one class and print its message.
"""

from __future__ import annotations

__all__ = [
    "AggregationError",
    "AuditFailed",
    "DisclosureError",
    "ProtocolError",
    "SignatureInvalid",
    "SpecInvalid",
]


class ProtocolError(Exception):
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
    """The LP audit found a suppressed value whose feasible interval is narrower than k."""


class SignatureInvalid(ProtocolError):
    """A signed envelope is malformed, signed by someone else, or its signature is wrong."""


class AggregationError(ProtocolError):
    """A secure-aggregation message, key or vector is malformed or does not add up."""
