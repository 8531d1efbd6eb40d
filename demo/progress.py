"""What the demo says as it goes: one line a step, each with the seconds it took."""

from __future__ import annotations

import time
from collections.abc import Callable

import click

__all__ = ["say", "since", "timed_progress"]


def say(message: str) -> None:
    """Say one line on standard error."""
    click.echo(message, err=True)


def since(started: float) -> str:
    """Return the seconds since ``started`` as a short text ("3.2s", "41s")."""
    seconds = time.perf_counter() - started
    return f"{seconds:.1f}s" if seconds < 10 else f"{seconds:.0f}s"


def timed_progress() -> Callable[[str], None]:
    """Return a progress callback that says each line with the seconds since the last one."""
    last = [time.perf_counter()]

    def timed(line: str) -> None:
        say(f"  {line} ({since(last[0])})")
        last[0] = time.perf_counter()

    return timed
