"""The production topology on one machine: PostgreSQL role and database, gunicorn, nginx.

Each piece is started the way ``deploy/`` says, from its files there, with only what a test
must move (ports, paths under a temporary folder) changed, and every change checked to apply.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import requests
import sqlalchemy as sa

__all__ = [
    "DEPLOY",
    "ROOT",
    "Database",
    "free_port",
    "lhs",
    "nginx_site",
    "start",
    "stop",
    "wait_until",
]

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def free_port() -> int:
    """Return a TCP port of 127.0.0.1 that is free now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_env(**values: str) -> dict[str, str]:
    """Return this process's environment without lhs or CA settings, plus ``values``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("LHS_") and k not in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
    }
    env["PYTHONPATH"] = str(ROOT)  # this tree's code, wherever lhs is installed from
    return {**env, **values}


def lhs(env: dict[str, str], *args: str, cwd: Path | None = None) -> str:
    """Run ``lhs ARGS`` in a fresh interpreter; return its stdout or fail with its output."""
    done = subprocess.run(
        [sys.executable, "-m", "lhs", *args], env=env, cwd=cwd, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise AssertionError(f"lhs {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


class Database:
    """A throwaway role and database of that name on the test server, made by deploy's SQL."""

    def __init__(self, server_url: str, name: str) -> None:
        self.name = name
        self.admin = sa.make_url(server_url).set(drivername="postgresql", database="postgres")
        self.url = self.admin.set(
            drivername="postgresql+psycopg", username=name, password=None, database=name
        )

    def libpq(self, url: sa.URL) -> str:
        """Return a URL as libpq (psql, pg_dump) reads it."""
        return url.set(drivername="postgresql").render_as_string(hide_password=False)

    def create(self, psql: str) -> None:
        """Create the role and database with ``deploy/coordinator/postgresql.sql``."""
        subprocess.run(
            [psql, "-q", "-v", f"role={self.name}", "-v", f"db={self.name}",
             "-f", str(DEPLOY / "coordinator" / "postgresql.sql"), self.libpq(self.admin)],
            check=True, capture_output=True, text=True,
        )  # fmt: skip

    def recreate_empty(self, dropdb: str, createdb: str) -> None:
        """Drop the database and create it empty, as the restore procedure says."""
        admin = self.libpq(self.admin)
        subprocess.run(
            [dropdb, "--force", "--maintenance-db", admin, self.name], check=True,
            capture_output=True, text=True,
        )  # fmt: skip
        subprocess.run(
            [createdb, "--maintenance-db", admin, "--owner", self.name,
             "--template", "template0", self.name],
            check=True, capture_output=True, text=True,
        )  # fmt: skip

    def drop(self) -> None:
        """Drop the database and the role, whatever state they are in."""
        engine = sa.create_engine(self.admin.set(drivername="postgresql+psycopg"))
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
            c.execute(sa.text(f'DROP ROLE IF EXISTS "{self.name}"'))
        engine.dispose()


def nginx_site(upstream: int, http: int, https: int, chain: Path, key: Path) -> str:
    """Return deploy's nginx site with its ports, name and certificate paths moved."""
    text = (DEPLOY / "coordinator" / "nginx-lhs-coordinator.conf").read_text(encoding="utf-8")
    moves = [
        (r"server 127\.0\.0\.1:8700;", f"server 127.0.0.1:{upstream};", 1),
        (r"listen 80;\n\s*listen \[::\]:80;", f"listen 127.0.0.1:{http};", 1),
        (r"listen 443 ssl http2;\n\s*listen \[::\]:443 ssl http2;",
         f"listen 127.0.0.1:{https} ssl http2;", 1),
        (r"server_name coordinator\.example\.org;", "server_name 127.0.0.1;", 2),
        (r"/etc/ssl/lhs/coordinator\.fullchain\.pem", str(chain), 1),
        (r"/etc/ssl/lhs/coordinator\.key", str(key), 1),
        (r"https://\$host\$request_uri", f"https://$host:{https}$request_uri", 1),
    ]  # fmt: skip
    for pattern, replacement, count in moves:
        text, made = re.subn(pattern, replacement, text)
        assert made == count, f"the nginx site no longer has {pattern!r} {count} time(s)"
    return text


def nginx_conf(folder: Path, site: str) -> Path:
    """Write a main nginx.conf around the site: no daemon, every path under ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "site.conf").write_text(site, encoding="utf-8")
    temp = " ".join(
        f"{kind}_temp_path {folder / kind};" for kind in ("client_body", "proxy", "fastcgi")
    )
    conf = folder / "nginx.conf"
    conf.write_text(
        f"daemon off;\nworker_processes 1;\npid {folder / 'nginx.pid'};\n"
        f"error_log {folder / 'error.log'} warn;\nevents {{ worker_connections 256; }}\n"
        f"http {{\n  access_log {folder / 'access.log'};\n  {temp}\n"
        # Started by root, the workers run as nobody and cannot enter the test's private
        # temporary folder: bodies and answers stay in memory instead of temp files.
        "  client_body_buffer_size 9m; proxy_max_temp_file_size 0;\n"
        f"  uwsgi_temp_path {folder / 'uwsgi'}; scgi_temp_path {folder / 'scgi'};\n"
        f"  include {folder / 'site.conf'};\n}}\n",
        encoding="utf-8",
    )
    return conf


def start(command: list[str], log: Path, env: dict[str, str], cwd: Path) -> subprocess.Popen:
    """Start a server process, its output to ``log``."""
    with log.open("ab") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd)


def stop(process: subprocess.Popen, timeout: float = 30) -> int:
    """Stop a process with SIGTERM (as systemd does); return its exit status."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


def wait_until(what: str, check: Callable[[], bool], timeout: float, *logs: Path) -> None:
    """Wait until ``check()`` holds; fail with the tail of the logs when it never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.3)
    tails = "\n".join(f"--- {p}\n{_tail(p)}" for p in logs)
    raise AssertionError(f"{what}: not within {timeout:g}s\n{tails}")


def answers(url: str, ca: Path | None = None) -> Callable[[], bool]:
    """Return a check that ``url`` answers 200."""

    def check() -> bool:
        try:
            return requests.get(url, timeout=5, verify=str(ca) if ca else True).status_code == 200
        except requests.RequestException:
            return False

    return check


def _tail(path: Path, lines: int = 30) -> str:
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
