"""Fixtures of the browser tests: Debian's chromium driven by Playwright, a coordinator served
over real HTTP, and three real node agents.

Without chromium or the ``playwright`` package the tests skip; with
``LHS_REQUIRE_SYSTEM_TOOLS=1`` (as CI sets it) they fail, naming what is missing.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from coordinator import create_app
from coordinator.db import init_db, session_scope
from coordinator.keys import create_key_file
from coordinator.registry.services import add_node, add_organisation, add_region
from node.agent import Agent
from node.config import load_config
from tests.agents import enrolled_config, small_extracts
from tests.coordinator.web.pages import add_people

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
NODES = {"zh-a": "Ziekenhuis A", "zh-b": "Ziekenhuis B", "zh-c": "Ziekenhuis C"}
PEOPLE = {"rita": "researcher", "carl": "coordinator"}


def _missing() -> list[str]:
    missing = []
    if not (Path(CHROMIUM).is_file() or shutil.which("chromium")):
        missing.append("chromium (apt-get install chromium)")
    if importlib.util.find_spec("playwright") is None:
        missing.append("the playwright package (pip install playwright)")
    return missing


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """A headless chromium, or a skip (a failure in CI) naming what is missing."""
    missing = _missing()
    if missing:
        message = "browser tests need " + " and ".join(missing)
        if os.environ.get("LHS_REQUIRE_SYSTEM_TOOLS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    executable = CHROMIUM if Path(CHROMIUM).is_file() else shutil.which("chromium")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def coordinator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    """A coordinator on a fresh SQLite file with people, three organisations in one network."""
    monkeypatch.setattr("coordinator.accounts.services._N", 2**10)  # quick test passwords
    key_file = tmp_path / "keys" / "coordinator.key"
    create_key_file(key_file)
    app = create_app(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'coordinator.sqlite3'}",
            "COORDINATOR_KEY_FILE": key_file,
            "LHS_FACTSHEETS_DIR": str(tmp_path / "factsheets"),
        }
    )
    init_db(app.extensions["lhs_engine"])
    add_people(app, PEOPLE)
    with session_scope(app.extensions["lhs_sessions"]) as session:
        add_region(session, "network", "NPZ-A", "Netwerk A")
        for org in NODES.values():
            add_organisation(session, org, {"network": "NPZ-A"})
    yield app
    app.extensions["lhs_engine"].dispose()


@pytest.fixture
def site(coordinator: Flask) -> Iterator[str]:
    """The coordinator served over real HTTP on a free localhost port."""
    server = make_server("127.0.0.1", 0, coordinator, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def extracts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A small synthetic extract per node."""
    root = tmp_path_factory.mktemp("browser-extracts")
    return small_extracts(root, list(NODES), persons=800, seed=60)


@pytest.fixture
def agents(
    coordinator: Flask, site: str, extracts: dict[str, Path], tmp_path: Path
) -> Iterator[dict[str, Agent]]:
    """Three enrolled node agents of three organisations, polling the site over HTTP."""
    out = {}
    for node_id, org in NODES.items():
        with session_scope(coordinator.extensions["lhs_sessions"]) as session:
            _node, code, _expires = add_node(session, node_id, org, hours=1)
        path = enrolled_config(tmp_path / "nodes" / node_id, site, node_id, extracts[node_id], code)
        out[node_id] = Agent(load_config(path))
    yield out
    for agent in out.values():
        agent.close()
