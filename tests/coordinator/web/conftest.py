"""Fixtures of the page tests: people with passwords on a test coordinator."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.coordinator.web.pages import add_people

PEOPLE = {"rita": "researcher", "rob": "researcher", "carl": "coordinator", "cora": "coordinator"}


@pytest.fixture
def people(app: Flask) -> Flask:
    """The app with two researchers (rita, rob) and two coordinators (carl, cora)."""
    add_people(app, PEOPLE)
    return app
