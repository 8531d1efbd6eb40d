"""The release ledger: every value a node released, with the units behind each, kept locally.

One file per release (``000001-<query>.release``, NumPy's npz format): a JSON header with
the query, its hash, k, scope, time and every released count (``null`` where withheld), and
per published count the ids of its units as a Roaring bitmap; for visit units also each
visit's person.  Files are written whole (temporary file, fsync, rename) and are the node
user's alone (folder 0700, files 0600).  Nothing in the ledger ever leaves the node.

Retention: a release stays as long as the ledger does.  What was published stays public,
so every later release must be audited against it; deleting the ledger (or a file of it)
lets the next release be differenced against what it forgot.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from pyroaring import BitMap64

from protocol import Key

from ..errors import NodeError
from ..private import private_folder, write_private

__all__ = ["Ledger", "Release", "ReleasedCell"]

SUFFIX = ".release"
NAME = re.compile(r"\d{6}-.+\.release")
"""A release file: its number, then the query id."""
FORMAT = 1


@dataclass(frozen=True)
class ReleasedCell:
    """One released count: its cell, measure, value (None: withheld) and units (if published)."""

    key: Key
    measure: str
    value: int | None
    units: BitMap64 | None = None


@dataclass(frozen=True)
class Release:
    """What one query released at once, and the units behind each published count."""

    query: str
    spec_hash: str
    scope: str
    k: int
    unit: str
    """"person" or "visit": the namespace of the unit ids (a visit is not a person)."""
    cells: tuple[ReleasedCell, ...]
    visit_persons: tuple[np.ndarray, np.ndarray] | None = None
    """For visit units: the visit ids and each one's person."""
    at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def header(self) -> dict[str, Any]:
        """Return the JSON part of the stored file."""
        return {
            "format": FORMAT,
            "query": self.query,
            "spec_hash": self.spec_hash,
            "scope": self.scope,
            "k": self.k,
            "unit": self.unit,
            "at": self.at,
            "cells": [
                {"key": list(c.key), "measure": c.measure, "value": c.value} for c in self.cells
            ],
        }


class Ledger:
    """A folder of releases; new ones wait in ``pending`` until ``commit`` writes them."""

    def __init__(self, folder: Path) -> None:
        if folder.exists() and not folder.is_dir():
            raise NodeError(f"ledger {folder} is a file, not a folder")
        self.folder = private_folder(folder)
        self.pending: list[Release] = []
        self._stored: list[Release] | None = None

    def releases(self) -> list[Release]:
        """Return every release: stored ones in order, then pending ones."""
        return [*self._load(), *self.pending]

    def add(self, release: Release) -> None:
        """Hold a release to be audited with the next ones and written at ``commit``."""
        self.pending.append(release)

    def commit(self) -> list[Path]:
        """Write every pending release, each as one whole file; return their paths."""
        written = []
        stored = self._load()
        paths = self._paths()
        number = int(paths[-1].name.split("-", 1)[0]) if paths else 0
        while self.pending:
            # One at a time: a failed write leaves the written ones stored, the rest pending.
            release = self.pending[0]
            number += 1
            path = self.folder / f"{number:06d}-{release.query}{SUFFIX}"
            write_private(path, _encode(release))
            written.append(path)
            stored.append(self.pending.pop(0))
        return written

    def discard(self) -> None:
        """Forget the pending releases (what they recorded did not leave)."""
        self.pending = []

    def _load(self) -> list[Release]:
        if self._stored is None:
            self._stored = [self._read(path) for path in self._paths()]
        return self._stored

    def _paths(self) -> list[Path]:
        return sorted(p for p in self.folder.iterdir() if NAME.fullmatch(p.name))

    def _read(self, path: Path) -> Release:
        try:
            return _decode(path.read_bytes())
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            raise NodeError(f"ledger file {path} cannot be read: {exc}") from None


def _encode(release: Release) -> bytes:
    arrays: dict[str, np.ndarray] = {
        "header": np.frombuffer(json.dumps(release.header()).encode(), dtype=np.uint8)
    }
    for i, cell in enumerate(release.cells):
        if cell.units is not None:
            cell.units.run_optimize()
            arrays[f"cell{i}"] = np.frombuffer(cell.units.serialize(), dtype=np.uint8)
    if release.visit_persons is not None:
        arrays["visits"], arrays["persons"] = release.visit_persons
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def _decode(data: bytes) -> Release:
    with np.load(io.BytesIO(data), allow_pickle=False) as stored:
        header = json.loads(stored["header"].tobytes())
        if header.get("format") != FORMAT:
            raise ValueError(f"format {header.get('format')!r} is not {FORMAT}")
        cells = tuple(
            ReleasedCell(
                tuple(c["key"]),
                c["measure"],
                c["value"],
                BitMap64.deserialize(stored[f"cell{i}"].tobytes())
                if f"cell{i}" in stored
                else None,
            )
            for i, c in enumerate(header["cells"])
        )
        visits = (stored["visits"], stored["persons"]) if "visits" in stored else None
    return Release(
        header["query"],
        header["spec_hash"],
        header["scope"],
        header["k"],
        header["unit"],
        cells,
        visits,
        header["at"],
    )
