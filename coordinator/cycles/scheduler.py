"""The cycle scheduler: opens each cycle's due rounds on a fixed interval (APScheduler 3).

Safe to run in more than one process: opening a period twice fails on the cycle round's
unique constraint, and the second opening is rolled back (``services.open_due_rounds``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask

from ..keys import load_coordinator_key
from .services import Opened, open_due_rounds

__all__ = ["open_due_once", "run_scheduler"]

log = logging.getLogger(__name__)


def open_due_once(app: Flask) -> list[Opened]:
    """Open every due period's rounds of the app's cycles once; return what was opened."""
    key = load_coordinator_key(Path(app.config["COORDINATOR_KEY_FILE"]))
    opened = open_due_rounds(app.extensions["lhs_sessions"], key, app.extensions["lhs_settings"])
    for o in opened:
        log.info(
            "cycle %s: period %s of %s opened round %d",
            o.cycle,
            o.period_start,
            o.query_id,
            o.round_id,
        )
    return opened


def run_scheduler(
    app: Flask, minutes: float, *, report: Callable[[list[Opened]], None] | None = None
) -> None:
    """Check for due periods now and every ``minutes`` after, until interrupted."""

    def job() -> None:
        opened = open_due_once(app)
        if report is not None:
            report(opened)

    scheduler = BlockingScheduler(timezone="UTC")
    # One run at a time; a run missed while the machine slept is run once, not many times.
    scheduler.add_job(
        job, IntervalTrigger(minutes=minutes), id="open-due-cycles", max_instances=1, coalesce=True
    )
    job()
    scheduler.start()
