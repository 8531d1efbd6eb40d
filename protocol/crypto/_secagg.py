"""Secure aggregation: pairwise masks that cancel in a group's sum (X25519, HKDF, ChaCha20).

Every member of a group makes a fresh X25519 key pair per round, group and
attempt.  Two members derive the same seed from their shared secret with
HKDF-SHA256, bound (through ``info``) to the round, the group, the attempt,
the sorted membership and the pair, so a seed never serves two contexts.  A
member adds the mask stream of every peer after it in sorted id order and
subtracts that of every peer before it; the masks cancel in the sum of all
members' vectors, modulo 2**64, and any one vector alone is uniformly random.

What the vector holds (the cells of a layout) is defined with the messages.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ..errors import AggregationError
from ._envelope import canonical_json

__all__ = [
    "MODULUS",
    "agg_key_bytes",
    "agg_key_from_bytes",
    "agg_public_text",
    "generate_agg_key",
    "mask_stream",
    "mask_vector",
    "pairwise_seeds",
    "seed_info",
    "unmask_sum",
]

MODULUS = 2**64
"""Masked vectors live in the integers modulo 2**64."""

_LIMIT = 2**63
# A true total must stay below 2**63, so a sum that wraps past it shows as corrupt, not as a count.


def generate_agg_key() -> X25519PrivateKey:
    """Create a fresh X25519 private key for one round, group and attempt."""
    return X25519PrivateKey.generate()


def agg_public_text(key: X25519PrivateKey) -> str:
    """Return the base64 text of a key's raw 32-byte X25519 public key."""
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def agg_key_bytes(key: X25519PrivateKey) -> bytes:
    """Return the raw 32 bytes of a private key, for the node's local store."""
    return key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )


def agg_key_from_bytes(raw: bytes) -> X25519PrivateKey:
    """Read a private key stored by ``agg_key_bytes``."""
    return X25519PrivateKey.from_private_bytes(raw)


def _public_from_text(text: str) -> X25519PublicKey:
    try:
        return X25519PublicKey.from_public_bytes(base64.b64decode(text, validate=True))
    except (ValueError, TypeError):
        raise AggregationError("not an X25519 public key (expected 32 bytes, base64)") from None


def seed_info(
    round_id: int, group: Sequence[str], attempt: int, members: Sequence[str], a: str, b: str
) -> bytes:
    """Return the HKDF ``info`` that binds a pair's seed to its whole context."""
    return canonical_json(
        {
            "round_id": round_id,
            "group": list(group),
            "attempt": attempt,
            "members": sorted(members),
            "pair": sorted([a, b]),
        }
    )


def pairwise_seeds(
    key: X25519PrivateKey,
    me: str,
    public_keys: Mapping[str, str],
    *,
    round_id: int,
    group: Sequence[str],
    attempt: int,
) -> dict[str, bytes]:
    """Return a 32-byte seed shared with every other member (``public_keys`` names all, me too)."""
    members = sorted(public_keys)
    if me not in public_keys:
        raise AggregationError(f"{me!r} is not a member of this group")
    if public_keys[me] != agg_public_text(key):
        raise AggregationError("the group's key for this node is not this node's key")
    seeds: dict[str, bytes] = {}
    for peer in members:
        if peer == me:
            continue
        shared = key.exchange(_public_from_text(public_keys[peer]))
        if shared == bytes(32):
            # A low-order peer key gives an all-zero secret: a mask anyone could compute.
            raise AggregationError(f"the key of {peer!r} is a low-order point")
        info = seed_info(round_id, group, attempt, members, me, peer)
        seeds[peer] = HKDF(hashes.SHA256(), 32, salt=None, info=info).derive(shared)
    return seeds


def mask_stream(seed: bytes, length: int) -> list[int]:
    """Return ``length`` pseudo-random 64-bit words from a seed (the ChaCha20 keystream)."""
    # Each seed is used for one vector only, so a fixed nonce never repeats a key stream.
    encryptor = Cipher(algorithms.ChaCha20(seed, bytes(16)), mode=None).encryptor()
    data = encryptor.update(bytes(8 * length))
    return [int.from_bytes(data[i : i + 8], "little") for i in range(0, 8 * length, 8)]


def mask_vector(values: Sequence[int], me: str, peer_seeds: Mapping[str, bytes]) -> list[int]:
    """Mask exact counts: add each later peer's stream, subtract each earlier one's, mod 2**64."""
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < _LIMIT:
            raise AggregationError(f"cannot mask {value!r}: counts must be whole, 0 to 2**63-1")
    out = list(values)
    for peer in sorted(peer_seeds):
        if peer == me:
            raise AggregationError("a node shares no seed with itself")
        sign = 1 if peer > me else -1
        for i, word in enumerate(mask_stream(peer_seeds[peer], len(out))):
            out[i] = (out[i] + sign * word) % MODULUS
    return out


def unmask_sum(vectors: Sequence[Sequence[int]]) -> list[int]:
    """Sum every member's masked vector mod 2**64; the masks cancel, leaving the exact totals.

    A missing or wrong vector leaves uniform noise: each value lands at or above 2**63
    (and is refused) with probability 1/2, so a short vector can slip through; only
    the coordinator's count of shares makes a sum complete.
    """
    if not vectors:
        raise AggregationError("no vectors to sum")
    length = len(vectors[0])
    if any(len(v) != length for v in vectors):
        raise AggregationError("masked vectors differ in length")
    totals = [sum(column) % MODULUS for column in zip(*vectors, strict=True)]
    if any(total >= _LIMIT for total in totals):
        raise AggregationError("the masks did not cancel: a member's vector is missing or wrong")
    return totals
