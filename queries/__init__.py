"""The library of approved query specs (YAML), shipped with the package."""

from __future__ import annotations

import os
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

from protocol import LhsError

__all__ = ["LibraryError", "library_paths", "resolve_specs"]


class LibraryError(LhsError):
    """A name is neither a spec file nor a spec or area of the library."""


def library_paths() -> list[Path]:
    """Return the path of every spec in the library, sorted by area and id."""
    root = Path(str(resources.files(__name__)))
    return sorted(root.glob("*/*.yaml"))


def resolve_specs(names: Iterable[str]) -> list[Path]:
    """Turn arguments into spec files: a path, a library id or a library area."""
    library = library_paths()
    paths: list[Path] = []
    for name in names:
        path = Path(name)
        if path.exists() or path.suffix in (".yaml", ".yml") or os.sep in name:
            paths.append(path)
            continue
        found = [p for p in library if p.stem == name or p.parent.name == name]
        if not found:
            raise LibraryError(
                f"{name}: no such spec file, and no library spec or area of that name"
                " (see 'lhs query list')"
            )
        paths.extend(found)
    return paths
