"""``lhs node report``: the hospital's read-only page of what arrived, ran, was sent and held.

Three real agents run a round against a real coordinator (SQLite, served over HTTP on
localhost) with secure aggregation; the first node also receives two specs that are not in
the library: one its admin rejects, one left held.  The report must show the very bytes
``lhs node show-sent`` shows, with their SHA-256, and the audit log's verification.
"""

from __future__ import annotations

import hashlib
import html
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from werkzeug.serving import make_server

from coordinator import create_app
from coordinator.db import init_db, session_scope
from coordinator.keys import create_key_file
from coordinator.registry.services import add_organisation
from demo.synth import generate
from lhs.cli import cli
from node.agent import Agent, enrol
from node.config import load_config
from tests.cli import one_line_error
from tests.coordinator.coord_world import World

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = (ROOT / "queries" / "palliative" / "opioid_last_90d.yaml").read_text(encoding="utf-8")
NODES = {"zh-a": "Ziekenhuis A", "zh-b": "Ziekenhuis B", "zh-c": "Ziekenhuis C"}
REASON = "<script>alert(1)</script> not for our patients"
BODY = re.compile(r'<section class="message" id="([^"]+)">.*?<pre class="body">(.*?)</pre>', re.S)


def _local(version: int) -> str:
    """A valid spec that is not in the library: held for the node's admin."""
    return LIBRARY.replace("version: 1", f"version: {version}")


@pytest.fixture(scope="module")
def coordinator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[World, str]]:
    """A coordinator on SQLite, served on a free localhost port."""
    folder = tmp_path_factory.mktemp("report-coordinator")
    create_key_file(folder / "coordinator.key")
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": f"sqlite:///{folder / 'coordinator.sqlite3'}",
            "COORDINATOR_KEY_FILE": folder / "coordinator.key",
        }
    )
    init_db(app.extensions["lhs_engine"])
    world = World(app)
    world.user("rita", "researcher")
    world.user("carl", "coordinator")
    with session_scope(world.sessions) as session:
        add_organisation(session, "Ziekenhuis C", {"network": "NPZ-A"})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield world, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)
    app.extensions["lhs_engine"].dispose()


