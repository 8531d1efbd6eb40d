"""``lhs demo``: the whole loop on one machine, over real HTTP on localhost.

Synthetic extracts for several providers in three palliative-care networks and
two zorgkantoor regions; a coordinator on SQLite; every node enrolled with its
own key; the library's specs submitted by a researcher and approved by a
coordinator; each node's agent in its own process, polling, running and
uploading three times; the results merged into factsheets.  Everything stays
under one folder, so anyone can recompute a number by hand from
``nodes/<node-id>/extract``.  Each step says how long it took.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, closing, contextmanager, suppress
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import click
import yaml
from flask import Flask
from werkzeug.serving import make_server

from coordinator import create_app
from coordinator.accounts.services import create_user
from coordinator.client import ApiClient
from coordinator.cycles.services import open_due_rounds
from coordinator.db import init_db, session_scope
from coordinator.factsheets.publish import publish_factsheets
from coordinator.keys import create_key_file, load_coordinator_key
from coordinator.registry.services import add_node, add_organisation, add_region
from coordinator.rounds.services import round_status
from node.agent import enrol
from node.config import load_config
from protocol import K_FLOOR, LhsError
from queries import library_paths

from .synth import generate

__all__ = [
    "DEFAULT_PERSONS",
    "FULL_PERSONS",
    "NETWORKS",
    "PROVIDERS",
    "DemoProvider",
    "demo_command",
    "run_demo",
]

DEFAULT_PERSONS = 10_000
"""Persons of a mid-sized provider in ``lhs demo``: quick, yet most national counts exact."""

FULL_PERSONS = 40_000
"""Persons of a mid-sized provider in ``lhs demo --full``: the earlier default size."""

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
    # Birth care: two midwife practices and a maternity ward (their extracts are synthetic
    # populations like the others, so they count the other domains too).
    DemoProvider(
        "verloskunde-groningen", "Verloskundigenpraktijk Groningen-Stad", "npz-groningen", 0.3, 0.9
    ),
    DemoProvider("verloskunde-emmen", "Verloskundigen Emmen", "npz-drenthe-zuidoost", 0.3, 1.05),
    DemoProvider(
        "geboortecentrum-assen", "Geboortecentrum Wilhelmina Assen", "npz-drenthe-noord", 0.4, 1.0
    ),
)


DEMO_AREAS = ("palliative", "hip_fracture", "birth_care", "knee", "ckd", "colorectal")
"""The library areas ``lhs demo`` runs by default (``--spec`` names any spec or area)."""

CYCLE_QUERIES = ("hospital_admission_last_30d",)
"""The specs of the demo's yearly cycle (if run): one, as each round of a cycle costs every
node a run and secure aggregation; the other indicators are shown once."""

CYCLE_AS_OF = date(2025, 1, 1)
"""The day the demo's scheduler runs as of: the yearly periods 2022, 2023 and 2024 are due."""

ACTION = {
    "level": "network",
    "area": "npz-groningen",
    "date": "2023-01-01",
    "text": "Advance care planning discussed with every patient at the start of palliative care",
}
"""The demo's improvement action: a network's, between its first and second period."""


def _say(message: str) -> None:
    click.echo(message, err=True)


def _since(started: float) -> str:
    """Return the seconds since ``started`` as a short text ("3.2s", "41s")."""
    seconds = time.perf_counter() - started
    return f"{seconds:.1f}s" if seconds < 10 else f"{seconds:.0f}s"


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
            "LHS_FACTSHEETS_DIR": str(folder.parent / "factsheets"),
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


def _size(provider: DemoProvider, persons: int) -> int:
    """Return the persons in a provider's extract, given those of a mid-sized provider."""
    return max(int(persons * provider.size), 500)


def _make_node(folder: Path, provider: DemoProvider, persons: int, seed: int, url: str) -> Path:
    """Write a provider's extract and node.yaml; return the config path."""
    extract = folder / "extract"
    generate(
        _size(provider, persons),
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


class _NodeProcess:
    """One node's agent, running in its own process until the demo closes it
    (``demo/node_process.py``)."""

    def __init__(self, config: Path) -> None:
        self.config = config
        self.node_id = config.parent.name
        self.log = config.parent / "serve.log"
        with self.log.open("a", encoding="utf-8") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "demo.node_process", str(config)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )

    def poll(self, last: bool = False) -> tuple[str, str]:
        """Run one cycle (the ``last``: then stop); return its summary and the seconds it took."""
        started = time.perf_counter()
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None and stdout is not None
        try:
            stdin.write("poll\n")
            stdin.flush()
            answer = stdout.readline().strip()
        except OSError:  # the process ended before it was asked
            answer = ""
        status, _, summary = answer.partition(" ")
        if status != "ok":
            raise LhsError(f"node {self.node_id} failed: {self._last_log_line()}")
        took = _since(started)
        if last:
            self.stop()  # it closes and exits while the others poll
        return summary, took

    def _last_log_line(self) -> str:
        with suppress(subprocess.TimeoutExpired):  # a process still running is ended at close
            self.process.wait(timeout=30)
        lines = self.log.read_text(encoding="utf-8").strip().splitlines()
        last = lines[-1].removeprefix("lhs: error: ") if lines else "no output"
        return f"{last} (see {self.log})"

    def stop(self) -> None:
        """Ask the agent to close its state and exit (its stdin ends), without waiting."""
        if self.process.stdin is not None and not self.process.stdin.closed:
            with suppress(OSError):  # it has ended already
                self.process.stdin.close()

    def close(self) -> None:
        """Stop the agent and wait for it; end it if it does not exit within 30 s."""
        try:
            self.stop()
            self.process.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()
        finally:
            if self.process.stdout is not None:
                self.process.stdout.close()


