"""A small HTTP client of the coordinator API, and the ``lhs`` commands people run with it.

``lhs coordinator approve|reject``, ``lhs query submit`` and ``lhs round status`` talk to a
running coordinator over HTTP (``--coordinator`` or ``LHS_COORDINATOR_URL``, token in
``LHS_TOKEN``).  Every failure (no URL or token, connection refused, an error answer)
becomes a ``ClientError`` with one line naming the problem; ``lhs`` prints it as
``lhs: error: …``.
"""

from __future__ import annotations

import os
from typing import Any

import click
import requests

from protocol import K_FLOOR, LhsError, load_spec
from queries import resolve_specs

__all__ = [
    "ApiClient",
    "ClientError",
    "approve_command",
    "reject_command",
    "round_status_command",
    "submit_command",
]

TIMEOUT = 30


class ClientError(LhsError):
    """A request to the coordinator failed; the message is one line."""


class ApiClient:
    """Calls ``<url>/api/v1/...`` with the API token of ``LHS_TOKEN``."""

    def __init__(self, url: str | None, token: str | None = None, *, need_token: bool = True):
        if not url:
            raise ClientError("no coordinator URL: give --coordinator or set LHS_COORDINATOR_URL")
        if not url.startswith(("http://", "https://")):
            raise ClientError(f"coordinator URL {url!r} must start with http:// or https://")
        self.base = url.rstrip("/") + "/api/v1"
        self.token = token if token is not None else os.environ.get("LHS_TOKEN")
        if need_token and not self.token:
            raise ClientError("no API token: set LHS_TOKEN (from 'lhs coordinator add-user')")

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """Send one request; return the JSON answer or raise ClientError."""
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        url = self.base + path
        try:
            response = requests.request(method, url, json=body, headers=headers, timeout=TIMEOUT)
        except requests.ConnectionError:
            raise ClientError(f"cannot reach the coordinator at {self.base}") from None
        except requests.Timeout:
            raise ClientError(f"the coordinator at {self.base} did not answer in time") from None
        except requests.RequestException as exc:
            raise ClientError(f"request to {url} failed: {type(exc).__name__}") from None
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if response.status_code >= 400:
            if isinstance(answer, dict) and {"status", "code", "message"} <= set(answer):
                status, code = answer["status"], answer["code"]
                raise ClientError(f"coordinator refused ({status} {code}): {answer['message']}")
            raise ClientError(f"coordinator answered {response.status_code} for {method} {path}")
        if answer is None:
            raise ClientError(f"the coordinator's answer to {method} {path} is not JSON")
        return answer


_URL = click.option(
    "--coordinator",
    "url",
    envvar="LHS_COORDINATOR_URL",
    metavar="URL",
    help="Coordinator base URL (or LHS_COORDINATOR_URL); the token comes from LHS_TOKEN.",
)


@click.command("approve")
@click.argument("spec_hash")
@click.option("--reason", required=True, help="Why the spec is approved (recorded).")
@click.option("--min-cell", type=click.IntRange(min=K_FLOOR), help="Raise k for this round.")
@click.option("--deadline-days", type=click.IntRange(1, 366), help="Days the round stays open.")
@click.option("--node", "nodes", multiple=True, help="Ask only this node (repeat; default all).")
@_URL
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
    if "round_id" not in answer:
        click.echo(
            f"approval of {answer['spec_hash']} recorded ({answer['approvals']} of"
            f" {answer['needed']}); another coordinator must approve before it runs"
        )
        return
    click.echo(
        f"approved {answer['spec_hash']}: round {answer['round_id']} for"
        f" {len(answer['nodes'])} node(s), k={answer['min_cell']}, deadline {answer['deadline']}"
    )


@click.command("reject")
@click.argument("spec_hash")
@click.option("--reason", required=True, help="Why the spec is rejected (recorded).")
@_URL
def reject_command(spec_hash: str, reason: str, url: str | None) -> None:
    """Reject a submitted spec with a reason."""
    answer = ApiClient(url).call("POST", f"/specs/{spec_hash}/reject", {"reason": reason})
    click.echo(f"rejected {answer['spec_hash']}")


@click.command("submit")
@click.argument("specs", nargs=-1, required=True)
@_URL
def submit_command(specs: tuple[str, ...], url: str | None) -> None:
    """Submit spec files (or library ids) for review; print each one's hash."""
    paths = resolve_specs(specs)
    texts = [(path, load_spec(path), path.read_text(encoding="utf-8")) for path in paths]
    client = ApiClient(url)
    for path, _spec, text in texts:
        answer = client.call("POST", "/specs", {"yaml": text})
        click.echo(
            f"{path}: {answer['id']} v{answer['version']} {answer['spec_hash']}"
            f" ({answer['status']})"
        )


@click.command("status")
@click.argument("round_id", required=False, type=int)
@_URL
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
