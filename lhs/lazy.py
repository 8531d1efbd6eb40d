"""A click group whose commands are imported only when they are asked for."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import click

from protocol import LhsError

__all__ = ["LazyCommand", "LazyGroup"]

_OWN_PACKAGES = {"lhs", "protocol", "node", "coordinator", "queries", "demo"}


@dataclass(frozen=True)
class LazyCommand:
    """Where a command lives (``module``, ``attribute``) and which extra installs its role."""

    module: str
    attribute: str
    role: str
    help: str


class LazyGroup(click.Group):
    """A group whose ``lazy`` commands are imported on first use (``lhs --help`` too)."""

    def __init__(self, *args: Any, lazy: Mapping[str, LazyCommand], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        where = self.lazy.get(cmd_name)
        if where is None:
            return super().get_command(ctx, cmd_name)
        try:
            module = importlib.import_module(where.module)
        except ModuleNotFoundError as exc:
            if (exc.name or "").partition(".")[0] in _OWN_PACKAGES:
                raise
            return _not_installed(cmd_name, where, exc.name or "a dependency")
        return getattr(module, where.attribute)


def _not_installed(name: str, where: LazyCommand, missing: str) -> click.Command:
    """A stand-in for a command whose role is not installed: it says what to install."""

    def fail(**_: Any) -> None:
        raise LhsError(
            f"'lhs {name}' needs the {where.role} role ({missing} is not installed):"
            f" pip install 'lhs[{where.role}]'"
        )

    return click.Command(
        name,
        callback=fail,
        help=f"Not installed: pip install 'lhs[{where.role}]'. {where.help}",
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
        params=[click.Argument(["args"], nargs=-1, required=False)],
        add_help_option=False,
    )
