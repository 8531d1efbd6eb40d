"""The ``lhs`` command line: query specs, the node, synthetic extracts.

Every error a user can cause ends in one line on stderr that names the
problem and a non-zero exit; nothing is written when a command fails.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
from pathlib import Path

import click

from protocol import ProtocolError, QuerySpec, explain, load_spec, spec_hash, spec_json_schema
from protocol import spec_problems as _spec_problems
from queries import library_paths

from .check import check_command
from .config import load_config
from .errors import NodeError
from .output import FORMATS, render
from .runner import run_specs
from .sources import open_source
from .synth import synth_command

__all__ = ["cli", "main"]


class LhsError(click.ClickException):
    """A user-facing failure: printed as one line, exit status 1."""

    def show(self, file: object = None) -> None:
        click.echo(f"lhs: error: {self.format_message()}", err=True)


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except (ProtocolError, NodeError) as exc:
            raise LhsError(str(exc)) from None


def resolve_specs(names: tuple[str, ...]) -> list[Path]:
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
            raise LhsError(
                f"{name}: no such spec file, and no library spec or area of that name"
                " (see 'lhs query list')"
            )
        paths.extend(found)
    return paths


def _load_all(names: tuple[str, ...]) -> list[QuerySpec]:
    specs = [load_spec(p) for p in resolve_specs(names)]
    seen: set[str] = set()
    for spec in specs:
        if spec.id in seen:
            raise LhsError(f"query {spec.id!r} is given twice")
        seen.add(spec.id)
    return specs


def write_atomically(path: Path, text: str) -> None:
    """Write text to path via a temporary file and a rename: all or nothing."""
    directory = path.resolve().parent
    if not directory.is_dir():
        raise LhsError(f"{path}: folder {directory} does not exist")
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log progress and suppression counts.")
@click.version_option(package_name="lhs")
def cli(verbose: bool) -> None:
    """lhs: federated indicators with small cells suppressed and proven safe."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


@cli.group(cls=_Group)
def query() -> None:
    """Write, validate and read query specs."""


@query.command("validate")
@click.argument("specs", nargs=-1, required=True)
def query_validate(specs: tuple[str, ...]) -> None:
    """Validate spec files; print every problem with its file and field."""
    bad = 0
    paths = resolve_specs(specs)
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            click.echo(
                f"{path}: cannot be read ({getattr(exc, 'strerror', None) or exc})", err=True
            )
            bad += 1
            continue
        problems = _spec_problems(text, str(path))
        if problems:
            bad += 1
            for problem in problems:
                click.echo(str(problem), err=True)
        else:
            spec = load_spec(path)
            click.echo(f"{path}: ok ({spec.id} v{spec.version}, {spec_hash(spec)})")
    if bad:
        raise LhsError(f"{bad} of {len(paths)} spec file(s) invalid")


@query.command("explain")
@click.argument("spec")
@click.option("--min-cell", type=click.IntRange(min=1), help="Show the text for this k.")
def query_explain(spec: str, min_cell: int | None) -> None:
    """Print the plain-language reading of a spec that a reviewer approves."""
    for path in resolve_specs((spec,)):
        click.echo(explain(load_spec(path), min_cell))


@query.command("list")
def query_list() -> None:
    """List the specs of the library shipped with lhs."""
    for path in library_paths():
        spec = load_spec(path)
        click.echo(f"{path.parent.name:<14} {spec.id:<38} v{spec.version}  {spec.title}")


@query.command("schema")
def query_schema() -> None:
    """Print the JSON Schema of query specs (for editors)."""
    click.echo(json.dumps(spec_json_schema(), indent=2))


@cli.group(cls=_Group)
def node() -> None:
    """Run a provider's node: check the extract, run approved queries."""


@node.command("run")
@click.argument("specs", nargs=-1, required=True)
@click.option("--data", "data", help="Extract folder (CSV/Parquet) or SQLAlchemy URL.")
@click.option("--schema", help="Database schema of the extract tables.")
@click.option("--min-cell", type=int, help="Raise the minimum cell size k above the floor.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="json", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write to a file.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="node.yaml.")
def node_run(
    specs: tuple[str, ...],
    data: str | None,
    schema: str | None,
    min_cell: int | None,
    fmt: str,
    out: Path | None,
    config_path: str | None,
) -> None:
    """Run specs on the extract; print protected cubes (suppressed values are null)."""
    config = load_config(config_path)
    location = data or config.data
    if not location:
        raise click.UsageError("give --data (or 'data' in the node's config file)")
    loaded = _load_all(specs)
    source = open_source(location, schema=schema or config.schema)
    try:
        results = run_specs(loaded, source, floor=config.min_cell, min_cell=min_cell)
    finally:
        source.close()
    text = render(results, fmt)
    if out is None:
        click.echo(text, nl=False)
    else:
        write_atomically(out, text)


node.add_command(check_command, "check")
cli.add_command(synth_command, "synth")


def main() -> None:
    """Run the ``lhs`` command line."""
    cli(prog_name="lhs")


# The coordinator's commands (coordinator init|serve|add-*|approve|reject, round status,
# query submit) live with the coordinator; registered last so both modules import cleanly.
from coordinator.cli import register_commands  # noqa: E402

register_commands(cli, query)

# The node agent's commands (node enrol|serve|tasks|approve|reject|show-sent|log).
from node.agent.cli import register_agent_commands  # noqa: E402

register_agent_commands(node)

# The whole loop on one machine (coordinator, nodes, a round, factsheets).
from coordinator.demo import demo_command  # noqa: E402

cli.add_command(demo_command)


if __name__ == "__main__":
    main()
