"""The ``lhs`` command line: query specs, the node, the coordinator, demo tooling.

Every error a person can cause ends in one line on stderr, ``lhs: error: …``, that names
the problem, and a non-zero exit; nothing is written when a command fails.
"""

from __future__ import annotations

import logging
import sys

import click

from protocol import LhsError

from .lazy import LazyCommand, LazyGroup
from .query import query_group

__all__ = ["CliError", "cli", "main"]

ROLE_COMMANDS = {
    "node": LazyCommand("node.cli", "node_group", "node", "Run a provider's node."),
    "synth": LazyCommand("demo.synth", "synth_command", "node", "Write a synthetic OMOP extract."),
    "coordinator": LazyCommand(
        "coordinator.cli", "coordinator_group", "coordinator", "Run the coordinator."
    ),
    "round": LazyCommand("coordinator.cli", "round_group", "coordinator", "Follow rounds."),
    "demo": LazyCommand(
        "demo.loop", "demo_command", "coordinator", "The whole loop on one machine."
    ),
}
"""Commands of each role, imported only when used."""


class CliError(click.ClickException):
    """A user-facing failure: printed as one line, exit status 1."""

    def show(self, file: object = None) -> None:
        click.echo(f"lhs: error: {self.format_message()}", err=True)


def _database_error(exc: Exception) -> str | None:
    # Looked up, not imported: a command that never opened a database need not load SQLAlchemy.
    sqlalchemy = sys.modules.get("sqlalchemy.exc")
    if sqlalchemy is None or not isinstance(exc, sqlalchemy.SQLAlchemyError):
        return None
    first = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"database error: {first[0] if first else type(exc).__name__}"


class _Root(LazyGroup):
    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except LhsError as exc:
            raise CliError(str(exc)) from None
        except Exception as exc:
            message = _database_error(exc)
            if message is None:
                raise
            raise CliError(message) from None


@click.group(
    cls=_Root, lazy=ROLE_COMMANDS, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.option("-v", "--verbose", is_flag=True, help="Log progress and suppression counts.")
@click.version_option(package_name="lhs")
def cli(verbose: bool) -> None:
    """lhs: federated indicators with small cells suppressed and proven safe."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


cli.add_command(query_group)


def main() -> None:
    """Run the ``lhs`` command line."""
    cli(prog_name="lhs")


if __name__ == "__main__":
    main()
