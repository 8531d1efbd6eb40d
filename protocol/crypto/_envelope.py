"""Signed message envelopes: Ed25519 over canonical JSON.

Every task the coordinator hands out and every result a node sends back
travels as an envelope::

    {"payload": {...}, "signer": "coordinator", "key_id": "ed25519:…", "signature": "…"}

The signature covers the canonical JSON of ``{"payload", "signer"}`` (sorted
keys, no whitespace, UTF-8), so no field can be changed or moved to another
signer without breaking it.  Keys are raw 32-byte Ed25519 keys, written as
base64 in JSON and as PEM on disk.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ..errors import ProtocolError, SignatureInvalid

__all__ = [
    "canonical_json",
    "generate_private_key",
    "key_id",
    "load_private_key",
    "public_key_from_text",
    "public_key_text",
    "save_private_key",
    "sign",
    "verify",
]

_FIELDS = {"payload", "signer", "key_id", "signature"}


def canonical_json(value: Any) -> bytes:
    """Return the canonical UTF-8 JSON bytes of a value (sorted keys, no spaces)."""
    try:
        return json.dumps(
            value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        ).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise ProtocolError(f"value cannot be signed as JSON: {exc}") from None


def generate_private_key() -> Ed25519PrivateKey:
    """Create a new Ed25519 private key."""
    return Ed25519PrivateKey.generate()


def public_key_text(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """Return the base64 text of a raw 32-byte public key."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def public_key_from_text(text: str) -> Ed25519PublicKey:
    """Parse a public key written by ``public_key_text``."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (ValueError, UnicodeEncodeError):
        raise SignatureInvalid("not an Ed25519 public key (expected 32 bytes, base64)") from None


def key_id(key: Ed25519PrivateKey | Ed25519PublicKey | str) -> str:
    """Return a short fingerprint of a public key: ``ed25519:`` + 16 hex digits of its SHA-256."""
    text = key if isinstance(key, str) else public_key_text(key)
    digest = hashlib.sha256(base64.b64decode(text)).hexdigest()
    return f"ed25519:{digest[:16]}"


def save_private_key(key: Ed25519PrivateKey, path: Path) -> None:
    """Write a private key as PEM, readable by its owner only; refuse to overwrite."""
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ProtocolError(f"{path}: a key already exists; refusing to overwrite it") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """Read a PEM private key written by ``save_private_key``."""
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except OSError as exc:
        raise ProtocolError(f"{path}: cannot read key: {exc.strerror}") from None
    except (ValueError, TypeError):
        raise ProtocolError(f"{path}: not a PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ProtocolError(f"{path}: not an Ed25519 private key")
    return key


def _signed_bytes(payload: Any, signer: str) -> bytes:
    return canonical_json({"payload": payload, "signer": signer})


def sign(payload: dict[str, Any], key: Ed25519PrivateKey, signer: str) -> dict[str, Any]:
    """Wrap a payload in an envelope signed by ``signer`` with ``key``."""
    signature = key.sign(_signed_bytes(payload, signer))
    return {
        "payload": payload,
        "signer": signer,
        "key_id": key_id(key),
        "signature": base64.b64encode(signature).decode("ascii"),
    }


def verify(envelope: Any, key: Ed25519PublicKey | str, signer: str | None = None) -> dict:
    """Return the payload of an envelope after checking its signature (and signer)."""
    if not isinstance(envelope, dict) or set(envelope) != _FIELDS:
        raise SignatureInvalid(
            "not a signed envelope (expected exactly: key_id, payload, signature, signer)"
        )
    payload, who, sig = envelope["payload"], envelope["signer"], envelope["signature"]
    if not isinstance(payload, dict) or not isinstance(who, str) or not isinstance(sig, str):
        raise SignatureInvalid("malformed envelope: payload must be an object, signer a string")
    if signer is not None and who != signer:
        raise SignatureInvalid(f"envelope is signed by {who!r}, expected {signer!r}")
    public = public_key_from_text(key) if isinstance(key, str) else key
    try:
        raw = base64.b64decode(sig.encode("ascii"), validate=True)
        public.verify(raw, _signed_bytes(payload, who))
    except (InvalidSignature, ValueError, UnicodeEncodeError):
        raise SignatureInvalid(f"bad signature on envelope from {who!r}") from None
    return payload