def _poll_all(nodes: Sequence[_NodeProcess], last: bool = False) -> None:
    """Let every node run one cycle, as many at once as there are cores."""
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        answers = pool.map(lambda node: node.poll(last), nodes)
        for node, (summary, took) in zip(nodes, answers, strict=True):
            _say(f"  node {node.node_id} ({took}): {summary}")


def _timed_progress() -> Callable[[str], None]:
    """Return a progress callback that says each line with the seconds since the last one."""
    last = [time.perf_counter()]

    def say(line: str) -> None:
        _say(f"  {line} ({_since(last[0])})")
        last[0] = time.perf_counter()

    return say


def _start_nodes(
    stack: ExitStack, folder: Path, persons: int, seed: int, codes: dict[str, str], url: str
) -> list[_NodeProcess]:
    """Write each provider's extract, enrol its node and start its agent's process."""
    step = time.perf_counter()
    nodes: list[_NodeProcess] = []
    for i, provider in enumerate(PROVIDERS):
        config = _make_node(folder / provider.node_id, provider, persons, seed + i, url)
        enrolled = enrol(load_config(config), codes[provider.node_id])
        # Started now, so its start-up overlaps the next provider's extract.
        nodes.append(stack.enter_context(closing(_NodeProcess(config))))
        _say(
            f"node {provider.node_id}: extract of {_size(provider, persons):,} persons"
            f" written, enrolled ({enrolled.node_key_id}), agent started"
        )
    _say(f"  {len(nodes)} extracts written, nodes enrolled in {_since(step)}")
    return nodes


def _submit(paths: Sequence[Path], url: str, tokens: dict[str, str]) -> list[int]:
    """Submit each spec as the researcher, approve it as the coordinator; return the rounds."""
    step = time.perf_counter()
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
    _say(f"  {len(rounds)} specs submitted and approved in {_since(step)}")
    return rounds


def _cycle(app: Flask, queries: Sequence[str], url: str, tokens: dict[str, str]) -> list[int]:
    """Define a yearly cycle, let the scheduler open its due periods, record an action."""
    step = time.perf_counter()
    coordinator = ApiClient(url, tokens["coordinator"])
    body = {
        "name": "Palliatieve zorg, jaarlijks",
        "queries": list(queries),
        "cadence_months": 12,
        "period_months": 12,
        "first_period": "2022-01-01",
    }
    coordinator.call("POST", "/cycles", body)
    key = load_coordinator_key(Path(app.config["COORDINATOR_KEY_FILE"]))
    opened = open_due_rounds(
        app.extensions["lhs_sessions"], key, app.extensions["lhs_settings"], CYCLE_AS_OF
    )
    coordinator.call("POST", "/actions", ACTION)
    _say(
        f"cycle {body['name']!r}: {len(opened)} rounds open for the periods"
        f" {', '.join(sorted({str(o.period_start.year) for o in opened}))}"
        f" (as of {CYCLE_AS_OF}); one improvement action recorded in {_since(step)}"
    )
    return [o.round_id for o in opened]


def _publish(app: Flask, rounds: Sequence[int], out: Path) -> None:
    with session_scope(app.extensions["lhs_sessions"]) as session:
        for round_id in rounds:
            status = round_status(session, round_id)
            if status["pending"]:
                raise LhsError(f"round {round_id}: no answer from {status['pending']}")
        step = time.perf_counter()
        _say(f"publishing {len(rounds)} rounds: group tables protected jointly...")
        publish_factsheets(
            session, out, list(rounds), title="lhs demo factsheets", progress=_timed_progress()
        )
        _say(f"  published in {_since(step)}")


