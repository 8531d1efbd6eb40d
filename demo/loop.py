"""``lhs demo``: the whole loop on one machine, over real HTTP on localhost.

Synthetic extracts for several providers in three palliative-care networks and
two zorgkantoor regions; a coordinator on SQLite; every node enrolled with its
own key; the library's specs submitted by a researcher and approved by a
coordinator; each node polling, running and uploading as its own process; the
results merged into factsheets.  Everything stays under one folder, so anyone
can recompute a number by hand from ``nodes/<node-id>/extract``.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import click
import yaml
from flask import Flask
from werkzeug.serving import make_server

from coordinator import create_app
from coordinator.accounts.services import create_user
from coordinator.client import ApiClient
from coordinator.db import init_db, session_scope
from coordinator.factsheets.publish import publish_factsheets
from coordinator.keys import create_key_file
from coordinator.registry.services import add_node, add_organisation, add_region
from coordinator.rounds.services import round_status
from node.agent import enrol
from node.config import load_config
from protocol import K_FLOOR, LhsError
from queries import library_paths

from .synth import generate

__all__ = ["NETWORKS", "PROVIDERS", "DemoProvider", "demo_command", "run_demo"]

NETWORKS = (
    ("npz-groningen", "Netwerk Palliatieve Zorg Groningen", "ZK01", "GR"),
    ("npz-drenthe-noord", "Netwerk Palliatieve Zorg Noord- en Midden-Drenthe", "ZK02", "DR"),
    ("npz-drenthe-zuidoost", "Netwerk Palliatieve Zorg Zuidoost-Drenthe", "ZK02", "DR"),
)
REGIONS = (
    ("zorgkantoor", "ZK01", "Zorgkantoorregio Groningen"),
    ("zorgkantoor", "ZK02", "Zorgkantoorregio Drenthe"),
    ("province", "GR", "Groningen"),
    ("province", "DR", "Drenthe"),
)


@dataclass(frozen=True)
class DemoProvider:
    """One demo provider: its node id, organisation, network, size and care style."""

    node_id: str
    organisation: str
    network: str
    size: float
    site_effect: float


PROVIDERS = (
    DemoProvider("umcg", "Universitair Medisch Centrum Groningen", "npz-groningen", 1.6, 1.25),
    DemoProvider("martini", "Martini Ziekenhuis", "npz-groningen", 1.0, 1.0),
    DemoProvider("ommelander", "Ommelander Ziekenhuis", "npz-groningen", 0.6, 0.8),
    DemoProvider("wilhelmina-assen", "Wilhelmina Ziekenhuis Assen", "npz-drenthe-noord", 0.9, 0.9),
    DemoProvider("zorggroep-drenthe", "Zorggroep Drenthe", "npz-drenthe-noord", 0.5, 0.7),
    DemoProvider("hospice-assen", "Hospice Assen", "npz-drenthe-noord", 0.4, 0.6),
    DemoProvider("treant", "Treant Zorggroep", "npz-drenthe-zuidoost", 1.2, 1.1),
    DemoProvider("rode-kruis", "Rode Kruis Ziekenhuis Emmen", "npz-drenthe-zuidoost", 0.7, 1.15),
    DemoProvider("huisartsen-emmen", "Huisartsen Emmen", "npz-drenthe-zuidoost", 0.5, 0.85),
)


def _say(message: str) -> None:
    click.echo(message, err=True)


@contextmanager
def _serving(app: Flask) -> Iterator[str]:
    """Serve the app on a free localhost port in a thread; yield its URL."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request is noise here
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()


def _set_up_coordinator(folder: Path) -> Flask:
    folder.mkdir(parents=True)
    app = create_app(
        {
            "DATABASE_URL": f"sqlite:///{folder / 'coordinator.sqlite3'}",
            "COORDINATOR_KEY_FILE": str(folder / "coordinator.key"),
        }
    )
    init_db(app.extensions["lhs_engine"])
    create_key_file(Path(app.config["COORDINATOR_KEY_FILE"]))
    return app


def _register(app: Flask, providers: Sequence[DemoProvider]) -> tuple[dict[str, str], ...]:
    """Add regions, organisations, nodes and two people; return codes and tokens."""
    networks = {code: (name, zk, province) for code, name, zk, province in NETWORKS}
    with session_scope(app.extensions["lhs_sessions"]) as session:
        session.info["settings"] = app.extensions["lhs_settings"]
        for kind, code, name in REGIONS:
            add_region(session, kind, code, name, actor="demo")
        for code, (name, _, _) in networks.items():
            add_region(session, "network", code, name, actor="demo")
        codes: dict[str, str] = {}
        for p in providers:
            _, zk, province = networks[p.network]
            regions = {"network": p.network, "zorgkantoor": zk, "province": province}
            add_organisation(session, p.organisation, regions, actor="demo")
            _, code, _ = add_node(session, p.node_id, p.organisation, hours=1, actor="demo")
            codes[p.node_id] = code
        _, researcher = create_user(session, "demo-researcher", "researcher", None, actor="demo")
        _, coordinator = create_user(session, "demo-coordinator", "coordinator", None, actor="demo")
    return codes, {"researcher": researcher, "coordinator": coordinator}


