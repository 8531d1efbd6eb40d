"""Deploy smoke test: the production topology from ``deploy/`` on one machine.

A throwaway CA; PostgreSQL set up by ``deploy/coordinator/postgresql.sql``; ``lhs coordinator
init``; gunicorn with ``gunicorn.conf.py`` behind nginx with ``nginx-lhs-coordinator.conf``
(TLS, 127.0.0.1 only); three nodes configured from ``deploy/node/node.yaml``, trusting the
CA, enrolled and served with the unit's own command; one round end to end; publish; then
``backup.sh``, the database dropped, ``restore.sh``, and the factsheets published again
must be identical.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from coordinator.config import SETTINGS
from protocol import generate_private_key, public_key_text

from .nodes import enrol_nodes, serve_nodes
from .stack import DEPLOY, lhs, stop
from .tools import require_postgres, require_tools
from .topology import Topology

TOOLS = ("nginx", "openssl", "psql", "pg_dump", "pg_restore", "dropdb", "createdb")
SPEC = "opioid_last_90d"
KEY = public_key_text(generate_private_key())


@pytest.fixture(scope="module")
def topology(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    """The coordinator behind nginx on a throwaway database, torn down after the module."""
    tools = require_tools(*TOOLS)
    server = require_postgres()
    topology = Topology(tmp_path_factory.mktemp("deploy"), tools, server)
    try:
        topology.up()
        yield topology
    finally:
        topology.close()


def test_nginx_terminates_tls_with_security_headers_and_the_apis_body_limit(
    topology: Topology,
) -> None:
    answer = requests.get(f"{topology.url}/api/v1/coordinator-key", verify=topology.certs.ca)
    assert answer.status_code == 200 and answer.json()["key_id"].startswith("ed25519:")
    for header in ("Strict-Transport-Security", "X-Frame-Options", "Referrer-Policy"):
        assert header in answer.headers, header
    assert answer.headers["X-Content-Type-Options"] == "nosniff"  # once, not the app's twice
    # A client that does not trust the throwaway CA is refused.
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{topology.url}/api/v1/coordinator-key", timeout=10)
    plain = requests.get(
        f"http://127.0.0.1:{topology.http_port}/api/v1/nodes", allow_redirects=False
    )
    assert plain.status_code == 301
    assert plain.headers["Location"] == f"{topology.url}/api/v1/nodes"
    site = (DEPLOY / "coordinator" / "nginx-lhs-coordinator.conf").read_text(encoding="utf-8")
    limit = int(re.search(r"client_max_body_size (\d+)m;", site).group(1)) * 1024 * 1024
    default = next(s for s in SETTINGS if s.name == "MAX_CONTENT_LENGTH").default(Path())
    assert limit == default
    too_big = requests.post(
        f"{topology.url}/api/v1/results", data=b"x" * (limit + 1), verify=topology.certs.ca
    )
    assert too_big.status_code == 413 and "nginx" in too_big.text  # refused before gunicorn


def test_a_claimed_address_is_not_believed_past_the_one_trusted_proxy(topology: Topology) -> None:
    answer = requests.post(
        f"{topology.url}/api/v1/nodes/enrol",
        json={"node_id": "nobody", "public_key": KEY, "enrolment_code": "WRONG"},
        headers={"X-Forwarded-For": "203.0.113.7"},
        verify=topology.certs.ca,
    )
    assert answer.status_code == 403 and answer.json()["code"] == "enrolment_refused"
    engine = sa.create_engine(topology.db.url)
    with engine.connect() as c:
        keys = set(c.scalars(sa.text("SELECT key FROM throttles")))
    engine.dispose()
    # The failure counts against the address nginx saw, not the one the client claimed.
    assert "enrol:addr:127.0.0.1" in keys and "enrol:addr:203.0.113.7" not in keys


def _published(topology: Topology) -> dict[str, bytes]:
    lhs(topology.env, "coordinator", "publish")
    files = sorted(p for p in topology.factsheets.rglob("*") if p.is_file())
    assert any(p.name == "index.html" for p in files)
    return {str(p.relative_to(topology.factsheets)): p.read_bytes() for p in files}


def _served_index(topology: Topology) -> bytes:
    answer = requests.get(f"{topology.url}/api/v1/factsheets/", verify=topology.certs.ca)
    assert answer.status_code == 200, answer.text
    assert "default-src 'none'" in answer.headers["Content-Security-Policy"]
    return answer.content


def _round(topology: Topology, root: Path) -> dict[str, Path]:
    """Enrol the nodes, submit and approve a library spec over HTTPS, serve until summed."""
    configs = enrol_nodes(topology, root)
    client = {
        **topology.env,
        "LHS_COORDINATOR_URL": topology.url,
        "REQUESTS_CA_BUNDLE": str(topology.certs.ca),  # people's clients: requests' variable
    }
    submitted = lhs({**client, "LHS_TOKEN": topology.tokens["researcher"]}, "query", "submit", SPEC)
    spec_hash = re.search(r"sha256:[0-9a-f]{64}", submitted).group(0)
    approved = lhs(
        {**client, "LHS_TOKEN": topology.tokens["coordinator"]},
        "coordinator", "approve", spec_hash, "--reason", "deploy smoke test",
    )  # fmt: skip
    round_id = int(re.search(r"round (\d+) for 3 node", approved).group(1))
    serve_nodes(topology, configs, round_id)
    return configs


def _backup_drop_restore(topology: Topology, tmp_path: Path) -> None:
    """Back up with backup.sh, stop, drop the database and key, restore with restore.sh."""
    out = _script(topology, "backup.sh", str(tmp_path / "backups"))
    backup = Path(out.strip().splitlines()[-1])
    assert {p.name for p in backup.iterdir()} == {"coordinator.dump", "coordinator.key",
                                                 "SHA256SUMS"}  # fmt: skip
    assert (backup.stat().st_mode & 0o077) == 0  # it holds the signing key
    stop(topology.processes.pop("gunicorn"))
    topology.db.recreate_empty(topology.tools["dropdb"], topology.tools["createdb"])
    engine = sa.create_engine(topology.db.url)
    assert sa.inspect(engine).get_table_names() == []  # really gone
    engine.dispose()
    topology.key_file.unlink()
    (tmp_path / "published-before").mkdir()
    topology.factsheets.rename(tmp_path / "published-before" / "factsheets")
    _script(topology, "restore.sh", str(backup))


def test_a_round_over_https_then_backup_drop_restore_publishes_identical_factsheets(
    topology: Topology, tmp_path: Path
) -> None:
    configs = _round(topology, tmp_path / "nodes")
    before = _published(topology)
    assert any(SPEC in name and name.endswith(".json") for name in before)
    served = _served_index(topology)
    assert served == before["index.html"]

    _backup_drop_restore(topology, tmp_path)
    init = lhs(topology.env, "coordinator", "init")
    key_id = re.search(r"ed25519:[0-9a-f]+", topology.init_output).group(0)
    assert f"exists ({key_id})" in init  # the very key the nodes pinned
    topology.start_gunicorn()
    assert _published(topology) == before
    assert _served_index(topology) == served
    # The restored coordinator still knows the nodes: a signed poll is answered.
    out = lhs(topology.env, "node", "serve", "--once", "--config", str(configs["zh-noord"]))
    assert out.startswith("zh-noord: 0 new task(s)")


def _script(topology: Topology, name: str, *args: str) -> str:
    """Run a script of ``deploy/coordinator`` with the service's environment."""
    done = subprocess.run(
        [str(DEPLOY / "coordinator" / name), *args],
        env={**topology.env, "PATH": f"{Path(topology.tools['pg_dump']).parent}:/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, f"{name} failed:\n{done.stdout}{done.stderr}"
    return done.stdout
