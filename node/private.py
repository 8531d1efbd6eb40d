"""The node's state and keys are its own: folders 0700, files 0600, whatever the umask.

The agent's database holds the exact cubes and the secure-aggregation private keys; under a
umask of 022 a file would otherwise be readable by every local user.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["private_file", "private_folder", "write_private"]


def private_folder(path: Path) -> Path:
    """Create ``path`` (and its parents) if missing, and make it the owner's alone (0700)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` empty if missing, in a private folder, and make it 0600.

    SQLite opens an existing file as it is and gives its journal files the same mode.
    """
    private_folder(path.parent)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    os.chmod(path, 0o600)
    return path


def write_private(path: Path, data: bytes) -> None:
    """Write bytes readable by the owner only, via a temporary file and a rename."""
    private_folder(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
