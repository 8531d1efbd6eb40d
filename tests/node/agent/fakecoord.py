"""A fake coordinator: real HTTP on localhost, real Ed25519, the endpoints of docs/protocol.md.

It does what the agent needs and no more: hands out enrolment codes, answers
signed polls with the tasks it holds no result for, stores signed results
once (``200 duplicate`` on a repeat, ``409`` on different content).  Faults
are switched on by attributes: ``drop_result_answers`` stores a result and then
closes the connection without answering; ``fail_results`` answers ``503``.
"""

from __future__ import annotations

import json
import secrets
import threading
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from protocol import (
    TASK,
    SignatureInvalid,
    canonical_json,
    generate_private_key,
    key_id,
    parse_spec,
    public_key_text,
    sign,
    spec_hash,
    verify,
)

NODE = "ziekenhuis-a"
"""The node id the agent tests enrol."""


def utc(delta: timedelta = timedelta()) -> str:
    """Return now plus delta as the protocol writes times."""
    return (datetime.now(UTC) + delta).strftime("%Y-%m-%dT%H:%M:%SZ")


class FakeCoordinator:
    """The coordinator's side of the protocol, in memory."""

    def __init__(self) -> None:
        self.key = generate_private_key()
        self.codes: dict[str, str] = {}
        self.nodes: dict[str, str] = {}
        self.tasks: list[tuple[str, dict[str, Any]]] = []  # (listed to node, envelope)
        self.results: dict[str, bytes] = {}  # task_id -> the body first stored
        self.bodies: list[bytes] = []  # every result body received, in order
        self.polls = 0
        self.nonces: set[str] = set()
        self.drop_result_answers = 0
        self.fail_results = False
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None
        self.port = 0

    # --- the coordinator admin's side -------------------------------------------------------

    def add_node(self, node_id: str) -> str:
        """Register a node id and return its one-time enrolment code."""
        code = secrets.token_urlsafe(12)
        self.codes[code] = node_id
        return code

    def task(self, node_id: str, spec_text: str, **changes: Any) -> dict[str, Any]:
        """Return a task payload for a spec; ``changes`` override any field."""
        spec = parse_spec(spec_text)
        payload = {
            "type": TASK,
            "task_id": str(uuid.uuid4()),
            "round_id": 1,
            "node_id": node_id,
            "spec_id": spec.id,
            "spec_version": spec.version,
            "spec_hash": spec_hash(spec),
            "spec": spec_text,
            "min_cell": 10,
            "nodes": [node_id],
            "issued_at": utc(),
            "deadline": utc(timedelta(days=7)),
        }
        payload.update(changes)
        return payload

    def issue(self, payload: dict[str, Any], key: Any = None, to: str | None = None) -> dict:
        """Sign a task payload (with another key to forge one) and list it to a node's polls."""
        envelope = sign(payload, key or self.key, "coordinator")
        self.tasks.append((to or payload["node_id"], envelope))
        return envelope

    # --- the server -------------------------------------------------------------------------

    @property
    def key_id(self) -> str:
        """Return the fingerprint of the coordinator's key."""
        return key_id(self.key)

    @property
    def url(self) -> str:
        """Return the base URL (without /api/v1)."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Serve on localhost (on the same port as before after a stop)."""
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler(self))
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self) -> None:
        """Stop serving: the node finds nobody there."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    # --- the endpoints ----------------------------------------------------------------------

    def handle(self, method: str, path: str, body: Any) -> tuple[int, dict[str, Any]] | None:
        """Answer one request; None means close the connection without an answer."""
        if method == "GET" and path == "/api/v1/coordinator-key":
            return 200, {"public_key": public_key_text(self.key), "key_id": key_id(self.key)}
        if method == "POST" and path == "/api/v1/nodes/enrol":
            node_id = self.codes.pop(body.get("enrolment_code"), None)
            if node_id is None or node_id != body.get("node_id"):
                return _error(403, "bad_code", "unknown or used enrolment code")
            self.nodes[node_id] = body["public_key"]
            return 201, {"node_id": node_id, "key_id": key_id(body["public_key"])}
        if method == "POST" and path.startswith("/api/v1/nodes/") and path.endswith("/poll"):
            return self._poll(path.split("/")[4], body)
        if method == "POST" and path == "/api/v1/results":
            return self._result(body)
        return _error(404, "not_found", f"no route {method} {path}")

    def _verified(self, body: Any, signer: Any) -> tuple[dict, tuple[int, dict] | None]:
        """Return the payload signed by a known node, or the refusal to send instead."""
        if signer not in self.nodes:
            return {}, _error(404, "unknown_node", f"no node {signer!r}")
        try:
            return verify(body, self.nodes[signer], signer=signer), None
        except SignatureInvalid as exc:
            return {}, _error(400, "bad_signature", str(exc))

    def _poll(self, node_id: str, body: Any) -> tuple[int, dict[str, Any]]:
        payload, refusal = self._verified(body, node_id)
        if refusal:
            return refusal
        sent = datetime.fromisoformat(payload["sent_at"])
        if abs((datetime.now(UTC) - sent).total_seconds()) > 300 or payload["nonce"] in self.nonces:
            return _error(400, "stale_poll", "old poll or nonce seen before")
        self.nonces.add(payload["nonce"])
        self.polls += 1
        listed = [
            env
            for to, env in self.tasks
            if to == node_id and env["payload"].get("task_id") not in self.results
        ]
        return 200, {"tasks": listed}

    def _result(self, body: Any) -> tuple[int, dict[str, Any]] | None:
        if self.fail_results:
            return _error(503, "unavailable", "try again later")
        payload, refusal = self._verified(body, body.get("signer"))
        if refusal:
            return refusal
        raw = canonical_json(body)
        self.bodies.append(raw)
        task_id = payload["task_id"]
        if task_id in self.results:
            stored = json.loads(self.results[task_id])["payload"]["result"]
            if stored != payload["result"]:
                return _error(409, "result_conflict", "a different result is stored")
            return 200, {"duplicate": True, "task_id": task_id}
        self.results[task_id] = raw
        if self.drop_result_answers:
            self.drop_result_answers -= 1
            return None
        return 201, {"stored": True, "task_id": task_id}


def _error(status: int, code: str, message: str) -> tuple[int, dict[str, Any]]:
    return status, {"status": status, "code": code, "message": message}


def _handler(fake: FakeCoordinator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self, method: str) -> None:
            size = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(size) if size else b""
            try:
                body = json.loads(raw) if raw else {}
            except ValueError:
                body = None
            with fake.lock:
                answer = (
                    _error(400, "bad_json", "not JSON")
                    if body is None
                    else fake.handle(method, self.path, body)
                )
            if answer is None:
                self.close_connection = True
                return
            status, data = answer
            out = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler
