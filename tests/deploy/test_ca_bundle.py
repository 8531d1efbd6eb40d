"""A node trusts a coordinator behind a private CA through ``ca_bundle`` in its node.yaml."""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from node.agent.errors import CoordinatorUnavailable
from node.agent.transport import Coordinator
from node.config import load_config
from node.errors import NodeError

from .tls import Certificates, make_certificates
from .tools import require_tools


class _Key(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"key_id": "ed25519:test"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Certificates]]:
    """An HTTPS server on 127.0.0.1 with a certificate from a throwaway CA."""
    openssl = require_tools("openssl")["openssl"]
    certs = make_certificates(openssl, tmp_path_factory.mktemp("tls"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Key)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certs.chain, certs.key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_port}", certs
    server.shutdown()
    thread.join(timeout=5)


def test_the_ca_bundle_is_trusted_whatever_the_environment_says(
    served, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, certs = served
    # requests lets REQUESTS_CA_BUNDLE override a session's own trust; not the node's bundle.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", requests.certs.where())
    client = Coordinator(url, ca_bundle=str(certs.ca))
    assert client.get("/coordinator-key").body == {"key_id": "ed25519:test"}
    client.close()
    untrusting = Coordinator(url)
    with pytest.raises(CoordinatorUnavailable, match=f"TLS with {url} failed"):
        untrusting.get("/coordinator-key")
    untrusting.close()


def test_node_yaml_names_the_bundle_beside_it_and_refuses_a_missing_one(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    config = tmp_path / "node.yaml"
    config.write_text("coordinator: https://coordinator.example.org\nca_bundle: ca.pem\n")
    assert load_config(config).ca_bundle == str(tmp_path / "ca.pem")
    assert load_config(None).ca_bundle is None
    config.write_text("ca_bundle: missing.pem\n")
    with pytest.raises(NodeError, match=r"node.yaml: ca_bundle: no such file .*missing.pem"):
        load_config(config)
