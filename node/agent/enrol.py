"""Enrol a node: make its key pair, pin the coordinator's key, register with a one-time code.

The private key is written (mode 0600) before the coordinator is asked, as
``node.key.pending``, and becomes ``node.key`` only once the coordinator has
accepted it; a failed attempt is simply repeated.  The enrolment code is used
once and never written anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from protocol import ProtocolError, canonical_json, key_id, public_key_from_text, public_key_text

from ..config import NodeConfig
from .audit import now_text
from .errors import AgentError
from .keys import KeyFolder
from .state import NodeState
from .transport import Coordinator

__all__ = ["Enrolment", "enrol"]


@dataclass(frozen=True)
class Enrolment:
    """The outcome of ``enrol``: both fingerprints, and whether it was done before."""

    node_id: str
    coordinator: str
    node_key_id: str
    coordinator_key_id: str
    already: bool = False


def _coordinator_key(client: Coordinator) -> str:
    body = client.get("/coordinator-key").body
    text, claimed = body.get("public_key"), body.get("key_id")
    if not isinstance(text, str):
        raise AgentError("the coordinator's key answer has no 'public_key'")
    try:
        key = public_key_from_text(text)
    except ProtocolError as exc:
        raise AgentError(f"the coordinator's public key is unusable: {exc}") from None
    if claimed is not None and claimed != key_id(key):
        raise AgentError(f"the coordinator's key_id {claimed} does not match its key {key_id(key)}")
    return text


def enrol(config: NodeConfig, code: str | None, client: Coordinator | None = None) -> Enrolment:
    """Enrol this node with the coordinator named in its config."""
    if not config.coordinator or not config.node_id:
        raise AgentError("the node's config must name 'coordinator' and 'node_id' to enrol")
    keys = KeyFolder(Path(config.keys))
    record = keys.record()
    if record is not None:
        if (record.get("node_id"), record.get("coordinator")) != (
            config.node_id,
            config.coordinator,
        ):
            raise AgentError(
                f"{keys.folder} holds the keys of node {record.get('node_id')!r} enrolled at"
                f" {record.get('coordinator')}; use another keys folder"
            )
        return Enrolment(
            config.node_id,
            config.coordinator,
            record["node_key_id"],
            record["coordinator_key_id"],
            already=True,
        )
    if keys.node_key_path.exists():
        raise AgentError(
            f"{keys.node_key_path} exists but no enrolment is recorded; refusing to replace a"
            " key (move it away to enrol afresh)"
        )
    if not code or not code.strip():
        raise AgentError("give the enrolment code: --code CODE, or set LHS_ENROLMENT_CODE")
    client = client or Coordinator(config.coordinator, ca_bundle=config.ca_bundle)
    coordinator_text = _coordinator_key(client)
    coordinator_key = public_key_from_text(coordinator_text)
    pinned = keys.coordinator_key() if keys.pinned_path.exists() else None
    if pinned is not None and public_key_text(pinned) != coordinator_text:
        raise AgentError(
            f"the coordinator now presents key {key_id(coordinator_text)}, but"
            f" {key_id(pinned)} is pinned in {keys.pinned_path}; refusing it"
        )
    node_key = keys.pending_key()
    body = canonical_json(
        {"node_id": config.node_id, "public_key": public_key_text(node_key), "enrolment_code": code}
    )
    answer = client.post("/nodes/enrol", body)
    echoed = answer.body.get("coordinator_key")
    if isinstance(echoed, dict) and echoed.get("public_key") not in (None, coordinator_text):
        raise AgentError("the coordinator's enrolment answer names a different coordinator key")
    keys.pin(coordinator_key)
    result = Enrolment(
        config.node_id, config.coordinator, key_id(node_key), key_id(coordinator_key)
    )
    keys.complete(
        {
            "node_id": result.node_id,
            "coordinator": result.coordinator,
            "node_key_id": result.node_key_id,
            "coordinator_key_id": result.coordinator_key_id,
            "enrolled_at": now_text(),
        }
    )
    state = NodeState.open(config)
    try:
        # The body holds the code: the audit log keeps its size only, never the code or a hash.
        state.event(
            "enrolled",
            f"as {result.node_id} at {result.coordinator}; node key {result.node_key_id},"
            f" coordinator key {result.coordinator_key_id}",
            node_key_id=result.node_key_id,
            coordinator_key_id=result.coordinator_key_id,
            bytes=len(body),
        )
    finally:
        state.close()
    return result
