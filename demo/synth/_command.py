"""``lhs synth``: write a synthetic extract from the command line."""

from __future__ import annotations

import time
from pathlib import Path

import click

from ._simulate import generate

__all__ = ["synth_command"]


@click.command("synth")
@click.option("--persons", type=click.IntRange(min=1), required=True, help="How many persons.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder to create (must not exist, or be empty).",
)
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "parquet"]), default="csv", show_default=True
)
@click.option(
    "--site-effect",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    help="Provider effect: multiplies the rates of care events.",
)
def synth_command(persons: int, seed: int, out: Path, fmt: str, site_effect: float) -> None:
    """Write a synthetic OMOP extract: end of life, hip fracture, births, knees, CKD, colorectal."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise click.UsageError(f"{out} already exists and is not an empty folder")
    started = time.perf_counter()
    counts = generate(persons, seed, out, fmt, site_effect)  # type: ignore[arg-type]
    for name, rows in counts.items():
        click.echo(f"{name:<22} {rows:>12,} rows")
    click.echo(f"wrote {out} ({fmt}) in {time.perf_counter() - started:.1f}s")
