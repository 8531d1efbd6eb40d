"""The node's settings: every one listed here with its type, default and meaning.

Read from one YAML file (``--config`` or the ``LHS_NODE_CONFIG`` variable).
Secrets never live in this file: a database password belongs in the
environment (a URL may name ``${VAR}`` placeholders) or a key file, and the
enrolment code is typed at ``lhs node enrol`` or read from
``LHS_ENROLMENT_CODE``.  The ``keys`` and ``state`` folders and the
``ca_bundle`` file, when relative, are taken relative to the folder of the
config file.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from protocol import K_FLOOR, NODE_ID

from .errors import NodeError

__all__ = ["NodeConfig", "Policy", "check_coordinator_url", "load_config", "settings_help"]

_PLACEHOLDER = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)\}")
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
_SECRETS = ("code", "password", "secret", "token", "private")


def _setting(default: Any, kind: str, help: str) -> Any:
    return field(default=default, metadata={"kind": kind, "help": help})


@dataclass(frozen=True)
class Policy:
    """What the node runs without asking its local admin."""

    auto_run_library: bool = _setting(
        True,
        "bool",
        "Run a task at once when its spec hash equals a spec of the installed library;"
        " anything else is always held for a local admin.",
    )
    secure_aggregation: bool = _setting(
        True,
        "bool",
        "Take part in secure aggregation: send this node's exact cells masked so that the"
        " coordinator can read only a group's sum. false: send protected cubes only; the"
        " coordinator is told with a signed decline and sums each group without this node.",
    )


_DEFAULT_POLICY = Policy()


@dataclass(frozen=True)
class NodeConfig:
    """Settings of one node."""

    data: str | None = _setting(
        None, "text", "Where the extract is: a folder of CSV/Parquet files or a SQLAlchemy URL."
    )
    schema: str | None = _setting(
        None, "text", "Database schema of the extract tables (SQL sources only)."
    )
    min_cell: int = _setting(
        K_FLOOR,
        "k",
        f"The node's floor for the minimum cell size k; at least the contract's {K_FLOOR}.",
    )
    coordinator: str | None = _setting(
        None, "url", "The coordinator's base URL (https; plain http only to localhost)."
    )
    ca_bundle: str | None = _setting(
        None,
        "file",
        "PEM file of the certificate authorities trusted for the coordinator's TLS certificate"
        " (default: the system's, or REQUESTS_CA_BUNDLE); for a coordinator behind a private CA.",
    )
    node_id: str | None = _setting(
        None, "node_id", "This node's id, as the coordinator admin registered it."
    )
    keys: str = _setting(
        "keys", "path", "Folder of node.key (private, mode 0600) and the pinned coordinator.pub."
    )
    state: str = _setting(
        "state",
        "path",
        "Folder of the agent's state: outbox and task database, audit log, release ledger.",
    )
    policy: Policy = field(
        default=_DEFAULT_POLICY,
        metadata={
            "kind": "policy",
            "help": "Local policy: a mapping (auto_run_library, secure_aggregation).",
        },
    )
    poll_interval: float = _setting(300, "seconds", "Seconds between polls of the coordinator.")
    jitter: float = _setting(30, "seconds0", "Up to this many seconds added to every poll time.")
    max_backoff: float = _setting(
        3600,
        "seconds",
        "Longest wait, in seconds (plus jitter), between tries while the coordinator is away.",
    )


def settings_help() -> list[tuple[str, str, str]]:
    """Return (name, default, help) of every setting, policy keys as ``policy.<name>``."""
    rows = []
    for f in fields(NodeConfig):
        if f.name == "policy":
            rows += [
                (f"policy.{p.name}", repr(p.default), p.metadata["help"]) for p in fields(Policy)
            ]
        else:
            rows.append((f.name, repr(f.default), f.metadata["help"]))
    return rows


def check_coordinator_url(url: str) -> str:
    """Return a coordinator URL without a trailing slash; refuse plain http beyond localhost."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise NodeError(f"coordinator {url!r} is not an http(s) URL")
    if parts.scheme == "http" and parts.hostname not in _LOCAL_HOSTS:
        raise NodeError(
            f"coordinator {url!r} uses plain http; use https (plain http is allowed only"
            " to localhost, for tests and the demo)"
        )
    return url.rstrip("/")


