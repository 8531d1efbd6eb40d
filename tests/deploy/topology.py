"""The deploy smoke test's coordinator: PostgreSQL, gunicorn and nginx from ``deploy/``, up.

``Topology`` starts each piece as ``deploy/README.md`` says, in a temporary folder, on free
ports of 127.0.0.1 only; ``close`` stops the servers and drops the throwaway database.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from subprocess import Popen

from coordinator import create_app
from coordinator.accounts.services import create_user
from coordinator.db import session_scope
from coordinator.registry.services import add_node, add_organisation, add_region

from .stack import (
    DEPLOY,
    Database,
    answers,
    clean_env,
    free_port,
    lhs,
    nginx_conf,
    nginx_site,
    start,
    stop,
    wait_until,
)
from .tls import Certificates, make_certificates

__all__ = ["NETWORK", "NODES", "Topology"]

NETWORK = ("npz-deploy", "Netwerk Palliatieve Zorg Deploy")
NODES = {
    "zh-noord": "Ziekenhuis Noord",
    "zh-midden": "Ziekenhuis Midden",
    "zh-zuid": "Hospice Zuid",
}


@dataclass
class Topology:
    """A coordinator on PostgreSQL under gunicorn behind nginx, with its folder and tools."""

    folder: Path
    tools: dict[str, str]
    server_url: str
    db: Database = field(init=False)
    certs: Certificates = field(init=False)
    env: dict[str, str] = field(init=False)
    gunicorn_port: int = field(default_factory=free_port)
    http_port: int = field(default_factory=free_port)
    https_port: int = field(default_factory=free_port)
    processes: dict[str, Popen] = field(default_factory=dict)
    codes: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """The coordinator's public base URL: nginx, over HTTPS."""
        return f"https://127.0.0.1:{self.https_port}"

    @property
    def key_file(self) -> Path:
        """The coordinator's signing key."""
        return self.folder / "state" / "coordinator.key"

    @property
    def factsheets(self) -> Path:
        """Where ``lhs coordinator publish`` writes and the service serves from."""
        return self.folder / "state" / "factsheets"

    def up(self) -> None:
        """Make the CA, role and database, initialise, register, start gunicorn and nginx."""
        self.certs = make_certificates(self.tools["openssl"], self.folder / "tls")
        self.db = Database(self.server_url, f"lhs_deploy_{secrets.token_hex(5)}")
        self.db.create(self.tools["psql"])
        self.env = clean_env(
            LHS_DATABASE_URL=self.db.url.render_as_string(hide_password=False),
            LHS_INSTANCE_PATH=str(self.folder / "state"),
            LHS_COORDINATOR_KEY_FILE=str(self.key_file),
            LHS_TRUSTED_PROXIES="1",
            LHS_SECRET_KEY=secrets.token_hex(32),
        )
        self.init_output = lhs(self.env, "coordinator", "init")
        self.register()
        self.start_gunicorn()
        self.start_nginx()

    def register(self) -> None:
        """Add the network, three organisations with a node each, and two people."""
        app = create_app({"DATABASE_URL": self.env["LHS_DATABASE_URL"]})
        try:
            with session_scope(app.extensions["lhs_sessions"]) as session:
                add_region(session, "network", *NETWORK, actor="deploy-test")
                for node_id, org in NODES.items():
                    add_organisation(session, org, {"network": NETWORK[0]}, actor="deploy-test")
                    _, self.codes[node_id], _ = add_node(session, node_id, org, hours=1)
                for role in ("researcher", "coordinator"):
                    _, self.tokens[role] = create_user(session, f"deploy-{role}", role, None)
        finally:
            app.extensions["lhs_engine"].dispose()

    def start_gunicorn(self) -> None:
        """Start gunicorn with deploy's config; bind and logs moved into the folder."""
        logs = self.folder / "logs"
        logs.mkdir(exist_ok=True)
        command = [
            sys.executable, "-m", "gunicorn",
            "-c", str(DEPLOY / "coordinator" / "gunicorn.conf.py"),
            "--bind", f"127.0.0.1:{self.gunicorn_port}", "--workers", "2",
            "--access-logfile", str(logs / "access.log"),
            "--error-logfile", str(logs / "error.log"),
        ]  # fmt: skip
        self.processes["gunicorn"] = start(command, logs / "gunicorn.out", self.env, self.folder)
        wait_until(
            "gunicorn answers",
            answers(f"http://127.0.0.1:{self.gunicorn_port}/api/v1/coordinator-key"),
            60,
            logs / "error.log",
            logs / "gunicorn.out",
        )

    def start_nginx(self) -> None:
        """Start nginx (no daemon) with deploy's site; fail on a config it refuses."""
        folder = self.folder / "nginx"
        site = nginx_site(
            self.gunicorn_port, self.http_port, self.https_port, self.certs.chain, self.certs.key
        )
        conf = nginx_conf(folder, site)
        command = [self.tools["nginx"], "-p", str(folder), "-e", str(folder / "error.log")]
        checked = subprocess.run([*command, "-t", "-c", str(conf)], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr
        self.processes["nginx"] = start(
            [*command, "-c", str(conf)], folder / "nginx.out", self.env, folder
        )
        wait_until(
            "nginx answers over HTTPS",
            answers(f"{self.url}/api/v1/coordinator-key", self.certs.ca),
            30,
            folder / "error.log",
            folder / "nginx.out",
        )

    def close(self) -> None:
        """Stop every server started and drop the throwaway role and database."""
        for process in self.processes.values():
            stop(process)
        with suppress(AttributeError):
            self.db.drop()
