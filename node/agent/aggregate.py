"""Answer the coordinator's secure-aggregation requests: a fresh key, then a masked share.

A node whose policy says ``secure_aggregation: false`` answers every request with a signed
decline instead, and keeps no exact cube.

A request is checked before anything is sent: the coordinator's signature, that it names
this node and lists it among at least 3 members, that this node answered the round (it
holds the round's exact cube), and that the layout is the one hashed and fits the cube.
The share is the exact values of the cells the layout lists (margins summed here from the
finest cells), masked with the pairwise seeds of the members' keys, so the coordinator
learns only the group's sums of those cells.  Every body sent is logged and kept.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from protocol import (
    AggRequest,
    MessageInvalid,
    ProtocolError,
    agg_decline_payload,
    agg_key_bytes,
    agg_key_from_bytes,
    agg_key_payload,
    agg_public_text,
    agg_share_payload,
    canonical_json,
    check_agg_request,
    flatten_cells,
    generate_agg_key,
    layout_hash,
    mask_vector,
    pairwise_seeds,
    sign,
    verify,
)

from .audit import digest
from .errors import CoordinatorRefused, CoordinatorUnavailable

if TYPE_CHECKING:
    from .agent import Agent, Cycle

__all__ = ["answer_requests"]

DECLINE_REASON = "policy: secure_aggregation is false"


class _Refused(Exception):
    """A request this node will not answer: a short code and the reason."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _verify(agent: Agent, envelope: Any) -> AggRequest:
    try:
        payload = verify(envelope, agent.coordinator_key, signer="coordinator")
        return check_agg_request(payload, node_id=agent.node_id)
    except MessageInvalid as exc:
        raise _Refused(exc.code, exc.message) from None
    except ProtocolError as exc:
        raise _Refused("bad_signature", str(exc)) from None


def _vector(agent: Agent, request: AggRequest) -> list[int]:
    """Return this node's exact values of the request's layout, checked to fit its cube."""
    cube = agent.state.aggregation.exact(request.round_id)
    if cube is None:
        raise _Refused("unknown_round", f"this node holds no result of round {request.round_id}")
    layout = request.payload.get("layout")
    try:
        same = layout_hash(layout) == request.payload.get("layout_hash")  # type: ignore[arg-type]
        fits = layout["dimensions"] == cube["dimensions"]  # type: ignore[index]
        fits = fits and layout["measures"] == cube["measures"]  # type: ignore[index]
        cells = cube["cells"]
        vector = flatten_cells(layout, cells) if same and fits else []  # type: ignore[arg-type]
    except (ProtocolError, KeyError, TypeError) as exc:
        raise _Refused(
            "layout_mismatch", f"the layout does not fit this node's cube: {exc}"
        ) from None
    if not (same and fits):
        raise _Refused("layout_mismatch", "the layout's hash, dimensions or measures differ")
    if min(vector, default=0) < 0:
        # Only a measure the layout marks signed may be negative, and it goes in shifted.
        raise _Refused("layout_mismatch", "the layout does not mark a negative measure signed")
    return vector


def _key_payload(agent: Agent, request: AggRequest) -> dict[str, Any]:
    context = (request.round_id, request.group, request.attempt)
    raw = agent.state.aggregation.key(*context)
    if raw is None:
        # Fresh per round, group and attempt: a restarted group never reuses a key.
        raw = agg_key_bytes(generate_agg_key())
        agent.state.aggregation.save_key(*context, raw)
    public = agg_public_text(agg_key_from_bytes(raw))
    return agg_key_payload(request, agent.node_id, public)


def _share_payload(agent: Agent, request: AggRequest, vector: list[int]) -> dict[str, Any]:
    raw = agent.state.aggregation.key(request.round_id, request.group, request.attempt)
    keys = request.payload.get("keys")
    if raw is None:
        raise _Refused("no_key", "this node sent no key for this attempt")
    if not isinstance(keys, dict) or sorted(keys) != request.members:
        raise _Refused("wrong_keys", "the keys do not name exactly the members")
    try:
        seeds = pairwise_seeds(
            agg_key_from_bytes(raw),
            agent.node_id,
            keys,
            round_id=request.round_id,
            group=list(request.group),
            attempt=request.attempt,
        )
    except ProtocolError as exc:
        raise _Refused("wrong_keys", str(exc)) from None
    return agg_share_payload(request, agent.node_id, mask_vector(vector, agent.node_id, seeds))


