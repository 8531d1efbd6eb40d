"""``lhs node report``: write the node's read-only HTML report for the hospital's own people."""

from __future__ import annotations

import os
from pathlib import Path

import click

from ..config import load_config
from ..errors import NodeError

__all__ = ["report_command"]


@click.command("report")
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path),
    help="Folder to write index.html and the sent bytes into (made if missing).",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="The node's node.yaml (default: $LHS_NODE_CONFIG).",
)
def report_command(out: Path, config_path: str | None) -> None:
    """Write a static HTML report: what arrived, ran, was sent (bytes and hash), was held
    or declined, and whether the audit log verifies."""
    if not config_path and not os.environ.get("LHS_NODE_CONFIG"):
        raise click.UsageError("give --config node.yaml (or set LHS_NODE_CONFIG)")
    # Jinja2 only now: the node's other commands never load it.
    from .gather import gather
    from .render import write_report

    report = gather(load_config(config_path))
    page = write_report(report, out)
    if report.audit_problems:
        raise NodeError(
            f"the audit log was altered ({len(report.audit_problems)} problem(s)); the report"
            f" at {page} lists them"
        )
    click.echo(
        f"report: {page} ({len(report.tasks)} task(s), {len(report.sent)} message(s) sent,"
        " audit log intact)"
    )
