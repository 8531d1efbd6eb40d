"""The coordinator's Ed25519 key: created once by ``lhs coordinator init``, read from its file."""

from __future__ import annotations

import stat
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from protocol import ProtocolError, generate_private_key, load_private_key, save_private_key

from .errors import ConfigError

__all__ = ["create_key_file", "load_coordinator_key"]


def create_key_file(path: Path) -> bool:
    """Create the key file (mode 0600) unless it exists; return whether it was created."""
    if path.exists():
        return False
    try:
        save_private_key(generate_private_key(), path)
    except (ProtocolError, OSError) as exc:
        raise ConfigError(f"{path}: cannot create the coordinator key: {exc}") from None
    return True


def load_coordinator_key(path: Path) -> Ed25519PrivateKey:
    """Read the key file; refuse one that is missing or readable by others."""
    if not path.exists():
        raise ConfigError(f"{path}: no coordinator key (run 'lhs coordinator init' to create it)")
    # A private key others can read is as good as leaked: refuse it, as ssh does.
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"{path}: the key file is readable by others; run 'chmod 600 {path}'")
    try:
        return load_private_key(path)
    except ProtocolError as exc:
        raise ConfigError(str(exc)) from None
