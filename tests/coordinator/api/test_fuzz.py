"""Schemathesis over the OpenAPI document: generated requests to every operation, a bounded
number each, with an admin's token; the coordinator never answers with a server error."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from tests.coordinator.coord_world import World

api = schemathesis.pytest.from_fixture("openapi")


@pytest.fixture
def openapi(world: World):
    """The coordinator's own OpenAPI document, served by the app under test."""
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", world.app)


@pytest.fixture
def admin(world: World) -> dict[str, str]:
    """An admin's token: the deepest reach into the API."""
    return world.auth("ada")


@api.parametrize()
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_generated_request_makes_the_coordinator_fail(case, admin: dict[str, str]) -> None:
    case.call_and_validate(headers=admin, checks=[not_a_server_error])
