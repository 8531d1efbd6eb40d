"""The coordinator's ``lhs`` commands.

``lhs coordinator init|serve|add-user|add-org|add-region|add-node|settings`` work on the
coordinator's own database and key (run them on the coordinator's machine);
``lhs coordinator approve|reject``, ``lhs query submit`` and ``lhs round status`` talk to a
running coordinator over HTTP (``--coordinator`` or ``LHS_COORDINATOR_URL``, token in
``LHS_TOKEN``).  Every failure prints one line, ``lhs: error: …``, and exits non-zero.
"""

from __future__ import annotations

import functools
import getpass
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from protocol import ProtocolError, key_id, load_spec

from . import create_app
from .accounts.models import ROLES
from .accounts.services import create_user
from .client import ApiClient, ClientError
from .config import SETTINGS
from .db import init_db, schema_is_current, session_scope
from .errors import ConfigError, ServiceError
from .keys import create_key_file, load_coordinator_key
from .registry.models import REGION_KINDS
from .registry.services import add_node, add_organisation, add_region
from .timeutil import write_time

__all__ = ["coordinator_group", "register_commands", "round_group", "submit_command"]

_URL = click.option(
    "--coordinator",
    "url",
    envvar="LHS_COORDINATOR_URL",
    metavar="URL",
    help="Coordinator base URL (or LHS_COORDINATOR_URL); the token comes from LHS_TOKEN.",
)


class CliError(click.ClickException):
    """A user-facing failure: printed as one line, exit status 1."""

    def show(self, file: object = None) -> None:
        click.echo(f"lhs: error: {self.format_message()}", err=True)


def _one_line_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (ServiceError, ConfigError, ClientError, ProtocolError) as exc:
            raise CliError(str(exc)) from None
        except sa.exc.SQLAlchemyError as exc:
            first = str(exc.orig if hasattr(exc, "orig") else exc).strip().splitlines()[0]
            raise CliError(f"database error: {first}") from None

    return wrapper


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
@_one_line_errors
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
@_one_line_errors
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
@_one_line_errors
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
@_one_line_errors
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
@_one_line_errors
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
@_one_line_errors
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
@_one_line_errors
def publish_command(round_ids: tuple[int, ...], out: Path | None) -> None:
    """Merge rounds into national, network, zorgkantoor and province factsheets."""
    from .factsheets.publish import publish_factsheets

    app = _ready_app()
    folder = out or Path(
        app.config.get("LHS_FACTSHEETS_DIR") or Path(app.instance_path) / "factsheets"
    )
    with session_scope(app.extensions["lhs_sessions"]) as session:
        session.info["settings"] = app.extensions["lhs_settings"]
        written = publish_factsheets(session, folder, round_ids)
    click.echo(f"wrote {len(written)} files; index: {folder / 'index.html'}")


@coordinator_group.command("settings")
@_one_line_errors
def settings_command() -> None:
    """List every setting: its environment variable, current value and meaning."""
    config = create_app().config
    for setting in SETTINGS:
        value = config[setting.name]
        shown = _safe_url(value) if setting.name == "DATABASE_URL" else value
        click.echo(f"{setting.env:<26} {shown}\n{'':<26} {setting.help}")


@coordinator_group.command("approve")
@click.argument("spec_hash")
@click.option("--reason", required=True, help="Why the spec is approved (recorded).")
@click.option("--min-cell", type=click.IntRange(min=10), help="Raise k for this round.")
@click.option("--deadline-days", type=click.IntRange(1, 366), help="Days the round stays open.")
@click.option("--node", "nodes", multiple=True, help="Ask only this node (repeat; default all).")
@_URL
@_one_line_errors
def approve_command(
    spec_hash: str,
    reason: str,
    min_cell: int | None,
    deadline_days: int | None,
    nodes: tuple[str, ...],
    url: str | None,
) -> None:
    """Approve a spec with a reason; this opens a round of signed tasks."""
    body: dict[str, Any] = {"reason": reason}
    for name, value in (("min_cell", min_cell), ("deadline_days", deadline_days)):
        if value is not None:
            body[name] = value
    if nodes:
        body["nodes"] = list(nodes)
    answer = ApiClient(url).call("POST", f"/specs/{spec_hash}/approve", body)
    click.echo(
        f"approved {answer['spec_hash']}: round {answer['round_id']} for"
        f" {len(answer['nodes'])} node(s), k={answer['min_cell']}, deadline {answer['deadline']}"
    )


@coordinator_group.command("reject")
@click.argument("spec_hash")
@click.option("--reason", required=True, help="Why the spec is rejected (recorded).")
@_URL
@_one_line_errors
def reject_command(spec_hash: str, reason: str, url: str | None) -> None:
    """Reject a submitted spec with a reason."""
    answer = ApiClient(url).call("POST", f"/specs/{spec_hash}/reject", {"reason": reason})
    click.echo(f"rejected {answer['spec_hash']}")


@click.command("submit")
@click.argument("specs", nargs=-1, required=True)
@_URL
@_one_line_errors
def submit_command(specs: tuple[str, ...], url: str | None) -> None:
    """Submit spec files (or library ids) for review; print each one's hash."""
    # Imported here: node.cli registers these commands, so importing it at the top is circular.
    from node.cli import resolve_specs

    paths = resolve_specs(specs)
    texts = [(path, load_spec(path), path.read_text(encoding="utf-8")) for path in paths]
    client = ApiClient(url)
    for path, _spec, text in texts:
        answer = client.call("POST", "/specs", {"yaml": text})
        click.echo(
            f"{path}: {answer['id']} v{answer['version']} {answer['spec_hash']}"
            f" ({answer['status']})"
        )


@click.group("round")
def round_group() -> None:
    """Follow rounds: which nodes answered, which are pending."""


@round_group.command("status")
@click.argument("round_id", required=False, type=int)
@_URL
@_one_line_errors
def round_status_command(round_id: int | None, url: str | None) -> None:
    """Show one round's nodes, or list every round."""
    client = ApiClient(url)
    if round_id is None:
        rounds = client.call("GET", "/rounds")["rounds"]
        if not rounds:
            click.echo("no rounds yet")
        for r in rounds:
            click.echo(
                f"round {r['round_id']:<4} {r['status']:<8} {r['query']} v{r['version']}"
                f"  {len(r['answered'])}/{len(r['targets'])} answered  deadline {r['deadline']}"
            )
        return
    r = client.call("GET", f"/rounds/{round_id}")
    click.echo(f"round {r['round_id']}: {r['query']} v{r['version']} ({r['spec_hash']})")
    click.echo(f"status {r['status']}, k={r['min_cell']}, deadline {r['deadline']}")
    for n in r["nodes"]:
        when = n["answered_at"] or n["delivered_at"] or ""
        click.echo(f"  {n['node_id']:<30} {n['state']:<10} {when}")


def register_commands(cli: click.Group, query: click.Group) -> None:
    """Add the coordinator's commands to the ``lhs`` command line."""
    from .aggregation.cli import aggregate_command  # it imports this module's helpers

    round_group.add_command(aggregate_command)
    cli.add_command(coordinator_group)
    cli.add_command(round_group)
    query.add_command(submit_command)
