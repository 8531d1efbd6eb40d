"""The coordinator's ``lhs`` commands: ``lhs coordinator ...`` and ``lhs round ...``.

``init|serve|add-user|add-org|add-region|add-node|publish|settings``, ``cycle
open-due|schedule`` and ``round aggregate`` work on the coordinator's own database and key
(run them on the coordinator's machine);
``approve|reject`` and ``round status`` talk to a running coordinator over HTTP
(``coordinator.client``).  Errors are ``LhsError``s: ``lhs`` prints each as one line.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from protocol import key_id, write_time

from . import create_app
from .accounts.models import ROLES
from .accounts.services import create_user
from .aggregation.services import OPEN_STATES, attempts, open_aggregation, restart_group
from .client import approve_command, reject_command, round_status_command
from .config import SETTINGS
from .db import init_db, schema_is_current, session_scope
from .errors import ConfigError
from .keys import create_key_file, load_coordinator_key
from .registry.models import REGION_KINDS
from .registry.services import add_node, add_organisation, add_region

__all__ = ["coordinator_group", "round_group"]


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


def _safe_url(url: str) -> str:
    return sa.make_url(url).render_as_string(hide_password=True)


def _ready_app() -> Flask:
    app = create_app()
    if not schema_is_current(app.extensions["lhs_engine"]):
        raise ConfigError(
            f"the database {_safe_url(app.config['DATABASE_URL'])} is not initialised or is out"
            " of date; run 'lhs coordinator init'"
        )
    return app


@contextmanager
def _session() -> Iterator[Session]:
    app = _ready_app()
    with session_scope(app.extensions["lhs_sessions"]) as session:
        session.info["settings"] = app.extensions["lhs_settings"]
        yield session


@click.group("coordinator")
def coordinator_group() -> None:
    """Run the coordinator: database, key, people, registry and approvals."""


@coordinator_group.command("init")
def init_command() -> None:
    """Create or upgrade the database and create the coordinator key (0600) if absent."""
    app = create_app()
    init_db(app.extensions["lhs_engine"])
    click.echo(f"database {_safe_url(app.config['DATABASE_URL'])}: schema is up to date")
    path = Path(app.config["COORDINATOR_KEY_FILE"])
    created = create_key_file(path)
    key = load_coordinator_key(path)
    click.echo(f"coordinator key {path}: {'created' if created else 'exists'} ({key_id(key)})")


@coordinator_group.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8700, show_default=True, type=click.IntRange(1, 65535))
def serve_command(host: str, port: int) -> None:
    """Serve the API (put it behind an HTTPS proxy; for heavy use run it under a WSGI server)."""
    from werkzeug.serving import run_simple

    app = _ready_app()
    load_coordinator_key(Path(app.config["COORDINATOR_KEY_FILE"]))  # fail now, not per request
    click.echo(f"lhs coordinator on http://{host}:{port}/api/v1", err=True)
    run_simple(host, port, app, threaded=True)


@coordinator_group.command("add-user")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(ROLES), help="What the user may do.")
@click.option("--password", "ask", is_flag=True, help="Ask for a password (for POST /tokens).")
def add_user_command(name: str, role: str, ask: bool) -> None:
    """Add a user; print a new API token (only this once) on stdout."""
    password = click.prompt("Password", hide_input=True, confirmation_prompt=True) if ask else None
    with _session() as session:
        _user, token = create_user(session, name, role, password, actor=_actor())
    click.echo(f"added {role} {name}; API token (shown once, set it as LHS_TOKEN):", err=True)
    click.echo(token)


@coordinator_group.command("add-region")
@click.argument("kind", type=click.Choice(REGION_KINDS))
@click.argument("code")
@click.argument("name")
def add_region_command(kind: str, code: str, name: str) -> None:
    """Add a region: a network, a zorgkantoor region (e.g. ZK05) or a province."""
    with _session() as session:
        add_region(session, kind, code, name, actor=_actor())
    click.echo(f"added {kind} {code} ({name})")


@coordinator_group.command("add-org")
@click.argument("name")
@click.option("--network", help="Code of its palliative-care network.")
@click.option("--zorgkantoor", help="Code of its zorgkantoor region, e.g. ZK05.")
@click.option("--province", help="Code of its province.")
def add_org_command(name: str, **regions: str | None) -> None:
    """Add an organisation (a care provider) and the regions it belongs to."""
    chosen = {kind: code for kind, code in regions.items() if code}
    with _session() as session:
        add_organisation(session, name, chosen, actor=_actor())
    where = ", ".join(f"{kind} {code}" for kind, code in chosen.items()) or "no regions"
    click.echo(f"added organisation {name} ({where})")


@coordinator_group.command("add-node")
@click.argument("node_id")
@click.option("--org", required=True, help="Name of the organisation running the node.")
def add_node_command(node_id: str, org: str) -> None:
    """Add a node (or re-issue its code); print a one-time enrolment code on stdout."""
    with _session() as session:
        hours = session.info["settings"].enrolment_code_hours
        _node, code, expires = add_node(session, node_id, org, hours=hours, actor=_actor())
    click.echo(
        f"enrolment code for {node_id} (one use, until {write_time(expires)});"
        f" give it to the node's operator for 'lhs node enrol':",
        err=True,
    )
    click.echo(code)


@coordinator_group.command("publish")
@click.option(
    "--round",
    "round_ids",
    type=int,
    multiple=True,
    help="Rounds to publish (default: the newest answered round of every query).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write into (default: the folder the coordinator serves factsheets from).",
)
def publish_command(round_ids: tuple[int, ...], out: Path | None) -> None:
    """Merge rounds into national, network, zorgkantoor and province factsheets."""
    from .factsheets.publish import publish_factsheets

    app = _ready_app()
    folder = out or Path(
        app.config.get("LHS_FACTSHEETS_DIR") or Path(app.instance_path) / "factsheets"
    )
    with session_scope(app.extensions["lhs_sessions"]) as session:
        session.info["settings"] = app.extensions["lhs_settings"]
        written = publish_factsheets(
            session, folder, round_ids, progress=lambda line: click.echo(line, err=True)
        )
    click.echo(f"wrote {len(written)} files; index: {folder / 'index.html'}")


@coordinator_group.command("settings")
def settings_command() -> None:
    """List every setting: its environment variable, current value and meaning."""
    config = create_app().config
    for setting in SETTINGS:
        value = config[setting.name]
        shown = _safe_url(value) if setting.name == "DATABASE_URL" else value
        click.echo(f"{setting.env:<26} {shown}\n{'':<26} {setting.help}")


@click.group("round")
def round_group() -> None:
    """Follow rounds: which nodes answered, which are pending."""


@round_group.command("aggregate")
@click.argument("round_id", type=int)
@click.option(
    "--restart",
    is_flag=True,
    help="Restart every open group without the members that have not sent their key or share.",
)
def aggregate_command(round_id: int, restart: bool) -> None:
    """Open secure aggregation of a round (e.g. past its deadline) and show every group."""
    with _session() as session:
        open_aggregation(session, round_id)
        if restart:
            for row in attempts(session, round_id):
                if row["state"] in OPEN_STATES:
                    restart_group(session, round_id, row["group"])
        rows = attempts(session, round_id)
    if not rows:
        click.echo(f"round {round_id}: no group has 3 or more answered nodes of 3 organisations")
    for row in rows:
        level, area = row["group"]
        click.echo(
            f"round {round_id} {level} {area} attempt {row['attempt']}: {row['state']};"
            f" keys {len(row['keys'])}/{len(row['members'])},"
            f" shares {len(row['shares'])}/{len(row['members'])}"
        )


@coordinator_group.group("cycle")
def cycle_group() -> None:
    """Recurring cycles: open each period's rounds on schedule; improvement actions."""


@cycle_group.command("open-due")
def open_due_command() -> None:
    """Open every due period's rounds of every cycle once (safe beside a running scheduler)."""
    from .cycles.scheduler import open_due_once

    _report_opened(open_due_once(_ready_app()))


@cycle_group.command("schedule")
@click.option("--minutes", default=60.0, show_default=True, type=click.FloatRange(min=0.1),
              help="How often to look for due periods.")  # fmt: skip
def schedule_command(minutes: float) -> None:
    """Open due rounds now and every --minutes after, until stopped (Ctrl-C)."""
    from .cycles.scheduler import run_scheduler

    click.echo(f"opening due cycle rounds every {minutes:g} minutes", err=True)
    try:
        run_scheduler(_ready_app(), minutes, report=_report_opened)
    except (KeyboardInterrupt, SystemExit):
        click.echo("stopped", err=True)


def _report_opened(opened: list) -> None:
    for o in opened:
        click.echo(f"cycle {o.cycle}: period from {o.period_start} of {o.query_id}: round"
                   f" {o.round_id} open")  # fmt: skip
    if not opened:
        click.echo("no cycle period is due", err=True)


coordinator_group.add_command(approve_command)
coordinator_group.add_command(reject_command)
round_group.add_command(round_status_command)
