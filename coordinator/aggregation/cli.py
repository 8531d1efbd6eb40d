"""``lhs round aggregate``: open a round's secure aggregation, or restart its stalled groups."""

from __future__ import annotations

import click

from ..cli import _one_line_errors, _session
from .services import OPEN_STATES, attempts, open_aggregation, restart_group

__all__ = ["aggregate_command"]


@click.command("aggregate")
@click.argument("round_id", type=int)
@click.option(
    "--restart",
    is_flag=True,
    help="Restart every open group without the members that have not sent their key or share.",
)
@_one_line_errors
def aggregate_command(round_id: int, restart: bool) -> None:
    """Open secure aggregation of a round (e.g. past its deadline) and show every group."""
    with _session() as session:
        open_aggregation(session, round_id)
        if restart:
            for row in attempts(session, round_id):
                if row["state"] in OPEN_STATES:
                    restart_group(session, round_id, row["group"])
        rows = attempts(session, round_id)
    if not rows:
        click.echo(f"round {round_id}: no group has 3 or more answered nodes of 3 organisations")
    for row in rows:
        level, area = row["group"]
        click.echo(
            f"round {round_id} {level} {area} attempt {row['attempt']}: {row['state']};"
            f" keys {len(row['keys'])}/{len(row['members'])},"
            f" shares {len(row['shares'])}/{len(row['members'])}"
        )
