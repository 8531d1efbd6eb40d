"""Helpers of the secure-aggregation tests: members with exact cubes that mask like a node."""

from __future__ import annotations

from typing import Any

from coordinator.db import session_scope
from coordinator.registry.services import add_organisation
from protocol import (
    AGG_KEY,
    AGG_SHARE,
    Cube,
    Key,
    agg_public_text,
    flatten_cells,
    generate_agg_key,
    layout_hash,
    mask_vector,
    measure_defs,
    pairwise_seeds,
    parse_spec,
    protect,
    protect_headline,
    sign,
    spec_hash,
)
from tests.coordinator.coord_world import OPIOID, Node, World

BY_YEAR_SEX = OPIOID.replace(
    "dimensions: [year, sex, age_band]", "dimensions: [year, sex]"
).replace("id: opioid_last_90d", "id: opioid_by_year_sex")
YEARS = {"zh-a": (2022, 2023), "zh-b": (2023, 2024), "zh-c": (2023,), "zh-d": (2022, 2023)}
"""Each member's years: the layout must span their union."""


def exact_rows(node_id: str) -> list[dict[str, Any]]:
    """Return a member's exact finest cells: some small (suppressed when published)."""
    seed = sum(map(ord, node_id))
    rows = []
    for i, year in enumerate(YEARS[node_id]):
        for j, sex in enumerate(("F", "M", "U")):
            den = (seed * (i + 3) * (j + 5)) % 37 + (0 if sex == "U" else 12)
            rows.append({"year": year, "sex": sex, "denominator": den, "numerator": den // 3})
    return rows


def exact_cube(rows: list[dict[str, Any]]) -> Cube:
    """Return the exact cube (finest cells and margins) of finest rows."""
    spec = parse_spec(BY_YEAR_SEX)
    years = sorted({r["year"] for r in rows})
    domains = {"year": years, "sex": ["F", "M", "U"]}
    return Cube.from_finest(spec.dimensions, measure_defs(spec), rows, domains)


class Member:
    """A node of the world that answers rounds and aggregation requests as the agent does."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.keys: dict[tuple, Any] = {}
        self.cube = exact_cube(exact_rows(node.id))

    @property
    def id(self) -> str:
        """Return the node id."""
        return self.node.id

    def answer_round(self, scope: str = "headline") -> int:
        """Poll for the round's task and upload its result; return the round id.

        ``headline`` (taking part in secure aggregation): the overall values and the years;
        ``cube``: the whole protected cube, as a node that declines sends it.
        """
        (task,) = self.node.tasks()
        spec = parse_spec(task["spec"])
        k = task["min_cell"]
        result = {
            "query": spec.id,
            "version": spec.version,
            "spec_hash": spec_hash(spec),
            "min_cell": k,
            "scope": scope,
            "cells": protect(self.cube, k).rows(),
        }
        if scope == "headline":
            values, years = protect_headline(self.cube, k)
            result["cells"] = [{"year": None, "sex": None, **values}]
            result["years"] = list(years) if years else None
        response = self.node.upload(self.node.result_envelope(task, result))
        assert response.status_code == 201, response.json
        return task["round_id"]

    def requests(self) -> list[dict[str, Any]]:
        """Poll and return the aggregation request payloads."""
        response = self.node.poll()
        assert response.status_code == 200, response.json
        return [envelope["payload"] for envelope in response.json["aggregation"]]

    def message(self, request: dict[str, Any]) -> dict[str, Any]:
        """Return the signed key or share that answers a request."""
        context = (request["round_id"], tuple(request["group"]), request["attempt"])
        common = {
            "round_id": request["round_id"],
            "node_id": self.id,
            "group": request["group"],
            "attempt": request["attempt"],
        }
        if request["phase"] == "key":
            key = self.keys.setdefault(context, generate_agg_key())
            payload = {"type": AGG_KEY, **common, "public_key": agg_public_text(key)}
            return sign(payload, self.node.key, self.id)
        assert layout_hash(request["layout"]) == request["layout_hash"]
        seeds = pairwise_seeds(
            self.keys[context],
            self.id,
            request["keys"],
            round_id=request["round_id"],
            group=request["group"],
            attempt=request["attempt"],
        )
        finest = {k: v for k, v in self.cube.cells.items() if None not in k}
        payload = {
            "type": AGG_SHARE,
            **common,
            "members": request["members"],
            "layout_hash": request["layout_hash"],
            "masked": mask_vector(flatten_cells(request["layout"], finest), self.id, seeds),
        }
        return sign(payload, self.node.key, self.id)

    def send(self, envelope: dict[str, Any]):
        """Upload a key or share; return the response."""
        return self.node.world.client.post("/api/v1/aggregation", json=envelope)

    def answer_all(self) -> int:
        """Answer every pending request once; return how many."""
        requests = self.requests()
        for request in requests:
            response = self.send(self.message(request))
            assert response.status_code == 201, response.json
        return len(requests)


def members(world: World) -> dict[str, Member]:
    """Add organisations C and D to network NPZ-A, ZK05 and PV27; enrol zh-a to zh-d."""
    regions = {"network": "NPZ-A", "zorgkantoor": "ZK05", "province": "PV27"}
    with session_scope(world.sessions) as session:
        add_organisation(session, "Ziekenhuis C", regions)
        add_organisation(session, "Ziekenhuis D", regions)
    orgs = {"zh-a": "A", "zh-b": "B", "zh-c": "C", "zh-d": "D"}
    return {n: Member(world.node(n, f"Ziekenhuis {o}")) for n, o in orgs.items()}


def true_total(cubes: list[Cube]) -> dict[Key, dict[str, int]]:
    """Return the exact cube of the union of members' finest cells."""
    rows = [
        {"year": k[0], "sex": k[1], **v} for c in cubes for k, v in c.cells.items() if None not in k
    ]
    return exact_cube(rows).cells


def run_round(world: World, group: dict[str, Member]) -> int:
    """Open a round of the year-by-sex spec; every member answers it; return its id."""
    spec = world.submit(BY_YEAR_SEX)
    assert world.approve(spec["spec_hash"]).status_code == 201
    return {m.answer_round() for m in group.values()}.pop()
