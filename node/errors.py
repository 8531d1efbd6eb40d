"""Errors a node operator can cause; each message is one line naming the problem."""

from __future__ import annotations

from protocol import LhsError

__all__ = ["DataSourceError", "NodeError"]


class NodeError(LhsError):
    """Base of every error a node operator can cause."""


class DataSourceError(NodeError):
    """The extract cannot be opened or read as the contract describes."""
