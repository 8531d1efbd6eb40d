"""Real node agents for tests over HTTP: small extracts and enrolled nodes' configurations."""

from __future__ import annotations

from pathlib import Path

from demo.synth import generate
from node.agent import enrol
from node.config import load_config

__all__ = ["enrolled_config", "small_extracts"]


def small_extracts(
    root: Path, node_ids: list[str], *, persons: int, seed: int, fmt: str = "parquet"
) -> dict[str, Path]:
    """Write one synthetic extract per node (each 300 persons more, its own seed)."""
    out = {}
    for i, node_id in enumerate(node_ids):
        out[node_id] = root / node_id
        generate(persons + 300 * i, seed=seed + i, out=out[node_id], fmt=fmt)
    return out


def enrolled_config(folder: Path, url: str, node_id: str, data: Path, code: str) -> Path:
    """Write a node's ``node.yaml`` in ``folder`` (library specs run by themselves) and
    enrol the node with ``code``; return the file."""
    folder.mkdir(parents=True)
    path = folder / "node.yaml"
    path.write_text(
        f"coordinator: {url}\nnode_id: {node_id}\ndata: {data}\n"
        "keys: keys\nstate: state\nmin_cell: 10\npolicy:\n  auto_run_library: true\n",
        encoding="utf-8",
    )
    enrol(load_config(path), code)
    return path