def _no_inline_password(key: str, value: str, path: Path) -> None:
    """Refuse a URL whose password is written out instead of named as ``${VAR}``."""
    parts = urlsplit(value)
    if parts.scheme and "@" in parts.netloc:
        userinfo = parts.netloc.rsplit("@", 1)[0]
        password = userinfo.split(":", 1)[1] if ":" in userinfo else ""
        if password and not _PLACEHOLDER.fullmatch(password):
            raise NodeError(
                f"{path}: {key}: the password is written in the file; put ${{LHS_DB_PASSWORD}}"
                " in its place and set that environment variable"
            )


def _expand(value: str, path: Path) -> str:
    def repl(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise NodeError(f"{path}: environment variable {name} is not set")
        return os.environ[name]

    return _PLACEHOLDER.sub(repl, value)


def _policy(value: Any, path: Path) -> Policy:
    if not isinstance(value, dict):
        raise NodeError(
            f"{path}: policy must be a mapping (auto_run_library, secure_aggregation: true|false)"
        )
    known = {f.name for f in fields(Policy)}
    for key, item in value.items():
        if key not in known:
            raise NodeError(f"{path}: unknown policy setting {key!r} (known: {', '.join(known)})")
        if not isinstance(item, bool):
            raise NodeError(f"{path}: policy.{key} must be true or false")
    return Policy(**value)


def _number(value: Any, key: str, path: Path, minimum: float, strict: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise NodeError(f"{path}: {key} must be a number of seconds")
    if value < minimum or (strict and value == minimum):
        relation = "above" if strict else "at least"
        raise NodeError(f"{path}: {key} must be {relation} {minimum:g} seconds")
    return value


def _value(key: str, kind: str, value: Any, path: Path) -> Any:
    if kind == "k":
        if not isinstance(value, int) or isinstance(value, bool) or value < K_FLOOR:
            raise NodeError(f"{path}: min_cell must be a whole number of at least {K_FLOOR}")
        return value
    if kind == "policy":
        return _policy(value, path)
    if kind in ("seconds", "seconds0"):
        return _number(value, key, path, 0, strict=kind == "seconds")
    if value is None and kind != "path":
        return None
    if not isinstance(value, str):
        raise NodeError(f"{path}: {key} must be text")
    _no_inline_password(key, value, path)
    value = _expand(value, path)
    if kind == "url":
        try:
            return check_coordinator_url(value)
        except NodeError as exc:
            raise NodeError(f"{path}: {exc}") from None
    if kind == "node_id" and not NODE_ID.match(value):
        raise NodeError(
            f"{path}: node_id must be 1-63 lower-case letters, digits or '-' (not first)"
        )
    if kind == "path":
        return str(path.parent / Path(value).expanduser())
    if kind == "file":
        found = path.parent / Path(value).expanduser()
        if not found.is_file():
            raise NodeError(f"{path}: {key}: no such file {found}")
        return str(found)
    return value


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
    # Relative key and state folders live beside the config file, wherever lhs is started.
    values: dict[str, Any] = {
        "keys": str(path.parent / "keys"),
        "state": str(path.parent / "state"),
    }
    for key, value in data.items():
        if key not in known:
            if any(word in str(key).lower() for word in _SECRETS):
                raise NodeError(
                    f"{path}: {key!r}: secrets never go in node.yaml (the enrolment code is"
                    " given at 'lhs node enrol' or in LHS_ENROLMENT_CODE)"
                )
            raise NodeError(f"{path}: unknown setting {key!r} (known: {', '.join(known)})")
        values[key] = _value(key, known[key].metadata["kind"], value, path)
    return NodeConfig(**values)
