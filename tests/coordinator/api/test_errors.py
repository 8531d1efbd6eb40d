"""Every error has one body shape, {"status", "code", "message"}, whatever went wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from coordinator import create_app
from coordinator.db import init_db
from tests.coordinator.coord_world import MAX_BODY, World


def _shape(response, status: int, code: str) -> str:
    assert response.status_code == status, response.data
    assert response.is_json
    assert set(response.json) == {"status", "code", "message"}
    assert response.json["status"] == status and response.json["code"] == code
    assert "\n" not in response.json["message"]
    return response.json["message"]


def test_unknown_path_is_404(world: World) -> None:
    assert "/api/v1/nope" in _shape(world.client.get("/api/v1/nope"), 404, "not_found")
    _shape(world.client.get("/"), 404, "not_found")
    _shape(world.client.get("/api/v1/rounds/abc", headers=world.auth("rita")), 404, "not_found")


def test_wrong_method_is_405(world: World) -> None:
    message = _shape(world.client.get("/api/v1/results"), 405, "method_not_allowed")
    assert "POST" in message
    _shape(world.client.delete("/api/v1/specs"), 405, "method_not_allowed")


def test_oversized_body_is_413(world: World) -> None:
    body = b'{"yaml": "' + b"x" * MAX_BODY + b'"}'
    response = world.client.post(
        "/api/v1/specs", data=body, content_type="application/json", headers=world.auth("rita")
    )
    assert str(MAX_BODY) in _shape(response, 413, "body_too_large")
    response = world.client.post("/api/v1/results", data=body, content_type="application/json")
    _shape(response, 413, "body_too_large")


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"{not json", "not valid JSON"),
        (b"", "empty"),
        (b"[1, 2]", "JSON object"),
        (b'{"a": NaN}', "NaN"),
        (b"\xff\xfe\x00", "not valid JSON"),
        (b"[" * 100_000, "not valid JSON"),
    ],
)
def test_malformed_json_is_400(world: World, body: bytes, fragment: str) -> None:
    for path in ("/api/v1/results", "/api/v1/nodes/enrol", "/api/v1/nodes/zh-a/poll"):
        response = world.client.post(path, data=body, content_type="application/json")
        message = _shape(response, 400, "malformed_json")
        assert fragment in message or "nested" in message, message


def test_missing_or_bad_token_is_401(world: World) -> None:
    assert "Bearer" in _shape(world.client.get("/api/v1/specs"), 401, "no_token")
    bad = {"Authorization": "Bearer lhs_nothing"}
    _shape(world.client.get("/api/v1/specs", headers=bad), 401, "bad_token")
    basic = {"Authorization": "Basic dXNlcjpwdw=="}
    _shape(world.client.get("/api/v1/rounds", headers=basic), 401, "bad_token")


def test_missing_key_file_is_a_clear_500(config: dict, tmp_path: Path) -> None:
    app = create_app({**config, "COORDINATOR_KEY_FILE": tmp_path / "absent.key"})
    init_db(app.extensions["lhs_engine"])
    message = _shape(app.test_client().get("/api/v1/coordinator-key"), 500, "not_configured")
    assert "lhs coordinator init" in message


def test_unexpected_failure_is_a_json_500(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_args, **_kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("coordinator.rounds.services.list_rounds", boom)
    response = world.client.get("/api/v1/rounds", headers=world.auth("rita"))
    assert "boom" not in _shape(response, 500, "internal_error")


def test_key_file_readable_by_others_is_refused(config: dict) -> None:
    config["COORDINATOR_KEY_FILE"].chmod(0o644)
    app = create_app(config)
    message = _shape(app.test_client().get("/api/v1/coordinator-key"), 500, "not_configured")
    assert "chmod 600" in message