def run_demo(
    workdir: Path,
    *,
    persons: int = DEFAULT_PERSONS,
    specs: Sequence[str] = (),
    seed: int = 1,
    serve: bool = False,
) -> Path:
    """Run the whole loop in ``workdir``; return the factsheets' index page (``serve``: then
    serve the coordinator's pages on localhost until Ctrl-C).

    Each step's progress line ends with the seconds it took, so a slow step shows.
    """
    if workdir.exists() and any(workdir.iterdir()):
        raise LhsError(f"{workdir} is not empty; give a new or empty --workdir")
    started = time.perf_counter()
    paths = [
        p
        for p in library_paths()
        if (p.stem in specs or p.parent.name in specs if specs else p.parent.name in DEMO_AREAS)
    ]
    if not paths:
        raise LhsError(f"no library spec or area named {', '.join(specs)}")
    app = _set_up_coordinator(workdir / "coordinator-data")
    codes, tokens = _register(app, PROVIDERS)
    with ExitStack() as stack:  # the node processes: waited for, or ended, however it ends
        with _serving(app) as url:
            _say(
                f"coordinator on {url}/api/v1 (SQLite in {workdir / 'coordinator-data'}),"
                f" up in {_since(started)}"
            )
            nodes = _start_nodes(stack, workdir / "nodes", persons, seed, codes, url)
            rounds = _submit(paths, url, tokens)
            queries = [q for q in CYCLE_QUERIES if any(p.stem == q for p in paths)]
            if queries:
                # Opened now, so every node runs them in the same three polls.
                _cycle(app, queries, url, tokens)
            # Poll 1: run the tasks and upload each provider's protected headline.  Poll 2:
            # the coordinator opens secure aggregation per group; each node sends a fresh
            # X25519 key.  Poll 3: each node uploads its exact cube masked so that only the
            # group's sum is learnt.
            polls = ("run and upload results", "send aggregation keys", "send masked cubes")
            for i, poll in enumerate(polls, 1):
                step = time.perf_counter()
                _say(f"{len(nodes)} nodes poll: {poll} (one process each)...")
                _poll_all(nodes, last=i == len(polls))
                _say(f"  poll done in {_since(step)}")
        out = workdir / "factsheets"
        _publish(app, rounds, out)
    index = out / "index.html"
    _say(f"done in {_since(started)}")
    if serve:
        _serve_until_stopped(app)
    return index


def _serve_until_stopped(app: Flask) -> None:
    """Serve the coordinator (its pages for people, the API, the factsheets) until Ctrl-C."""
    with _serving(app) as url:
        click.echo(f"coordinator's pages: {url}/")
        click.echo(f"factsheets (Dutch; English under en/): {url}/api/v1/factsheets/")
        click.echo("  serving on localhost until Ctrl-C")
        _wait_for_ctrl_c()


def _wait_for_ctrl_c() -> None:
    """Block until the user presses Ctrl-C."""
    with suppress(KeyboardInterrupt):
        threading.Event().wait()


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
    help=f"Persons of a mid-sized provider; the others are scaled from it."
    f"  [default: {DEFAULT_PERSONS:,}; {FULL_PERSONS:,} with --full]",
)
@click.option(
    "--full",
    is_flag=True,
    help=f"The full-size demo: {FULL_PERSONS:,} persons in a mid-sized provider instead of"
    f" {DEFAULT_PERSONS:,} (slower; more counts exact).",
)
@click.option(
    "--spec",
    "specs",
    multiple=True,
    help="Only these library specs or areas (default: every palliative and hip-fracture spec).",
)
@click.option("--seed", type=int, default=1, show_default=True, help="Random seed of the data.")
@click.option(
    "--serve/--no-serve",
    default=None,
    help="At the end, serve the coordinator's pages and factsheets on localhost until Ctrl-C"
    "  [default: when run at a terminal].",
)
def demo_command(
    workdir: Path,
    persons: int | None,
    full: bool,
    specs: tuple[str, ...],
    seed: int,
    serve: bool | None,
) -> None:
    """Run the whole loop on this machine: nodes, coordinator, a round, factsheets.

    Nine providers in three networks, every palliative and hip-fracture library spec,
    a coordinator on SQLite over real HTTP, each node as its own process.
    """
    if full and persons is not None:
        raise click.UsageError("give --full or --persons, not both")
    if persons is None:
        persons = FULL_PERSONS if full else DEFAULT_PERSONS
    if serve is None:
        serve = sys.stdin.isatty() and sys.stdout.isatty()
    index = run_demo(workdir, persons=persons, specs=specs, seed=seed, serve=serve)
    click.echo(f"factsheets: {index.resolve()}")
    click.echo(
        f"  open it in a browser, or serve the folder: python -m http.server -d {index.parent}"
    )
    click.echo(
        f"  node extracts (to recompute any number by hand): {workdir / 'nodes'}/<node-id>/extract"
    )
