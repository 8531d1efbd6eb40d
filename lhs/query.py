"""``lhs query``: write, validate and read query specs (and submit them, with the coordinator)."""

from __future__ import annotations

import json

import click

from protocol import (
    LhsError,
    explain,
    load_spec,
    neighbours,
    spec_hash,
    spec_json_schema,
    spec_problems,
)
from queries import library_paths, resolve_specs

from .lazy import LazyCommand, LazyGroup

__all__ = ["query_group"]

_SUBMIT = LazyCommand(
    "coordinator.client", "submit_command", "coordinator", "Submit specs for review."
)


@click.group("query", cls=LazyGroup, lazy={"submit": _SUBMIT})
def query_group() -> None:
    """Write, validate and read query specs."""


@query_group.command("validate")
@click.argument("specs", nargs=-1, required=True)
def validate_command(specs: tuple[str, ...]) -> None:
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
        problems = spec_problems(text, str(path))
        if problems:
            bad += 1
            for problem in problems:
                click.echo(str(problem), err=True)
        else:
            spec = load_spec(path)
            click.echo(f"{path}: ok ({spec.id} v{spec.version}, {spec_hash(spec)})")
    if bad:
        raise LhsError(f"{bad} of {len(paths)} spec file(s) invalid")


@query_group.command("explain")
@click.argument("spec")
@click.option("--min-cell", type=click.IntRange(min=1), help="Show the text for this k.")
def explain_command(spec: str, min_cell: int | None) -> None:
    """Print the plain-language reading of a spec that a reviewer approves."""
    library = {spec_hash(s): s for s in map(load_spec, library_paths())}
    for path in resolve_specs((spec,)):
        parsed = load_spec(path)
        click.echo(explain(parsed, min_cell))
        digest = spec_hash(parsed)
        others = [(f"{s.id} v{s.version}", s) for h, s in library.items() if h != digest]
        close = neighbours(parsed, others)
        if close:
            click.echo(
                "One restriction apart from library specs (the difference of the two counts"
                " is the few units that restriction tells apart):"
            )
            for near in close:
                click.echo(f"  - {near.ref}: {near.difference}")


@query_group.command("list")
def list_command() -> None:
    """List the specs of the library shipped with lhs."""
    for path in library_paths():
        spec = load_spec(path)
        click.echo(f"{path.parent.name:<14} {spec.id:<38} v{spec.version}  {spec.title}")


@query_group.command("schema")
def schema_command() -> None:
    """Print the JSON Schema of query specs (for editors)."""
    click.echo(json.dumps(spec_json_schema(), indent=2))
