"""The OpenAPI document: a valid 3.1 document that names exactly the routes served."""

from __future__ import annotations

import re

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from tests.coordinator.coord_world import World

API = "/api/v1"


def _document(world: World) -> dict:
    response = world.client.get(f"{API}/openapi.json")
    assert response.status_code == 200
    return response.json


def test_document_is_valid_openapi_3_1(world: World) -> None:
    validator = pytest.importorskip("openapi_spec_validator")
    document = _document(world)
    assert document["openapi"] == "3.1.0"
    validator.validate(document)


def test_document_names_every_route_and_method(world: World) -> None:
    served: set[tuple[str, str]] = set()
    for rule in world.app.url_map.iter_rules():
        if not rule.rule.startswith(API) or rule.rule.startswith(f"{API}/factsheets"):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule.removeprefix(API))
        served |= {(path, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}}
    documented = {
        (path, method)
        for path, item in _document(world)["paths"].items()
        if not path.startswith("/factsheets")
        for method in item
    }
    assert documented == served


def _validator(document: dict, name: str) -> Draft202012Validator:
    resource = DRAFT202012.create_resource(document)
    registry = Registry().with_resource("urn:lhs-openapi", resource)
    schema = {"$ref": f"urn:lhs-openapi#/components/schemas/{name}"}
    return Draft202012Validator(schema, registry=registry)


def test_answers_match_their_documented_schemas(world: World) -> None:
    document = _document(world)
    node = world.node("zh-a")
    spec = world.submit()
    approved = world.approve(spec["spec_hash"]).json
    (envelope,) = node.poll().json["tasks"]
    task = envelope["payload"]
    stored = node.upload(node.result_envelope(task)).json
    carl = world.auth("carl")
    answers = {
        "Spec": spec,
        "Approved": approved,
        "TaskEnvelope": envelope,
        "ResultEnvelope": node.result_envelope(task),
        "PollEnvelope": node.poll_envelope(),
        "ResultStored": stored,
        "SpecDetail": world.client.get(f"{API}/specs/{spec['spec_hash']}", headers=carl).json,
        "Round": world.client.get(f"{API}/rounds/{approved['round_id']}", headers=carl).json,
        "Rounds": world.client.get(f"{API}/rounds", headers=carl).json,
        "Nodes": world.client.get(f"{API}/nodes", headers=carl).json,
        "AuditEvents": world.client.get(f"{API}/audit", headers=carl).json,
        "CoordinatorKey": world.client.get(f"{API}/coordinator-key").json,
        "Me": world.client.get(f"{API}/me", headers=carl).json,
        "Error": world.client.get(f"{API}/rounds/7", headers=carl).json,
    }
    for name, answer in answers.items():
        errors = list(_validator(document, name).iter_errors(answer))
        assert not errors, f"{name}: {errors[0].message}"
