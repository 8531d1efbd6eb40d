"""``lhs node check-install``: is this node's installation private and complete?

Checks what an operator can get wrong after set-up: the key and state folders the node's
user alone can enter (0700), every file in them the node's user alone can read (0600), the
private key present, the config file not writable by others, the extract readable.  The
node makes its own files private whatever the umask; this finds what was changed since (a
copy, a restore from backup, a ``chmod`` by hand).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import click

from .config import NodeConfig, load_config

__all__ = ["check_install_command", "install_problems"]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _private_tree(folder: Path, what: str) -> Iterator[str]:
    if not folder.is_dir():
        yield f"{what} folder {folder} does not exist"
        return
    if _mode(folder) & 0o077:
        yield f"{what} folder {folder} is {oct(_mode(folder))}: run chmod 700 {folder}"
    for path in sorted(folder.rglob("*")):
        wanted = 0o700 if path.is_dir() else 0o600
        if _mode(path) & 0o077:
            yield f"{path} is {oct(_mode(path))}: run chmod {oct(wanted)[2:]} {path}"


def install_problems(config: NodeConfig, config_path: Path | None) -> list[str]:
    """Return every problem found, one line each (empty: all is well)."""
    problems = []
    if config_path is not None and _mode(config_path) & 0o022:
        problems.append(
            f"{config_path} is {oct(_mode(config_path))}: others may change it;"
            f" run chmod go-w {config_path}"
        )
    keys, state = Path(config.keys), Path(config.state)
    problems += _private_tree(keys, "keys")
    if keys.is_dir() and not (keys / "node.key").is_file():
        problems.append(f"no node.key in {keys}: enrol first (lhs node enrol)")
    if state.exists():
        problems += _private_tree(state, "state")
    if config.data and "://" not in config.data and not os.access(config.data, os.R_OK):
        problems.append(f"the extract {config.data} cannot be read by this user")
    return problems


@click.command("check-install")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="node.yaml.")
def check_install_command(config_path: str | None) -> None:
    """Check that the node's keys and state are private and its extract readable."""
    raw = config_path or os.environ.get("LHS_NODE_CONFIG")
    config = load_config(config_path)
    problems = install_problems(config, Path(raw) if raw else None)
    for line in problems:
        click.echo(f"wrong: {line}")
    if problems:
        raise SystemExit(1)
    click.echo(f"ok: keys {config.keys} and state {config.state} are private")
