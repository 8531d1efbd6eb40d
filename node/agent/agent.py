"""The node agent: poll the coordinator, check and decide each task, run, store, upload.

One cycle (``Agent.poll_once``) is: a signed poll; every new task checked
(``checks.accept_task``) and either refused, held for the local admin or
approved by policy; every approved task run with the node engine; the signed
result stored in the outbox; every pending result uploaded.  The node only
ever calls out; a result is durable before the first byte of it is sent.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows has no flock
    fcntl = None  # type: ignore[assignment]

from protocol import canonical_json, is_whole, poll_payload, sign

from ..config import NodeConfig
from .aggregate import answer_requests
from .audit import digest
from .checks import accept_task
from .errors import AgentError, CoordinatorRefused, CoordinatorUnavailable, TaskRefused
from .keys import KeyFolder
from .running import library_hashes, run_approved
from .state import NodeState
from .transport import Coordinator, software

__all__ = ["Agent", "Cycle"]

log = logging.getLogger("node.agent")


@dataclass
class Cycle:
    """What one cycle did, counted."""

    tasks: int = 0
    refused: int = 0
    held: int = 0
    run: int = 0
    uploaded: int = 0
    duplicates: int = 0
    aggregated: int = 0
    failed: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"{self.tasks} new task(s): {self.refused} refused, {self.held} held;"
            f" {self.run} run; {self.uploaded} uploaded ({self.duplicates} already stored)"
            + (f"; {self.aggregated} aggregation message(s) sent" if self.aggregated else "")
            + (f"; {len(self.failed)} failed" if self.failed else "")
        )


class Agent:
    """A node's agent, bound to its config, keys, state folder and coordinator."""

    def __init__(self, config: NodeConfig, client: Coordinator | None = None) -> None:
        missing = [name for name in ("coordinator", "node_id", "data") if not getattr(config, name)]
        if missing:
            raise AgentError(f"the node's config lacks {', '.join(missing)}")
        self.config = config
        self.node_id: str = config.node_id  # type: ignore[assignment]
        keys = KeyFolder(Path(config.keys))
        self.node_key = keys.node_key()
        self.coordinator_key = keys.coordinator_key()
        self._lock = _lock_state(Path(config.state))
        self.state = NodeState.open(config)
        self.client = client or Coordinator(
            config.coordinator,  # type: ignore[arg-type]
            ca_bundle=config.ca_bundle,
        )
        self.aggregation_requests: list[Any] = []

    def close(self) -> None:
        """Release the database and the HTTP connections."""
        self.state.close()
        self.client.close()
        self._lock.close()

    def poll_once(self) -> Cycle:
        """Run one cycle; raise the coordinator's error at the end if it could not be reached."""
        cycle = Cycle()
        problem: AgentError | None = None
        try:
            envelopes = self.poll()
        except (CoordinatorUnavailable, CoordinatorRefused) as exc:
            problem, envelopes = exc, []
        for envelope in envelopes:
            self.receive(envelope, cycle)
        # Approved tasks run even when the coordinator is away: their results wait in the outbox.
        run_approved(self, cycle)
        if problem is None:
            try:
                self.upload_pending(cycle)
                # After the results: the coordinator asks only members that answered the round.
                answer_requests(self, self.aggregation_requests, cycle)
            except CoordinatorUnavailable as exc:
                problem = exc
        if problem is not None:
            raise problem
        busy = cycle.tasks or cycle.run or cycle.uploaded or cycle.aggregated or cycle.failed
        log.log(logging.INFO if busy else logging.DEBUG, "cycle: %s", cycle)
        return cycle

    def poll(self) -> list[Any]:
        """Send a signed poll; return its task envelopes and keep its aggregation requests."""
        payload = poll_payload(self.node_id, software=software())
        body = canonical_json(sign(payload, self.node_key, self.node_id))
        sent = {"bytes": len(body), "sha256": digest(body)}
        try:
            answer = self.client.post(f"/nodes/{quote(self.node_id, safe='')}/poll", body)
        except (CoordinatorRefused, CoordinatorUnavailable) as exc:
            # Recorded here; the caller (serve, or --once) reports it in one line.
            status = exc.status if isinstance(exc, CoordinatorRefused) else "unreachable"
            self.state.audit.append("poll", **sent, status=status)
            raise
        tasks = answer.body.get("tasks")
        if not isinstance(tasks, list):
            self.state.audit.append("poll", **sent, status=answer.status, tasks=None)
            raise CoordinatorUnavailable("the coordinator's poll answer has no list of tasks")
        requests = answer.body.get("aggregation")
        self.aggregation_requests = requests if isinstance(requests, list) else []
        counts = {"aggregation": len(self.aggregation_requests)} if requests else {}
        self.state.audit.append("poll", **sent, status=answer.status, tasks=len(tasks), **counts)
        log.log(logging.INFO if tasks else logging.DEBUG, "poll: %d task(s) listed", len(tasks))
        return tasks

    def receive(self, envelope: Any, cycle: Cycle) -> None:
        """Check one task envelope and record it: refused, held or approved by policy."""
        # Not canonical_json: a hostile envelope (NaN, ...) must still get a digest to record.
        text = json.dumps(envelope, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        envelope_digest = digest(text.encode("utf-8"))
        known = self.state.store.by_digest(envelope_digest)
        if known is not None:
            # The coordinator lists a task until it holds our result: no second decision.
            if known["state"] == "sent" and self.state.store.requeue(known["task_id"]):
                self.state.event(
                    "upload_requeued",
                    f"{known['task_id']}: the coordinator lists it again; re-sending the result",
                    task_id=known["task_id"],
                )
            return
        cycle.tasks += 1
        claimed = envelope.get("payload") if isinstance(envelope, dict) else None
        claimed = claimed if isinstance(claimed, dict) else {}
        hint = claimed.get("task_id") if isinstance(claimed.get("task_id"), str) else None
        self.state.event(
            "task_seen",
            f"{hint} ({claimed.get('spec_id')}, round {claimed.get('round_id')})",
            task_id=hint,
            digest=envelope_digest,
        )
        row = {"digest": envelope_digest, "envelope": text}
        try:
            task = accept_task(
                envelope,
                self.coordinator_key,
                self.node_id,
                datetime.now(UTC),
                seen=lambda task_id: self.state.store.task(task_id) is not None,
            )
        except TaskRefused as refusal:
            cycle.refused += 1
            self.state.store.add_task(
                **row,
                **_columns(claimed),
                task_id=hint,
                accepted=False,
                state="refused",
                reason=str(refusal),
            )
            self.state.event(
                "task_refused",
                f"{hint}: {refusal}",
                logging.WARNING,
                task_id=hint,
                reason=refusal.code,
                detail=refusal.message,
            )
            return
        library = task.payload["spec_hash"] in library_hashes()
        auto = library and self.config.policy.auto_run_library
        state = "approved" if auto else "held"
        reason = "policy: auto_run_library" if auto else None
        self.state.store.add_task(
            **row,
            **_columns(task.payload),
            task_id=task.task_id,
            accepted=True,
            library=library,
            state=state,
            reason=reason,
        )
        if auto:
            self.state.event(
                "task_approved",
                f"{task.task_id} ({task.spec.id}): a library spec, run by policy",
                task_id=task.task_id,
                spec_hash=task.payload["spec_hash"],
                by="policy",
            )
        else:
            cycle.held += 1
            why = "not a spec of the installed library" if not library else "policy holds all"
            self.state.event(
                "task_held",
                f"{task.task_id} ({task.spec.id}): {why}; waiting for 'lhs node approve'",
                task_id=task.task_id,
                spec_hash=task.payload["spec_hash"],
                library=library,
            )

    def refused(
        self, event: str, what: str, exc: CoordinatorRefused, cycle: Cycle, sent: dict[str, Any]
    ) -> None:
        """Record an upload the coordinator refused for good: in the cycle and the audit log."""
        cycle.failed.append(what)
        self.state.event(
            event,
            f"{what}: {exc}",
            logging.ERROR,
            **sent,
            status=exc.status,
            outcome=f"refused: {exc.code}",
        )

    def upload_pending(self, cycle: Cycle | None = None) -> None:
        """Upload every pending result; a repeat after a lost answer is harmless."""
        cycle = cycle or Cycle()
        for entry in self.state.store.outbox("pending"):
            task_id = entry["task_id"]
            sent = {"task_id": task_id, "bytes": entry["bytes"], "sha256": entry["sha256"]}
            try:
                answer = self.client.post("/results", entry["body"])
            except CoordinatorRefused as exc:
                self.state.store.record_attempt(task_id, "failed", exc.status, str(exc))
                self.state.store.set_state(task_id, "failed", f"upload refused: {exc}")
                self.refused("upload", task_id, exc, cycle, sent)
                continue
            except CoordinatorUnavailable as exc:
                self.state.store.record_attempt(task_id, "pending", None, str(exc))
                self.state.event(
                    "upload",
                    f"{task_id}: {exc}; kept in the outbox",
                    logging.WARNING,
                    **sent,
                    status="unreachable",
                    outcome="retry",
                )
                raise
            duplicate = answer.body.get("duplicate") is True
            self.state.store.record_attempt(task_id, "sent", answer.status, None)
            cycle.uploaded += 1
            cycle.duplicates += duplicate
            outcome = "duplicate" if duplicate else "stored"
            self.state.event(
                "upload",
                f"{task_id}: {entry['bytes']} bytes, {entry['sha256']}, HTTP {answer.status}"
                f" ({outcome})",
                **sent,
                status=answer.status,
                outcome=outcome,
            )


def _lock_state(folder: Path) -> IO[bytes]:
    # Two agents on one state folder would run and send every task twice.
    folder.mkdir(parents=True, exist_ok=True)
    handle = open(folder / "agent.lock", "ab")  # noqa: SIM115 - held until close()
    if fcntl is not None:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise AgentError(f"another agent is running on the state folder {folder}") from None
    return handle


def _columns(payload: dict[str, Any]) -> dict[str, Any]:
    # Only well-typed values in range reach the table; a refused task may carry anything
    # (a round id of 10**30 overflows SQLite and would fail every cycle while it is listed).
    kinds = {
        "round_id": int,
        "spec_id": str,
        "spec_version": int,
        "spec_hash": str,
        "min_cell": int,
        "deadline": str,
    }
    return {name: _column(payload.get(name), kind) for name, kind in kinds.items()}


def _column(value: Any, kind: type) -> Any:
    if kind is int:
        return value if is_whole(value) else None  # 0 .. 2**63-1: what a database holds
    return value[:200] if isinstance(value, str) else None
