"""The node role alone: ``lhs node`` runs and serves without the coordinator's packages."""

from __future__ import annotations

import tomllib
from pathlib import Path

from tests.node.agent.fakecoord import NODE
from tests.roles import COORDINATOR_ONLY, run_lhs

ROOT = Path(__file__).resolve().parents[3]


def test_the_node_extra_installs_none_of_the_coordinators_packages() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    node = [*project["dependencies"], *project["optional-dependencies"]["node"]]
    names = {d.split("[")[0].split(">")[0].split("=")[0].split("<")[0].lower() for d in node}
    assert not names & set(COORDINATOR_ONLY), names
    assert "flask" in " ".join(project["optional-dependencies"]["coordinator"])


def test_node_run_never_imports_flask(small_extract: Path) -> None:
    args = ("node", "run", "hospital_admission_last_30d", "--data", str(small_extract))
    everything = run_lhs(*args)
    assert everything.code == 0, everything.stderr
    assert '"query": "hospital_admission_last_30d"' in everything.stdout
    assert everything.loaded == []  # installed, and still not loaded
    alone = run_lhs(*args, absent=COORDINATOR_ONLY)
    assert alone.code == 0, alone.stderr
    assert alone.stdout == everything.stdout


def test_node_serve_never_imports_flask(enrolled: Path, fake, library_spec: str) -> None:
    fake.issue(fake.task(NODE, library_spec))
    first = run_lhs("node", "serve", "--once", "--config", str(enrolled), absent=COORDINATOR_ONLY)
    assert first.code == 0, first.stderr
    assert "1 new task(s): 0 refused, 0 held; 1 run; 1 uploaded" in first.stdout
    assert len(fake.results) == 1
    again = run_lhs("node", "serve", "--once", "--config", str(enrolled))
    assert again.code == 0 and again.loaded == [], again.stderr
