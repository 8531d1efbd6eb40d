"""The node's settings: every one listed here with its type, default and meaning.

Read from one YAML file (``--config`` or the ``LHS_NODE_CONFIG`` variable).
Secrets never live in this file: a database password belongs in the
environment (a URL may name ``${VAR}`` placeholders) or a key file.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import yaml

from .errors import NodeError

__all__ = ["NodeConfig", "load_config"]

_PLACEHOLDER = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)\}")


@dataclass(frozen=True)
class NodeConfig:
    """Settings of one node."""

    data: str | None = None
    """Where the extract is: a folder of CSV/Parquet files or a SQLAlchemy URL."""
    schema: str | None = None
    """Database schema of the extract tables (SQL sources only)."""
    min_cell: int = 10
    """The node's floor for the minimum cell size k; at least the contract's 10."""


def _expand(value: str, path: Path) -> str:
    def repl(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise NodeError(f"{path}: environment variable {name} is not set")
        return os.environ[name]

    return _PLACEHOLDER.sub(repl, value)


def load_config(path: str | Path | None = None) -> NodeConfig:
    """Read the node's config file, or return the defaults when there is none."""
    path = path or os.environ.get("LHS_NODE_CONFIG")
    if not path:
        return NodeConfig()
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NodeError(f"{path}: no such config file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise NodeError(f"{path}: cannot be read ({exc})") from None
    except yaml.YAMLError as exc:
        raise NodeError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    data = data or {}
    if not isinstance(data, dict):
        raise NodeError(f"{path}: a config file must be a mapping of settings")
    known = {f.name: f for f in fields(NodeConfig)}
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in known:
            raise NodeError(f"{path}: unknown setting {key!r} (known: {', '.join(known)})")
        if key == "min_cell":
            if not isinstance(value, int) or isinstance(value, bool) or value < 10:
                raise NodeError(f"{path}: min_cell must be a whole number of at least 10")
        elif value is not None:
            if not isinstance(value, str):
                raise NodeError(f"{path}: {key} must be text")
            value = _expand(value, path)
        values[key] = value
    return NodeConfig(**values)
