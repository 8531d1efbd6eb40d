"""The node's key folder: its own Ed25519 key, the pinned coordinator key, the enrolment record.

``node.key``        the node's private key, PEM, mode 0600 (written only once enrolled)
``node.key.pending`` a key made for an enrolment that has not been accepted yet
``coordinator.pub`` the coordinator's public key, PEM, pinned at enrolment
``enrolment.json``  node id, coordinator URL, both fingerprints, when
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from protocol import ProtocolError, key_id, load_private_key, public_key_text

from ..private import write_private
from .errors import AgentError

__all__ = ["KeyFolder"]


class KeyFolder:
    """The files of a node's key folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.node_key_path = folder / "node.key"
        self.pending_path = folder / "node.key.pending"
        self.pinned_path = folder / "coordinator.pub"
        self.record_path = folder / "enrolment.json"

    def record(self) -> dict[str, Any] | None:
        """Return the enrolment record, or None when this node is not enrolled."""
        if not self.record_path.exists() or not self.node_key_path.exists():
            return None
        try:
            return json.loads(self.record_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise AgentError(f"{self.record_path}: cannot be read ({exc})") from None

    def node_key(self) -> Ed25519PrivateKey:
        """Load the node's private key; refuse one that others may read."""
        if not self.node_key_path.exists():
            raise AgentError(f"{self.node_key_path}: no node key; enrol first ('lhs node enrol')")
        self._check_private(self.node_key_path)
        try:
            return load_private_key(self.node_key_path)
        except ProtocolError as exc:
            raise AgentError(str(exc)) from None

    def coordinator_key(self) -> Ed25519PublicKey:
        """Load the pinned coordinator public key."""
        try:
            key = serialization.load_pem_public_key(self.pinned_path.read_bytes())
        except FileNotFoundError:
            raise AgentError(
                f"{self.pinned_path}: no pinned coordinator key; enrol first ('lhs node enrol')"
            ) from None
        except (OSError, ValueError) as exc:
            raise AgentError(f"{self.pinned_path}: not a PEM public key ({exc})") from None
        if not isinstance(key, Ed25519PublicKey):
            raise AgentError(f"{self.pinned_path}: not an Ed25519 public key")
        return key

    def pin(self, key: Ed25519PublicKey) -> None:
        """Pin the coordinator key; refuse a key different from one already pinned."""
        if self.pinned_path.exists():
            pinned = self.coordinator_key()
            if public_key_text(pinned) != public_key_text(key):
                raise AgentError(
                    f"the coordinator's key {key_id(key)} differs from the pinned"
                    f" {key_id(pinned)} in {self.pinned_path}; refusing it"
                )
            return
        pem = key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        write_private(self.pinned_path, pem)

    def pending_key(self) -> Ed25519PrivateKey:
        """Return the key of an enrolment in progress, made (mode 0600) on first use."""
        if self.pending_path.exists():
            # A key from an attempt that failed is reused: it may already be registered.
            self._check_private(self.pending_path)
            return load_private_key(self.pending_path)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        write_private(self.pending_path, pem)
        return key

    def complete(self, record: dict[str, Any]) -> None:
        """Make the pending key the node key and write the enrolment record."""
        os.replace(self.pending_path, self.node_key_path)
        data = json.dumps(record, indent=2, sort_keys=True).encode("utf-8") + b"\n"
        write_private(self.record_path, data)

    @staticmethod
    def _check_private(path: Path) -> None:
        if os.name != "posix":
            return
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise AgentError(
                f"{path}: the private key is readable by others (mode {mode:04o});"
                f" run 'chmod 600 {path}'"
            )