@pytest.fixture(scope="module")
def nodes(coordinator, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Three enrolled nodes that answered a library round (results and aggregation sent);
    zh-a also rejected one local spec and holds another."""
    world, url = coordinator
    root = tmp_path_factory.mktemp("report-nodes")
    configs = {}
    for i, (node_id, org) in enumerate(NODES.items()):
        folder = root / node_id
        generate(900 + 300 * i, seed=80 + i, out=folder / "extract", fmt="csv")
        configs[node_id] = folder / "node.yaml"
        configs[node_id].write_text(
            f"coordinator: {url}\nnode_id: {node_id}\ndata: {folder / 'extract'}\n"
            "keys: keys\nstate: state\nmin_cell: 10\n",
            encoding="utf-8",
        )
        enrol(load_config(configs[node_id]), world.code(node_id, org))
    for text in (LIBRARY, _local(2), _local(3)):
        assert world.approve(world.submit(text)["spec_hash"]).status_code == 201
    agents = {node_id: Agent(load_config(path)) for node_id, path in configs.items()}
    try:
        for _cycle in range(3):  # run and upload; aggregation keys; masked shares
            for agent in agents.values():
                agent.poll_once()
        first = agents["zh-a"].state
        rejected = next(t for t in first.store.tasks("held") if t["spec_version"] == 2)
        first.reject(rejected["task_id"], REASON, "alice")
    finally:
        for agent in agents.values():
            agent.close()
    return configs


def _run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), prog_name="lhs")


def _report(config: Path, out: Path) -> tuple[Result, str]:
    result = _run("node", "report", "--out", str(out), "--config", str(config))
    page = out / "index.html"
    return result, page.read_text(encoding="utf-8") if page.exists() else ""


def _snapshot(folder: Path) -> dict[str, bytes]:
    # SQLite's shared-memory index and an empty write-ahead log appear beside any reader.
    files = [p for p in folder.rglob("*") if p.is_file() and not p.name.endswith(("-shm", "-wal"))]
    return {str(p.relative_to(folder)): p.read_bytes() for p in files}


def test_the_report_shows_the_bytes_show_sent_shows_and_their_hash(nodes, tmp_path: Path) -> None:
    config = nodes["zh-a"]
    state = _snapshot(config.parent / "state")
    result, page = _report(config, tmp_path / "report")
    assert result.exit_code == 0, result.output
    assert _snapshot(config.parent / "state") == state  # read-only
    shown = _run("node", "show-sent", "--config", str(config)).output.splitlines()
    headers = [line for line in shown if line.startswith("# task ")]
    assert len(headers) == 1
    task_id, size, digest = re.match(
        r"# task (\S+): (\d+) bytes, (sha256:\w+), sent", headers[0]
    ).groups()
    raw = _run("node", "show-sent", task_id, "--raw", "--config", str(config)).stdout_bytes
    assert hashlib.sha256(raw).hexdigest() == digest.removeprefix("sha256:")
    sections = dict(BODY.findall(page))
    assert html.unescape(sections["result-001.json"]).encode("utf-8") == raw
    assert (tmp_path / "report" / "sent" / "result-001.json").read_bytes() == raw
    assert f"{size} bytes" in page and task_id in page
    assert f'<code class="sha256">{digest}</code>' in page
    # The aggregation messages (a key, then a masked share per group) are there too.
    aggregation = [name for name in sections if name.startswith("aggregation-")]
    assert len(aggregation) >= 4
    for name in aggregation:
        body = (tmp_path / "report" / "sent" / name).read_bytes()
        assert html.unescape(sections[name]).encode("utf-8") == body
        assert f'<code class="sha256">sha256:{hashlib.sha256(body).hexdigest()}</code>' in page


def test_held_and_declined_tasks_appear_escaped(nodes, tmp_path: Path) -> None:
    _result, page = _report(nodes["zh-a"], tmp_path / "report")
    held = page[page.index('id="held"') : page.index('id="sent"')]
    assert held.count('<tr class="held">') == 1 and "opioid_last_90d v3" in held
    assert held.count('<tr class="declined">') == 1 and "opioid_last_90d v2" in held
    assert html.escape(REASON) in held
    assert "<script" not in page  # autoescaped, and the page has no script of its own
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)  # nothing external


def test_the_audit_log_verification_appears(nodes, tmp_path: Path) -> None:
    config = nodes["zh-b"]
    verified = _run("node", "log", "--verify", "--config", str(config))
    count = re.search(r": (\d+) records, hash chain intact", verified.output).group(1)
    result, page = _report(config, tmp_path / "report")
    assert result.exit_code == 0 and "audit log intact" in result.output
    assert f"Verified: {count} records, hash chain intact." in page


def test_a_tampered_audit_log_shows_as_failed(nodes, tmp_path: Path) -> None:
    copy = tmp_path / "zh-c"
    shutil.copytree(nodes["zh-c"].parent, copy)
    log = copy / "state" / "audit.jsonl"
    lines = log.read_text(encoding="utf-8").splitlines(keepends=True)
    number = next(i for i, line in enumerate(lines) if '"event":"upload"' in line)
    # Same length, so only the chain shows the edit (not the head's recorded size).
    lines[number] = lines[number].replace('"outcome":"stored"', '"outcome":"stolen"')
    log.write_text("".join(lines), encoding="utf-8")
    result, page = _report(copy / "node.yaml", tmp_path / "report")
    one_line_error(result, "the audit log was altered (1 problem(s))", "index.html")
    assert 'class="verdict bad"' in page and "FAILED: the audit log was altered" in page
    assert f"line {number + 2}: &#39;prev&#39; does not match" in page


def test_bad_input_gives_one_line_errors(nodes, tmp_path: Path) -> None:
    config = tmp_path / "node.yaml"
    config.write_text("node_id: zh-x\nstate: nowhere\n", encoding="utf-8")
    one_line_error(_report(config, tmp_path / "out")[0], "no state folder", "nowhere")
    (tmp_path / "nowhere").mkdir()
    one_line_error(_report(config, tmp_path / "out")[0], "holds no agent database")
    (tmp_path / "a-file").write_text("x")
    one_line_error(_report(nodes["zh-a"], tmp_path / "a-file")[0], "is a file, not a folder")
    missing = _run("node", "report", "--out", str(tmp_path / "out"))
    assert missing.exit_code == 2 and "give --config" in missing.output
