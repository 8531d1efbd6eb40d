"""lhs protocol: the pure library shared by nodes and the coordinator.

Four concerns, one subpackage each, all re-exported here:

- ``protocol.spec``: the query spec language (model, YAML, JSON Schema, hash, plain reading,
  specs one restriction apart) and the cube's fixed vocabulary (dimensions, sexes, age bands,
  years, the floor of k);
- ``protocol.disclosure``: suppression and its LP audit for one cube, a provider's headline,
  and the group tables of a round protected jointly;
- ``protocol.crypto``: signed envelopes (Ed25519 over canonical JSON) and the pairwise
  masks of secure aggregation;
- ``protocol.messages``: the wire format, every message built and checked in one place.

No I/O beyond reading a spec file, no web framework.  Every error a user can cause is an
``LhsError``; those of this library are ``ProtocolError``s (see ``protocol.errors``).
"""

from . import crypto, disclosure, errors, messages, spec
from .crypto import *  # noqa: F403
from .disclosure import *  # noqa: F403
from .errors import *  # noqa: F403
from .messages import *  # noqa: F403
from .spec import *  # noqa: F403

# The public surface is the union of the subpackages' (the forms type checkers follow).
__all__: list[str] = []
__all__ += errors.__all__
__all__ += spec.__all__
__all__ += disclosure.__all__
__all__ += crypto.__all__
__all__ += messages.__all__
