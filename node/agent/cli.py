"""The agent's commands under ``lhs node``: enrol, serve, and the local admin's tools.

Errors the operator can cause are ``NodeError``s; the ``lhs`` command turns
them into one ``lhs: error: ...`` line and a non-zero exit.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from protocol import HEADLINE, parse_time

from ..config import NodeConfig, load_config
from .agent import Agent
from .audit import AuditLog
from .enrol import enrol
from .errors import AgentError
from .service import Service
from .state import NodeState, admin_name

__all__ = ["AGENT_COMMANDS"]


def _config_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False),
        help="The node's node.yaml (default: $LHS_NODE_CONFIG).",
    )(command)


def _config(path: str | None) -> NodeConfig:
    if not path and not os.environ.get("LHS_NODE_CONFIG"):
        raise click.UsageError("give --config node.yaml (or set LHS_NODE_CONFIG)")
    return load_config(path)


@click.command("enrol")
@_config_option
@click.option("--code", help="The one-time enrolment code (default: $LHS_ENROLMENT_CODE).")
def enrol_command(config_path: str | None, code: str | None) -> None:
    """Create this node's key pair, pin the coordinator's key and register with a code."""
    config = _config(config_path)
    done = enrol(config, code or os.environ.get("LHS_ENROLMENT_CODE"))
    verb = "already enrolled" if done.already else "enrolled"
    click.echo(f"{verb}: node {done.node_id} at {done.coordinator}")
    click.echo(f"  node key fingerprint:        {done.node_key_id}")
    click.echo(f"  coordinator key fingerprint: {done.coordinator_key_id}")
    if not done.already:
        click.echo("Compare both fingerprints with the coordinator's admin by phone or in person.")


@click.command("serve")
@_config_option
@click.option("--once", is_flag=True, help="Run one poll, run and upload cycle, then exit.")
def serve_command(config_path: str | None, once: bool) -> None:
    """Poll the coordinator, run approved tasks and upload their results."""
    logging.getLogger("node.agent").setLevel(logging.INFO)
    agent = Agent(_config(config_path))
    try:
        if once:
            cycle = agent.poll_once()
            click.echo(f"{agent.node_id}: {cycle}")
        else:
            Service(agent).run()
    finally:
        agent.close()


@click.command("tasks")
@_config_option
@click.option("--state", "only", help="Only tasks in this state (held, run, sent, refused, ...).")
def tasks_command(config_path: str | None, only: str | None) -> None:
    """List the tasks this node has seen, with their state."""
    state = NodeState.open(_config(config_path))
    try:
        rows = [r for r in state.store.tasks() if only is None or r["state"] == only]
    finally:
        state.close()
    now = datetime.now(UTC)
    if not rows:
        click.echo("no tasks" + (f" in state {only}" if only else ""))
        return
    click.echo(f"{'TASK':<38} {'STATE':<9} {'SPEC':<40} {'ROUND':>5}  {'RECEIVED':<24} REASON")
    for r in rows:
        task = r["task_id"] or r["digest"][:38]
        spec = f"{r['spec_id'] or '?'} v{r['spec_version'] or '?'}"
        if r["library"]:
            spec += " (library)"
        reason = (r["reason"] or "").replace("\n", " ")
        if r["state"] == "held" and r["deadline"] and parse_time(r["deadline"], "deadline") <= now:
            reason = f"deadline {r['deadline']} passed"
        click.echo(
            f"{task:<38} {r['state']:<9} {spec:<40} {r['round_id'] or '-':>5}"
            f"  {r['received_at']:<24} {reason}".rstrip()
        )


@click.command("approve")
@click.argument("task_id")
@_config_option
def approve_command(task_id: str, config_path: str | None) -> None:
    """Approve a held task; the agent runs it on its next cycle."""
    state = NodeState.open(_config(config_path))
    try:
        state.approve(task_id, admin_name())
    finally:
        state.close()
    click.echo(f"approved {task_id}; it runs on the agent's next cycle")


@click.command("reject")
@click.argument("task_id")
@click.option("--reason", required=True, help="Why this node will not run the task.")
@_config_option
def reject_command(task_id: str, reason: str, config_path: str | None) -> None:
    """Reject a held task for good, with a reason."""
    state = NodeState.open(_config(config_path))
    try:
        state.reject(task_id, reason, admin_name())
    finally:
        state.close()
    click.echo(f"rejected {task_id}")


@click.command("show-sent")
@click.argument("task_id", required=False)
@click.option("--raw", is_flag=True, help="Write only the exact bytes sent (needs TASK_ID).")
@_config_option
def show_sent_command(task_id: str | None, raw: bool, config_path: str | None) -> None:
    """Show exactly the bytes sent for results, with their size and SHA-256."""
    if raw and not task_id:
        raise click.UsageError("--raw needs a TASK_ID")
    state = NodeState.open(_config(config_path))
    try:
        entries = [e for e in state.store.outbox(task_id=task_id) if e["attempts"] > 0]
    finally:
        state.close()
    if not entries:
        raise AgentError(f"nothing was sent for task {task_id}" if task_id else "nothing sent yet")
    if raw:
        click.echo(entries[0]["body"], nl=False)  # bytes go to stdout's binary stream as they are
        return
    for e in entries:
        when = e["sent_at"] or "not confirmed"
        click.echo(
            f"# task {e['task_id']}: {e['bytes']} bytes, {e['sha256']}, {e['status']}"
            f" ({when}, {e['attempts']} attempt(s))"
        )
        if _scope(e["body"]) == HEADLINE:
            click.echo(
                "# the headline only: the task's breakdowns leave masked, inside group sums"
                " (`lhs node log`); `lhs node run` shows the whole protected cube"
            )
        click.echo(e["body"].decode("utf-8"))


def _scope(body: bytes) -> str | None:
    try:
        return json.loads(body)["payload"]["result"]["scope"]
    except (ValueError, KeyError, TypeError):
        return None


@click.command("log")
@click.option("--verify", is_flag=True, help="Check the hash chain of the audit log.")
@click.option("--tail", type=click.IntRange(min=1), help="Show only the last N records.")
@_config_option
def log_command(verify: bool, tail: int | None, config_path: str | None) -> None:
    """Print the node's audit log, or verify its hash chain."""
    audit = AuditLog(Path(_config(config_path).state) / "audit.jsonl")
    if verify:
        count, problems = audit.verify()
        for problem in problems:
            click.echo(f"{audit.path}: {problem}", err=True)
        if problems:
            raise AgentError(
                f"{audit.path}: the audit log was altered ({len(problems)} problem(s))"
            )
        click.echo(f"{audit.path}: {count} records, hash chain intact")
        return
    if not audit.path.exists():
        click.echo("the audit log is empty")
        return
    lines = audit.path.read_text(encoding="utf-8").splitlines()
    for line in lines[-tail:] if tail else lines:
        click.echo(line)


AGENT_COMMANDS = (
    enrol_command,
    serve_command,
    tasks_command,
    approve_command,
    reject_command,
    show_sent_command,
    log_command,
)
"""The agent's commands, in the order ``lhs node --help`` lists them."""
