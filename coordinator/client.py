"""A small HTTP client of the coordinator API for the ``lhs`` commands people run.

Every failure (no URL or token, connection refused, an error answer) becomes a
``ClientError`` with one line naming the problem; the CLI prints it as ``lhs: error: …``.
"""

from __future__ import annotations

import os
from typing import Any

import requests

__all__ = ["ApiClient", "ClientError"]

TIMEOUT = 30


class ClientError(Exception):
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
