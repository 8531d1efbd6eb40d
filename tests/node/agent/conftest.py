"""Fixtures of the agent tests: a small extract, a fake coordinator, an enrolled node."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from demo.synth import generate
from node.agent import Agent, enrol
from node.config import load_config
from tests.node.agent.fakecoord import NODE, FakeCoordinator

LIBRARY_SPEC = Path("queries/hip_fracture/hip_fracture_los.yaml")


@pytest.fixture(scope="session")
def small_extract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic 3,000-person extract (Parquet): enough cells, quick to run."""
    out = tmp_path_factory.mktemp("agent") / "extract"
    generate(3_000, seed=3, out=out, fmt="parquet")
    return out


@pytest.fixture
def library_spec() -> str:
    """The text of a spec of the installed library (runs by policy)."""
    return (Path(__file__).parents[3] / LIBRARY_SPEC).read_text(encoding="utf-8")


@pytest.fixture
def local_spec(library_spec: str) -> str:
    """A valid spec that is not in the library (held for the admin)."""
    return library_spec.replace("version: 1", "version: 2").replace(
        "title: Length of stay", "title: Local length of stay"
    )


@pytest.fixture
def fake() -> Iterator[FakeCoordinator]:
    """A fake coordinator serving on localhost."""
    coordinator = FakeCoordinator()
    coordinator.start()
    yield coordinator
    coordinator.stop()


@pytest.fixture
def config_path(tmp_path: Path, fake: FakeCoordinator, small_extract: Path) -> Path:
    """A node.yaml for node ziekenhuis-a at the fake coordinator (not yet enrolled)."""
    path = tmp_path / "node" / "node.yaml"
    path.parent.mkdir()
    path.write_text(
        f"coordinator: {fake.url}\n"
        f"node_id: {NODE}\n"
        f"data: {small_extract}\n"
        "keys: keys\nstate: state\nmin_cell: 10\n"
        "policy:\n  auto_run_library: true\n"
        "poll_interval: 1\njitter: 0\nmax_backoff: 4\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def enrolled(config_path: Path, fake: FakeCoordinator) -> Path:
    """The node.yaml of an enrolled node."""
    enrol(load_config(config_path), fake.add_node(NODE))
    return config_path


@pytest.fixture
def agent(enrolled: Path) -> Iterator[Agent]:
    """An agent of the enrolled node."""
    a = Agent(load_config(enrolled))
    yield a
    a.close()
