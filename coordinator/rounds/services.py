"""Opening rounds, their status, and the stored results others (merge, factsheets) read.

A round is one run of an approved spec: the coordinator signs one task per target node,
naming the spec hash, k and the deadline, and stores each envelope exactly as it will be
sent.  Nodes fetch them by polling and answer with signed results (``rounds.messages``).
"""

from __future__ import annotations

import functools
import json
import uuid
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.orm import Session

from protocol import (
    MAX_MIN_CELL,
    QuerySpec,
    canonical_json,
    is_whole,
    parse_spec,
    sign,
    task_payload,
    utcnow,
    write_time,
)

from ..accounts.models import User
from ..accounts.services import CAN_READ_ALL
from ..audit.services import record
from ..config import Settings
from ..errors import BadRequest, Conflict, NotFound
from ..registry.models import Node
from ..registry.services import enrolled_node_ids
from ..review.models import Spec
from .models import Result, Round, Task

__all__ = ["list_rounds", "open_round", "round_results", "round_status"]

MAX_DEADLINE_DAYS = 366


def _whole(value: object, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BadRequest(f"bad_{name}", f"{name} must be a whole number from {low} to {high}")
    return value


def _targets(session: Session, nodes: object) -> list[str]:
    if nodes is None:
        targets = enrolled_node_ids(session)
        if not targets:
            raise Conflict("no_nodes", "no node has enrolled yet, so there is nobody to ask")
        return targets
    if not isinstance(nodes, list) or not nodes or not all(isinstance(n, str) for n in nodes):
        raise BadRequest("bad_nodes", "nodes must be a non-empty list of node ids")
    for node_id in nodes:
        node = session.get(Node, node_id)
        if node is None:
            raise BadRequest("unknown_node", f"no node {node_id!r} is registered here")
        if node.public_key is None:
            raise BadRequest("node_not_enrolled", f"node {node_id!r} has not enrolled a key yet")
    return sorted(set(nodes))


def open_round(
    session: Session,
    spec: Spec,
    parsed: QuerySpec,
    user: User,
    *,
    key: Ed25519PrivateKey,
    settings: Settings,
    min_cell: object = None,
    deadline_days: object = None,
    nodes: object = None,
) -> Round:
    """Open a round of an approved spec: sign and store one task per target node.

    k is the highest of the coordinator's default, the spec's own and ``min_cell``; asking for
    less than the first two is refused.  Targets default to every enrolled node.
    """
    floor = max(settings.default_min_cell, parsed.disclosure.min_cell)
    k = floor if min_cell is None else _whole(min_cell, "min_cell", 1, MAX_MIN_CELL)
    if k < floor:
        raise BadRequest(
            "min_cell_too_low", f"min_cell {k} is below this round's minimum of {floor}"
        )
    days = settings.deadline_days if deadline_days is None else deadline_days
    days = _whole(days, "deadline_days", 1, MAX_DEADLINE_DAYS)
    targets = _targets(session, nodes)
    now = utcnow()
    round_ = Round(
        spec=spec, min_cell=k, issued_at=now, deadline=now + timedelta(days=days), opened_by=user
    )
    session.add(round_)
    session.flush()  # the round id goes into every task
    # Every task of a round says the same but for its id and the node it is for.
    task_for = functools.partial(
        task_payload,
        round_id=round_.id,
        spec_id=spec.query_id,
        spec_version=spec.version,
        spec_hash=spec.spec_hash,
        spec_text=spec.yaml,
        min_cell=k,
        nodes=targets,
        issued_at=now,
        deadline=round_.deadline,
    )
    for node_id in targets:
        task_id = str(uuid.uuid4())
        payload = task_for(task_id=task_id, node_id=node_id)
        envelope = sign(payload, key, "coordinator")
        session.add(
            Task(
                id=task_id,
                round=round_,
                node_id=node_id,
                envelope=canonical_json(envelope).decode(),
                issued_at=now,
            )
        )
    record(
        session,
        user.actor,
        "round.open",
        f"round:{round_.id}",
        spec_hash=spec.spec_hash,
        min_cell=k,
        deadline=round_.deadline,
        nodes=targets,
    )
    return round_


def _get_round(session: Session, round_id: int) -> Round:
    # An id beyond what the database holds is no round (not an overflow in the driver).
    round_ = session.get(Round, round_id) if is_whole(round_id, 1) else None
    if round_ is None:
        raise NotFound("unknown_round", f"no round {round_id}")
    return round_


def round_status(session: Session, round_id: int) -> dict[str, Any]:
    """Return a round's spec, k, deadline, status and each target node's state.

    A node's state is ``pending`` (not fetched yet), ``delivered`` or ``answered``; the round
    is ``complete`` when every target answered, ``expired`` past its deadline, else ``open``.
    """
    round_ = _get_round(session, round_id)
    nodes = []
    for task in round_.tasks:
        state = "answered" if task.result else "delivered" if task.delivered_at else "pending"
        nodes.append(
            {
                "node_id": task.node_id,
                "task_id": task.id,
                "state": state,
                "delivered_at": task.delivered_at and write_time(task.delivered_at),
                "answered_at": task.result and write_time(task.result.received_at),
            }
        )
    answered = [n["node_id"] for n in nodes if n["state"] == "answered"]
    pending = [n["node_id"] for n in nodes if n["state"] != "answered"]
    status = "complete" if not pending else "expired" if round_.deadline <= utcnow() else "open"
    return {
        "round_id": round_.id,
        "spec_hash": round_.spec.spec_hash,
        "query": round_.spec.query_id,
        "version": round_.spec.version,
        "title": round_.spec.title,
        "min_cell": round_.min_cell,
        "issued_at": write_time(round_.issued_at),
        "deadline": write_time(round_.deadline),
        "status": status,
        "targets": [n["node_id"] for n in nodes],
        "answered": answered,
        "pending": pending,
        "nodes": nodes,
    }


def list_rounds(session: Session, viewer: User | None = None) -> list[dict[str, Any]]:
    """Return the status of every round, newest first; a researcher sees the rounds of their
    own specs only."""
    query = sa.select(Round.id).order_by(Round.id.desc())
    if viewer is not None and viewer.role not in CAN_READ_ALL:
        query = query.join(Round.spec).where(Spec.submitted_by_id == viewer.id)
    return [round_status(session, round_id) for round_id in session.scalars(query)]


def visible_round(session: Session, round_id: int, viewer: User) -> dict[str, Any]:
    """Return a round's status if the viewer may read it; another researcher's round is as
    unknown as one never opened."""
    round_ = _get_round(session, round_id)
    if viewer.role not in CAN_READ_ALL and round_.spec.submitted_by_id != viewer.id:
        raise NotFound("unknown_round", f"no round {round_id}")
    return round_status(session, round_id)


def round_results(session: Session, round_id: int) -> tuple[QuerySpec, dict[str, dict[str, Any]]]:
    """Return a round's spec and every stored result cube, by node id.

    Each cube is the ``result`` object a node signed, already checked on upload:
    ``{"query", "version", "spec_hash", "min_cell", "cells": [...]}`` with one cell per
    combination of dimension values (``None`` = rolled up) and suppressed measures ``None``.
    Nodes that have not answered are absent.  Raises ``NotFound`` for an unknown round.
    """
    round_ = _get_round(session, round_id)
    spec = parse_spec(round_.spec.yaml, source=round_.spec.spec_hash)
    rows = session.scalars(
        sa.select(Result).where(Result.round_id == round_id).order_by(Result.node_id)
    )
    return spec, {row.node_id: json.loads(row.result) for row in rows}
