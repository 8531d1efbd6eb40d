"""The release ledger: what this node released, with the units behind it, audited jointly.

Every release is checked with every earlier one before it leaves (``decide``) and recorded
(``Ledger``); neither the ledger nor anything in it ever leaves the node.
"""

from .members import Members, fetch_members
from .release import Decision, decide
from .store import Ledger, Release, ReleasedCell

__all__ = ["Decision", "Ledger", "Members", "Release", "ReleasedCell", "decide", "fetch_members"]
