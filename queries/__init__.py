"""The library of approved query specs (YAML), shipped with the package."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["library_paths"]


def library_paths() -> list[Path]:
    """Return the path of every spec in the library, sorted by area and id."""
    root = Path(str(resources.files(__name__)))
    return sorted(root.glob("*/*.yaml"))
