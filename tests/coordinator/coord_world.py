"""Helpers of the coordinator tests: a coordinator world with people and real-keyed nodes."""

from __future__ import annotations

import itertools
import secrets
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from coordinator.accounts.services import create_user
from coordinator.db import session_scope
from coordinator.registry.services import add_node, add_organisation, add_region
from protocol import (
    POLL,
    RESULT,
    Cube,
    generate_private_key,
    measure_defs,
    parse_spec,
    protect,
    public_key_text,
    sign,
    spec_hash,
)

LIBRARY = Path(__file__).resolve().parents[2] / "queries"
OPIOID = (LIBRARY / "palliative" / "opioid_last_90d.yaml").read_text()
# A one-dimension variant: its cube protects in milliseconds.
BY_SEX = OPIOID.replace("dimensions: [year, sex, age_band]", "dimensions: [sex]").replace(
    "id: opioid_last_90d", "id: opioid_by_sex"
)
MAX_BODY = 256 * 1024


def stamp(moment: datetime | None = None) -> str:
    """Return a time as the protocol writes it."""
    return (moment or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")


@cache
def cube_rows(spec_yaml: str, k: int = 10) -> tuple[dict[str, Any], ...]:
    """Return a protected cube of a spec as a node publishes it (deterministic counts)."""
    spec = parse_spec(spec_yaml)
    domains = {
        "year": [2022, 2023],
        "sex": ["F", "M", "U"],
        "age_band": ["0-17", "18-64", "65-74", "75-84", "85+"],
    }
    dims = spec.dimensions
    rows = []
    for i, key in enumerate(itertools.product(*(domains[d] for d in dims)), start=1):
        den = 15 + (i * 7) % 40
        rows.append(
            {
                **dict(zip(dims, key, strict=True)),
                "denominator": den,
                "numerator": (den * (i % 5)) // 7,
            }
        )
    cube = Cube.from_finest(dims, measure_defs(spec), rows, {d: domains[d] for d in dims})
    return tuple(protect(cube, k).rows())


def published(spec_yaml: str, k: int = 10) -> dict[str, Any]:
    """Return the published result dict of a spec, as the node runner writes it."""
    spec = parse_spec(spec_yaml)
    return {
        "query": spec.id,
        "version": spec.version,
        "spec_hash": spec_hash(spec),
        "min_cell": k,
        "scope": "cube",
        "cells": [dict(c) for c in cube_rows(spec_yaml, k)],
    }


class Node:
    """A node as the coordinator sees it: an id, a real Ed25519 key, signed messages."""

    def __init__(self, world: World, node_id: str) -> None:
        self.world, self.id = world, node_id
        self.key = generate_private_key()

    def poll_envelope(self, *, sent_at: str | None = None, nonce: str | None = None) -> dict:
        """Return a signed poll."""
        payload = {
            "type": POLL,
            "node_id": self.id,
            "sent_at": sent_at or stamp(),
            "nonce": nonce or secrets.token_hex(16),
        }
        return sign(payload, self.key, self.id)

    def poll(self, **kwargs: Any):
        """Poll the coordinator; return the response."""
        return self.world.client.post(
            f"/api/v1/nodes/{self.id}/poll", json=self.poll_envelope(**kwargs)
        )

    def tasks(self) -> list[dict]:
        """Poll and return the task payloads (envelopes unwrapped, unchecked)."""
        response = self.poll()
        assert response.status_code == 200, response.json
        return [envelope["payload"] for envelope in response.json["tasks"]]

    def result_envelope(self, task: dict, result: dict | None = None, **changes: Any) -> dict:
        """Return a signed result for a task payload (``changes`` alter the payload)."""
        payload = {
            "type": RESULT,
            "task_id": task["task_id"],
            "round_id": task["round_id"],
            "node_id": self.id,
            "spec_hash": task["spec_hash"],
            "created_at": stamp(),
            "result": result if result is not None else published(task["spec"], task["min_cell"]),
        }
        payload.update(changes)
        return sign(payload, self.key, self.id)

    def upload(self, envelope: dict):
        """Upload a signed result; return the response."""
        return self.world.client.post("/api/v1/results", json=envelope)


class World:
    """One coordinator app with its client, people and nodes."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.client: FlaskClient = app.test_client()
        self.tokens: dict[str, str] = {}
        self.nodes: dict[str, Node] = {}
        self.sessions = app.extensions["lhs_sessions"]
        with session_scope(self.sessions) as session:
            add_region(session, "network", "NPZ-A", "Netwerk A")
            add_region(session, "zorgkantoor", "ZK05", "Zorgkantoor 5")
            add_region(session, "province", "PV27", "Noord-Holland")
            add_organisation(
                session,
                "Ziekenhuis A",
                {"network": "NPZ-A", "zorgkantoor": "ZK05", "province": "PV27"},
            )
            add_organisation(session, "Ziekenhuis B", {"network": "NPZ-A"})

    def user(self, name: str, role: str) -> str:
        """Create a user; return its API token."""
        with session_scope(self.sessions) as session:
            _user, token = create_user(session, name, role)
        self.tokens[name] = token
        return token

    def auth(self, name: str) -> dict[str, str]:
        """Return the Authorization header of a user."""
        return {"Authorization": f"Bearer {self.tokens[name]}"}

    def code(self, node_id: str, org: str = "Ziekenhuis A") -> str:
        """Add a node (or re-issue); return its enrolment code."""
        with session_scope(self.sessions) as session:
            _node, code, _expires = add_node(session, node_id, org, hours=1)
        return code

    def node(self, node_id: str, org: str = "Ziekenhuis A") -> Node:
        """Add and enrol a node with a fresh key."""
        node = Node(self, node_id)
        response = self.enrol(node, self.code(node_id, org))
        assert response.status_code == 201, response.json
        self.nodes[node_id] = node
        return node

    def enrol(self, node: Node, code: str):
        """Post an enrolment; return the response."""
        body = {"node_id": node.id, "public_key": public_key_text(node.key), "enrolment_code": code}
        return self.client.post("/api/v1/nodes/enrol", json=body)

    def submit(self, text: str = BY_SEX, who: str = "rita") -> dict:
        """Submit a spec as a researcher; return the answer."""
        response = self.client.post("/api/v1/specs", json={"yaml": text}, headers=self.auth(who))
        assert response.status_code in (200, 201), response.json
        return response.json

    def approve(self, spec_hash: str, who: str = "carl", **body: Any):
        """Approve a spec; return the response."""
        body.setdefault("reason", "fits the network's aims")
        return self.client.post(
            f"/api/v1/specs/{spec_hash}/approve", json=body, headers=self.auth(who)
        )

    def execute(self, statement: str, **params: Any) -> None:
        """Run SQL on the coordinator's database (to move time, as a test must)."""
        with self.app.extensions["lhs_engine"].begin() as connection:
            connection.execute(sa.text(statement), params)


def later(**delta: float) -> datetime:
    """Return now plus a time delta, in UTC."""
    return datetime.now(UTC) + timedelta(**delta)
