"""Run approved tasks with the node engine and put their signed results in the outbox.

Tasks that share k run together, so specs that share a cohort share one
statement (``run_specs``).  k is the highest of the node's floor, the task's
``min_cell`` and the spec's own.  An extract that cannot be reached leaves the
tasks approved for the next cycle; a spec that cannot be run or protected
fails its task for good, with the reason.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from protocol import (
    CUBE,
    HEADLINE,
    ProtocolError,
    QuerySpec,
    canonical_json,
    check_result,
    load_spec,
    parse_spec,
    parse_time,
    result_payload,
    sign,
    spec_hash,
)
from queries import library_paths

from ..errors import DataSourceError, NodeError
from ..runner import QueryResult, run_specs
from ..sources import open_source
from .audit import digest
from .state import task_payload

if TYPE_CHECKING:
    from .agent import Agent, Cycle

__all__ = ["library_hashes", "run_approved"]

log = logging.getLogger("node.agent")

Job = tuple[dict[str, Any], dict[str, Any], QuerySpec]
"""A task row, its payload and its parsed spec."""


@functools.cache
def library_hashes() -> frozenset[str]:
    """Return the spec hashes of the installed library."""
    return frozenset(spec_hash(load_spec(path)) for path in library_paths())


def _batches(jobs: Sequence[Job], floor: int) -> list[tuple[int, list[Job]]]:
    # One batch per k; two versions of one spec id cannot share a batch (results go by id).
    batches: list[tuple[int, list[Job], dict[str, str]]] = []
    for job in jobs:
        _, payload, spec = job
        k = max(floor, payload["min_cell"])
        for batch_k, members, ids in batches:
            if batch_k == k and ids.get(spec.id, payload["spec_hash"]) == payload["spec_hash"]:
                members.append(job)
                ids[spec.id] = payload["spec_hash"]
                break
        else:
            batches.append((k, [job], {spec.id: payload["spec_hash"]}))
    return [(k, members) for k, members, _ in batches]


def run_approved(agent: Agent, cycle: Cycle) -> None:
    """Run every approved task and store each signed result in the outbox."""
    jobs: list[Job] = []
    now = datetime.now(UTC)
    for row in agent.state.store.tasks("approved"):
        payload = task_payload(row)
        if parse_time(row["deadline"], "deadline") <= now:
            agent.state.store.set_state(row["task_id"], "refused", "expired before it ran")
            agent.state.event(
                "task_refused",
                f"{row['task_id']}: the deadline passed before it ran",
                logging.WARNING,
                task_id=row["task_id"],
                reason="expired",
            )
            continue
        try:
            spec = parse_spec(payload["spec"], f"task {row['task_id']}")
        except ProtocolError as exc:  # checked on arrival; only a changed lhs could refuse it now
            _fail(agent, cycle, row["task_id"], str(exc))
            continue
        jobs.append((row, payload, spec))
    for k, batch in _batches(jobs, agent.config.min_cell):
        _run_batch(agent, cycle, k, batch)


def _run_batch(agent: Agent, cycle: Cycle, k: int, batch: list[Job]) -> None:
    specs = list({payload["spec_hash"]: spec for _, payload, spec in batch}.values())
    config = agent.config
    try:
        source = open_source(config.data, schema=config.schema)  # type: ignore[arg-type]
    except DataSourceError as exc:
        log.error("run: the extract cannot be opened (%s); tasks wait for the next cycle", exc)
        return
    ledger = agent.state.ledger
    scope = HEADLINE if config.policy.secure_aggregation else CUBE
    try:
        results = run_specs(
            specs, source, floor=config.min_cell, min_cell=k, ledger=ledger, scope=scope
        )
    except DataSourceError as exc:
        ledger.discard()
        log.error("run: the extract cannot be read (%s); tasks wait for the next cycle", exc)
        return
    except (ProtocolError, NodeError) as exc:
        ledger.discard()
        if len(specs) > 1:
            # Find the task at fault: run each on its own.
            for job in batch:
                _run_batch(agent, cycle, k, [job])
            return
        for row, _, _ in batch:
            _fail(agent, cycle, row["task_id"], str(exc))
        return
    finally:
        source.close()
    # Recorded before anything reaches the outbox: a crash in between leaves the ledger
    # stricter than what left, never looser.
    ledger.commit()
    for result in results:
        if result.withheld:
            agent.state.event(
                "release_withheld",
                f"{result.spec.id}: {len(result.withheld)} values withheld: with earlier"
                " releases they would narrow a small group",
                spec_hash=result.spec_hash,
                withheld=[[list(key), name] for key, name in sorted(result.withheld, key=str)],
            )
    by_hash = {result.spec_hash: result for result in results}
    for row, payload, _ in batch:
        _store(agent, cycle, row["task_id"], payload, by_hash[payload["spec_hash"]])


def _fail(agent: Agent, cycle: Cycle, task_id: str, reason: str) -> None:
    agent.state.store.set_state(task_id, "failed", reason)
    cycle.failed.append(task_id)
    agent.state.event(
        "task_failed", f"{task_id}: {reason}", logging.ERROR, task_id=task_id, reason=reason
    )


def _store(
    agent: Agent, cycle: Cycle, task_id: str, task: dict[str, Any], result: QueryResult
) -> None:
    # A node in secure aggregation sends its overall values only: its breakdowns reach the
    # coordinator summed with its groups'.  A node that declines sends its protected cube.
    aggregates = agent.config.policy.secure_aggregation
    published = result.headline() if aggregates else result.to_dict()
    try:
        # The coordinator's own check of a result, run here first: nothing malformed leaves.
        check_result(result.spec, published, min_cell=task["min_cell"])
    except ProtocolError as exc:
        _fail(agent, cycle, task_id, f"the result does not pass the result check: {exc}")
        return
    payload = result_payload(task, agent.node_id, published)
    # The canonical bytes are stored and sent as they are: a retry repeats them exactly.
    body = canonical_json(sign(payload, agent.node_key, agent.node_id))
    sha = digest(body)
    measures = [m.name for m in result.protected.cube.measures]
    suppressed = sum(cell[name] is None for cell in published["cells"] for name in measures)
    cycle.run += 1
    agent.state.event(
        "task_run",
        f"{task_id} ({result.spec.id}): {published['scope']}, {len(published['cells'])} cells,"
        f" k={result.k}, {suppressed} values suppressed",
        task_id=task_id,
        spec_hash=result.spec_hash,
        k=result.k,
        scope=published["scope"],
        cells=len(published["cells"]),
        suppressed=suppressed,
    )
    # The exact finest cells stay here for secure aggregation; never sent in clear (and not
    # kept at all by a node that does not take part).
    cube = result.protected.cube
    if aggregates:
        agent.state.aggregation.save_exact(
            task["round_id"],
            task_id,
            result.spec_hash,
            list(cube.dimensions),
            [m.name for m in cube.measures],
            {key: values for key, values in cube.cells.items() if None not in key},
        )
    agent.state.store.store_result(task_id, body, sha)
    agent.state.event(
        "result_stored",
        f"{task_id}: {len(body)} bytes, {sha}, in the outbox",
        task_id=task_id,
        bytes=len(body),
        sha256=sha,
    )
