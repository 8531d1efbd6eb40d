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
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path

import click
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
from protocol import LhsError
from queries import library_paths

from .nodes import poll_all, start_nodes
from .progress import say, since, timed_progress
from .world import (
    ACTION,
    CYCLE_AS_OF,
    CYCLE_QUERIES,
    DEFAULT_PERSONS,
    DEMO_AREAS,
    FULL_PERSONS,
    NETWORKS,
    PROVIDERS,
    REGIONS,
    DemoProvider,
)

__all__ = ["demo_command", "run_demo"]


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
        say(f"{spec['id']}: submitted, approved, round {answer['round_id']} open")
    say(f"  {len(rounds)} specs submitted and approved in {since(step)}")
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
    say(
        f"cycle {body['name']!r}: {len(opened)} rounds open for the periods"
        f" {', '.join(sorted({str(o.period_start.year) for o in opened}))}"
        f" (as of {CYCLE_AS_OF}); one improvement action recorded in {since(step)}"
    )
    return [o.round_id for o in opened]


def _publish(app: Flask, rounds: Sequence[int], out: Path) -> None:
    with session_scope(app.extensions["lhs_sessions"]) as session:
        for round_id in rounds:
            status = round_status(session, round_id)
            if status["pending"]:
                raise LhsError(f"round {round_id}: no answer from {status['pending']}")
        step = time.perf_counter()
        say(f"publishing {len(rounds)} rounds: group tables protected jointly...")
        publish_factsheets(
            session, out, list(rounds), title="lhs demo factsheets", progress=timed_progress()
        )
        say(f"  published in {since(step)}")


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
            say(
                f"coordinator on {url}/api/v1 (SQLite in {workdir / 'coordinator-data'}),"
                f" up in {since(started)}"
            )
            nodes = start_nodes(stack, workdir / "nodes", persons, seed, codes, url)
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
                say(f"{len(nodes)} nodes poll: {poll} (one process each)...")
                poll_all(nodes, last=i == len(polls))
                say(f"  poll done in {since(step)}")
        out = workdir / "factsheets"
        _publish(app, rounds, out)
    index = out / "index.html"
    say(f"done in {since(started)}")
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
