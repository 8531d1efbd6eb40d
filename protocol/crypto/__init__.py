"""Crypto: signed envelopes (Ed25519 over canonical JSON) and secure-aggregation masks.

A message travels as ``{"payload", "signer", "key_id", "signature"}``; ``sign`` makes
one and ``verify`` checks it.  For secure aggregation every member makes a fresh X25519
key per round, group and attempt; pairwise seeds (HKDF) give masks that cancel in the
group's sum (``mask_vector``, ``unmask_sum``).
"""

from . import _envelope, _secagg
from ._envelope import *  # noqa: F403
from ._secagg import *  # noqa: F403

__all__: list[str] = []
__all__ += _envelope.__all__
__all__ += _secagg.__all__
