"""Every message type of the wire format, and the patterns of the ids messages carry."""

from __future__ import annotations

import re

__all__ = [
    "AGG_DECLINE",
    "AGG_KEY",
    "AGG_REQUEST",
    "AGG_SHARE",
    "KEY_ID_PATTERN",
    "NODE_ID",
    "NODE_ID_PATTERN",
    "NONCE",
    "NONCE_PATTERN",
    "POLL",
    "RESULT",
    "SOFTWARE",
    "SOFTWARE_PATTERN",
    "SPEC_HASH_PATTERN",
    "TASK",
]

POLL = "lhs.poll/1"
"""Node to coordinator: what tasks and aggregation requests are there for me?"""
TASK = "lhs.task/1"
"""Coordinator to node: run this approved spec with this k before this deadline."""
RESULT = "lhs.result/1"
"""Node to coordinator: the protected cube of one task."""
AGG_REQUEST = "lhs.aggrequest/1"
"""Coordinator to node: send your key (phase key) or your masked share (phase share)."""
AGG_KEY = "lhs.aggkey/1"
"""Node to coordinator: a fresh X25519 public key for one round, group and attempt."""
AGG_SHARE = "lhs.aggshare/1"
"""Node to coordinator: the exact cells of a layout, masked so only the group's sum reads."""
AGG_DECLINE = "lhs.aggdecline/1"
"""Node to coordinator: this node takes no part in secure aggregation (its policy)."""

NODE_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
"""A node id: lower-case letters, digits and hyphens, 1 to 63 characters."""
NODE_ID = re.compile(NODE_ID_PATTERN)

SPEC_HASH_PATTERN = r"^sha256:[0-9a-f]{64}$"
"""A spec's (or a layout's) content hash."""

KEY_ID_PATTERN = r"^ed25519:[0-9a-f]{16}$"
"""The fingerprint of an Ed25519 signing key."""

NONCE_PATTERN = r"^[0-9a-f]{16,128}$"
"""A poll's nonce: 16 to 128 lower-case hex digits."""
NONCE = re.compile(NONCE_PATTERN)

SOFTWARE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 ._+-]{0,63}$"
"""The software a node runs, as its poll names it (e.g. ``lhs 0.1.0``)."""
SOFTWARE = re.compile(SOFTWARE_PATTERN)