def _prepare(agent: Agent, envelope: Any) -> bytes:
    request = _verify(agent, envelope)
    if not agent.config.policy.secure_aggregation:
        # Said once, signed: the coordinator sums the group without this node at once
        # instead of waiting an hour for a key that will not come.
        payload = agg_decline_payload(request, agent.node_id, DECLINE_REASON)
        agent.state.event(
            "aggregation_declined",
            f"round {request.round_id} {list(request.group)}: {DECLINE_REASON}",
            round_id=request.round_id,
            group=list(request.group),
            attempt=request.attempt,
        )
        return canonical_json(sign(payload, agent.node_key, agent.node_id))
    vector = _vector(agent, request)
    if request.kind == "key":
        payload = _key_payload(agent, request)
    else:
        payload = _share_payload(agent, request, vector)
    return canonical_json(sign(payload, agent.node_key, agent.node_id))


def answer_requests(agent: Agent, envelopes: list[Any], cycle: Cycle) -> None:
    """Answer every aggregation request of a poll; a request listed again is answered again."""
    store = agent.state.aggregation
    for envelope in envelopes:
        # Not canonical_json: a hostile request may hold NaN, which that refuses to write.
        text = json.dumps(envelope, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        key = digest(text.encode("utf-8"))
        known = store.request(key)
        if known is None:
            claimed = envelope.get("payload") if isinstance(envelope, dict) else None
            claimed = claimed if isinstance(claimed, dict) else {}
            about = {
                "round_id": claimed.get("round_id")
                if isinstance(claimed.get("round_id"), int)
                else None,
                "group": json.dumps(claimed.get("group"))[:60],
                "attempt": claimed.get("attempt")
                if isinstance(claimed.get("attempt"), int)
                else None,
                "phase": str(claimed.get("phase"))[:10],
            }
            try:
                body = _prepare(agent, envelope)
            except _Refused as refusal:
                store.add_request(key, "refused", reason=f"{refusal.code}: {refusal}", **about)
                agent.state.event(
                    "aggregation_refused",
                    f"round {about['round_id']} {about['group']}: {refusal}",
                    logging.WARNING,
                    **about,
                    reason=refusal.code,
                    detail=str(refusal),
                )
                continue
            store.add_request(key, "pending", body=body, sha256=digest(body), **about)
            known = store.request(key)
        if known is None or known["state"] not in ("pending", "sent"):
            continue  # refused here or there once: the same request gets the same answer
        _upload(agent, key, known, cycle)


def _upload(agent: Agent, key: str, row: dict[str, Any], cycle: Cycle) -> None:
    body: bytes = row["body"]
    sent = {
        "round_id": row["round_id"],
        "group": row["group"],
        "attempt": row["attempt"],
        "phase": row["phase"],
        "bytes": len(body),
        "sha256": row["sha256"],
    }
    where = f"round {row['round_id']} {row['group']} attempt {row['attempt']} {row['phase']}"
    try:
        answer = agent.client.post("/aggregation", body)
    except CoordinatorRefused as exc:
        agent.state.aggregation.set_request(key, "failed", str(exc))
        agent.refused("aggregation_upload", where, exc, cycle, sent)
        return
    except CoordinatorUnavailable as exc:
        agent.state.event(
            "aggregation_upload", f"{where}: {exc}", logging.WARNING, **sent, status="unreachable"
        )
        raise
    agent.state.aggregation.set_request(key, "sent")
    cycle.aggregated += 1
    outcome = "duplicate" if answer.body.get("duplicate") is True else "stored"
    agent.state.event(
        "aggregation_upload",
        f"{where}: {len(body)} bytes, {row['sha256']}, HTTP {answer.status} ({outcome})",
        **sent,
        status=answer.status,
        outcome=outcome,
    )