def _make_node(folder: Path, provider: DemoProvider, persons: int, seed: int, url: str) -> Path:
    """Write a provider's extract and node.yaml; return the config path."""
    extract = folder / "extract"
    generate(
        max(int(persons * provider.size), 500),
        seed=seed,
        out=extract,
        fmt="parquet",
        site_effect=provider.site_effect,
    )
    config = folder / "node.yaml"
    settings = {
        "coordinator": url,
        "node_id": provider.node_id,
        "keys": "keys",
        "state": "state",
        "data": str(extract.resolve()),
        "min_cell": K_FLOOR,
        "policy": {"auto_run_library": True},
    }
    config.write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
    return config


def _run_node(config: Path) -> tuple[Path, int, str]:
    command = [sys.executable, "-m", "lhs", "node", "serve", "--once", "--config", str(config)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    with (config.parent / "serve.log").open("a", encoding="utf-8") as log:
        log.write(done.stdout + done.stderr)
    return config, done.returncode, (done.stderr.strip().splitlines() or [""])[-1]


def _poll_all(configs: Sequence[Path]) -> None:
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        for config, code, last in pool.map(_run_node, configs):
            node_id = config.parent.name
            if code != 0:
                raise LhsError(f"node {node_id} failed: {last}")
            _say(f"  node {node_id}: {last.split(' INFO ')[-1] or 'done'}")


def run_demo(workdir: Path, *, persons: int, specs: Sequence[str], seed: int = 1) -> Path:
    """Run the whole loop in ``workdir``; return the factsheets' index page."""
    if workdir.exists() and any(workdir.iterdir()):
        raise LhsError(f"{workdir} is not empty; give a new or empty --workdir")
    started = time.perf_counter()
    app = _set_up_coordinator(workdir / "coordinator-data")
    codes, tokens = _register(app, PROVIDERS)
    paths = [p for p in library_paths() if not specs or p.stem in specs or p.parent.name in specs]
    if not paths:
        raise LhsError(f"no library spec or area named {', '.join(specs)}")
    with _serving(app) as url:
        _say(f"coordinator on {url}/api/v1 (SQLite in {workdir / 'coordinator-data'})")
        configs = []
        for i, provider in enumerate(PROVIDERS):
            config = _make_node(
                workdir / "nodes" / provider.node_id, provider, persons, seed + i, url
            )
            enrolled = enrol(load_config(config), codes[provider.node_id])
            _say(f"node {provider.node_id}: extract written, enrolled ({enrolled.node_key_id})")
            configs.append(config)
        researcher = ApiClient(url, tokens["researcher"])
        coordinator = ApiClient(url, tokens["coordinator"])
        rounds: list[int] = []
        for path in paths:
            spec = researcher.call("POST", "/specs", {"yaml": path.read_text(encoding="utf-8")})
            answer = coordinator.call(
                "POST",
                f"/specs/{spec['spec_hash']}/approve",
                {"reason": "demo: a library indicator of the contract"},
            )
            rounds.append(int(answer["round_id"]))
            _say(f"{spec['id']}: submitted, approved, round {answer['round_id']} open")
        # Poll 1: run the tasks and upload the protected cubes.  Poll 2: the coordinator
        # opens secure aggregation per group; each node sends a fresh X25519 key.  Poll 3:
        # each node uploads its exact cube masked so that only the group's sum is learnt.
        for step in ("run and upload results", "send aggregation keys", "send masked cubes"):
            _say(f"{len(configs)} nodes poll: {step} (one process each)...")
            _poll_all(configs)
    out = workdir / "factsheets"
    with session_scope(app.extensions["lhs_sessions"]) as session:
        for round_id in rounds:
            status = round_status(session, round_id)
            if status["pending"]:
                raise LhsError(f"round {round_id}: no answer from {status['pending']}")
        _say(f"publishing {len(rounds)} rounds: group tables protected jointly...")
        publish_factsheets(
            session,
            out,
            rounds,
            title="lhs demo factsheets",
            progress=lambda line: _say(f"  {line}"),
        )
    index = out / "index.html"
    _say(f"done in {time.perf_counter() - started:.0f}s")
    return index


@click.command("demo")
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("lhs-demo"),
    show_default=True,
    help="Folder for the coordinator, the nodes and the factsheets (new or empty).",
)
@click.option(
    "--persons",
    type=click.IntRange(min=1000),
    default=40_000,
    show_default=True,
    help="Persons of a mid-sized provider; the others are scaled from it.",
)
@click.option(
    "--spec",
    "specs",
    multiple=True,
    help="Only these library specs or areas (default: every palliative and hip-fracture spec).",
)
@click.option("--seed", type=int, default=1, show_default=True, help="Random seed of the data.")
def demo_command(workdir: Path, persons: int, specs: tuple[str, ...], seed: int) -> None:
    """Run the whole loop on this machine: nodes, coordinator, a round, factsheets."""
    index = run_demo(workdir, persons=persons, specs=specs, seed=seed)
    click.echo(f"factsheets: {index.resolve()}")
    click.echo(
        f"  open it in a browser, or serve the folder: python -m http.server -d {index.parent}"
    )
    click.echo(
        f"  node extracts (to recompute any number by hand): {workdir / 'nodes'}/<node-id>/extract"
    )
