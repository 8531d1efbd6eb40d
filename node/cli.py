"""The node's commands under ``lhs node``: check the extract, run specs, and the agent's.

Errors are ``NodeError``s (or the protocol's); the ``lhs`` command prints each as one line
and exits non-zero.  Nothing is written when a command fails.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import click

from protocol import QuerySpec, load_spec
from queries import resolve_specs

from .agent.cli import AGENT_COMMANDS
from .check import check_command
from .config import load_config
from .errors import NodeError
from .install import check_install_command
from .ledger import Ledger
from .output import FORMATS, render
from .report import report_command
from .runner import run_specs
from .sources import open_source

__all__ = ["load_specs", "node_group", "progress_bar", "write_atomically"]


def load_specs(names: tuple[str, ...]) -> list[QuerySpec]:
    """Load spec files or library ids; refuse a query id given twice."""
    specs = [load_spec(p) for p in resolve_specs(names)]
    seen: set[str] = set()
    for spec in specs:
        if spec.id in seen:
            raise NodeError(f"query {spec.id!r} is given twice")
        seen.add(spec.id)
    return specs


def write_atomically(path: Path, text: str) -> None:
    """Write text to path via a temporary file and a rename: all or nothing."""
    directory = path.resolve().parent
    if not directory.is_dir():
        raise NodeError(f"{path}: folder {directory} does not exist")
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def progress_bar(total: int, label: str) -> Iterator[Callable[[str], None] | None]:
    """Yield a callback that moves a bar on stderr by one named step, on a terminal only."""
    if total < 2 or not sys.stderr.isatty():
        yield None
        return
    with click.progressbar(
        length=total, label=label, file=sys.stderr, item_show_func=lambda name: name
    ) as bar:
        yield lambda name: bar.update(1, name)


@click.group("node")
def node_group() -> None:
    """Run a provider's node: check the extract, run approved queries."""


@node_group.command("run")
@click.argument("specs", nargs=-1, required=True)
@click.option("--data", "data", help="Extract folder (CSV/Parquet) or SQLAlchemy URL.")
@click.option("--schema", help="Database schema of the extract tables.")
@click.option("--min-cell", type=int, help="Raise the minimum cell size k above the floor.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="json", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write to a file.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="node.yaml.")
@click.option(
    "--ledger",
    "ledger_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Release ledger folder: audit with everything recorded there, then record this run.",
)
def run_command(
    specs: tuple[str, ...],
    data: str | None,
    schema: str | None,
    min_cell: int | None,
    fmt: str,
    out: Path | None,
    config_path: str | None,
    ledger_dir: Path | None,
) -> None:
    """Run specs on the extract; print protected cubes (suppressed values are null).

    With --ledger, each cube is also audited with every release recorded in that folder
    (values that would let anyone difference out a small group are withheld too) and,
    once the output is written, recorded there.
    """
    config = load_config(config_path)
    location = data or config.data
    if not location:
        raise click.UsageError("give --data (or 'data' in the node's config file)")
    loaded = load_specs(specs)
    ledger = Ledger(ledger_dir) if ledger_dir is not None else None
    source = open_source(location, schema=schema or config.schema)
    try:
        with progress_bar(len(loaded), "running") as step:
            results = run_specs(
                loaded, source, floor=config.min_cell, min_cell=min_cell, ledger=ledger,
                progress=step,
            )  # fmt: skip
    finally:
        source.close()
    text = render(results, fmt)
    if out is None:
        click.echo(text, nl=False)
    else:
        write_atomically(out, text)
    if ledger is not None:
        ledger.commit()


@node_group.command("ledger")
@click.option(
    "--ledger",
    "ledger_dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="A ledger folder (default: the agent's, in the state folder of node.yaml).",
)
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="node.yaml.")
def ledger_command(ledger_dir: Path | None, config_path: str | None) -> None:
    """List every release the ledger holds: what was published and what withheld."""
    if ledger_dir is None:
        ledger_dir = Path(load_config(config_path).state) / "ledger"
        if not ledger_dir.is_dir():
            raise NodeError(f"no ledger at {ledger_dir}: nothing has been released yet")
    releases = Ledger(ledger_dir).releases()
    for number, release in enumerate(releases, start=1):
        shown = [c for c in release.cells if c.value is not None]
        click.echo(
            f"{number:>6}  {release.at}  {release.query:<36} {release.scope:<8} k={release.k:<3}"
            f" counts published {len(shown)}, withheld {len(release.cells) - len(shown)}"
            f" ({release.unit} units)"
        )
    size = sum(p.stat().st_size for p in ledger_dir.iterdir() if p.is_file())
    click.echo(f"{len(releases)} releases, {size / 1e6:.1f} MB in {ledger_dir}")


node_group.add_command(check_command, "check")
node_group.add_command(check_install_command)
node_group.add_command(report_command)
for _command in AGENT_COMMANDS:
    node_group.add_command(_command)
