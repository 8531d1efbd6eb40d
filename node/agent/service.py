"""``lhs node serve``: the agent's cycle on an apscheduler interval, with backoff.

A cycle runs every ``poll_interval`` seconds plus up to ``jitter`` (so nodes
do not all call at once).  While the coordinator cannot be reached the wait
doubles after each failure, up to ``max_backoff``; the first cycle that gets
through catches up on every task and every result that waited.
"""

from __future__ import annotations

import logging
import signal
import threading
from datetime import UTC, datetime

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger

from .agent import Agent
from .errors import AgentError, CoordinatorRefused

__all__ = ["Service", "backoff_delay"]

log = logging.getLogger("node.agent")

JOB = "lhs-node-cycle"


def backoff_delay(failures: int, interval: float, cap: float) -> float:
    """Return the wait before the next try after ``failures`` failed cycles in a row.

    The trigger adds the jitter, so nodes that lost the coordinator together do
    not all come back at the same second.
    """
    return min(cap, interval * 2 ** max(failures - 1, 0))


class Service:
    """The agent's cycle, run by a blocking apscheduler scheduler until stopped."""

    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        self.config = agent.config
        self.failures = 0
        self.cycles = 0
        self.scheduler = BlockingScheduler(timezone="UTC")
        self._lock = threading.Lock()

    def _trigger(self, seconds: float) -> IntervalTrigger:
        return IntervalTrigger(seconds=max(seconds, 1), jitter=self.config.jitter or None)

    def tick(self) -> None:
        """Run one cycle and set the time of the next from its outcome."""
        with self._lock:
            self.cycles += 1
            try:
                self.agent.poll_once()
            except AgentError as exc:
                self.failures += 1
                delay = backoff_delay(
                    self.failures, self.config.poll_interval, self.config.max_backoff
                )
                level = logging.ERROR if isinstance(exc, CoordinatorRefused) else logging.WARNING
                log.log(level, "%s; try %d failed, next in %.0fs", exc, self.failures, delay)
                self._reschedule(delay)
                return
            except Exception as exc:  # a bug must not end the service; it is logged and retried
                self.failures += 1
                log.exception("cycle failed unexpectedly: %s", exc)
                self._reschedule(self.config.max_backoff)
                return
            if self.failures:
                log.info("the coordinator is back after %d failed tries", self.failures)
                self.failures = 0
                self._reschedule(self.config.poll_interval)

    def _reschedule(self, delay: float) -> None:
        if self.scheduler.get_job(JOB) is None:
            return
        # The interval restarts from now: the next cycle is `delay` (plus jitter) away.
        self.scheduler.reschedule_job(JOB, trigger=self._trigger(delay))

    def run(self) -> None:
        """Poll now and then on every interval, until SIGINT or SIGTERM."""
        self.scheduler.add_job(
            self.tick,
            self._trigger(self.config.poll_interval),
            id=JOB,
            next_run_time=datetime.now(UTC),
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                signal.signal(signum, lambda *_: self.stop())
        log.info(
            "serving node %s: polling %s every %gs (+ up to %gs jitter)",
            self.agent.node_id,
            self.config.coordinator,
            self.config.poll_interval,
            self.config.jitter,
        )
        try:
            self.scheduler.start()
        finally:
            log.info("stopped after %d cycle(s)", self.cycles)

    def stop(self) -> None:
        """Stop the scheduler (the running cycle finishes first)."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
