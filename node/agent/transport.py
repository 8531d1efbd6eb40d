"""The node's only way out: outbound JSON calls to the coordinator with requests.

TLS certificates are verified (requests' default): against the node's
``ca_bundle`` when its config names one (a coordinator behind a private CA), else
against the system's authorities or ``REQUESTS_CA_BUNDLE``; plain http is
accepted for localhost only, so tests and the demo can run without certificates.
Every call has a timeout and a cap on the size of the answer.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import requests

from ..config import check_coordinator_url
from .errors import CoordinatorRefused, CoordinatorUnavailable

__all__ = ["API", "Answer", "Coordinator", "software"]

API = "/api/v1"
TIMEOUT = (10.0, 60.0)
"""Seconds to connect and to wait for an answer."""
_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\")\]]+)")
MAX_ANSWER = 32 * 1024 * 1024
"""Largest answer read from the coordinator, in bytes: a poll carries a few specs."""


@dataclass(frozen=True)
class Answer:
    """A successful answer: HTTP status and the decoded JSON body."""

    status: int
    body: dict[str, Any]


@functools.cache
def software() -> str:
    """Return what this node runs, as its polls name it (``lhs 0.1.0``)."""
    try:
        return f"lhs {metadata.version('lhs')}"
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "lhs unknown"


class Coordinator:
    """An HTTP client of one coordinator's API."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: tuple[float, float] = TIMEOUT,
        ca_bundle: str | None = None,
    ) -> None:
        self.base_url = check_coordinator_url(base_url)
        self.timeout = timeout
        self.ca_bundle = ca_bundle
        self.session = requests.Session()
        self.session.headers["User-Agent"] = f"lhs-node/{software().partition(' ')[2]}"

    def close(self) -> None:
        """Close the pooled connections."""
        self.session.close()

    def get(self, path: str) -> Answer:
        """GET an API path and return its JSON answer."""
        return self._call("GET", path, None)

    def post(self, path: str, body: bytes) -> Answer:
        """POST JSON bytes (sent exactly as given) to an API path and return its answer."""
        return self._call("POST", path, body)

    def _call(self, method: str, path: str, body: bytes | None) -> Answer:
        url = f"{self.base_url}{API}{path}"
        headers = {"Content-Type": "application/json"} if body is not None else {}
        try:
            with self.session.request(
                method,
                url,
                data=body,
                headers=headers,
                timeout=self.timeout,
                stream=True,
                allow_redirects=False,  # a redirect could lead past the https check
                # Per request: a session's own `verify` loses to REQUESTS_CA_BUNDLE.
                **({"verify": self.ca_bundle} if self.ca_bundle else {}),
            ) as response:
                raw = self._read(response, url)
                status = response.status_code
        except requests.exceptions.SSLError as exc:
            raise CoordinatorUnavailable(
                f"TLS with {self.base_url} failed: {_first_line(exc)}"
            ) from None
        except requests.exceptions.Timeout:
            raise CoordinatorUnavailable(
                f"coordinator {self.base_url} unreachable: no answer within {self.timeout[1]:g}s"
            ) from None
        except requests.exceptions.RequestException as exc:
            raise CoordinatorUnavailable(
                f"coordinator {self.base_url} unreachable: {_reason(exc)}"
            ) from None
        decoded = _decode(raw)
        if 300 <= status < 400:
            raise CoordinatorRefused(
                f"coordinator answered {method} {path} with a redirect (HTTP {status});"
                " set 'coordinator' to the URL it is served at",
                status=status,
                code="redirect",
            )
        if status >= 500:
            raise CoordinatorUnavailable(
                f"coordinator {self.base_url} failed on {method} {path}: HTTP {status}"
                f" {_describe(decoded)}".rstrip()
            )
        if status >= 400:
            code = decoded.get("code", "error") if isinstance(decoded, dict) else "error"
            raise CoordinatorRefused(
                f"coordinator refused {method} {path}: HTTP {status} {_describe(decoded)}".rstrip(),
                status=status,
                code=str(code),
            )
        if not isinstance(decoded, dict):
            raise CoordinatorUnavailable(
                f"coordinator {self.base_url} answered {method} {path} with a body that is not"
                " a JSON object"
            )
        return Answer(status, decoded)

    @staticmethod
    def _read(response: requests.Response, url: str) -> bytes:
        chunks, size = [], 0
        for chunk in response.iter_content(chunk_size=65536):
            size += len(chunk)
            if size > MAX_ANSWER:
                raise CoordinatorUnavailable(f"answer from {url} exceeds {MAX_ANSWER} bytes")
            chunks.append(chunk)
        return b"".join(chunks)


def _decode(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except (ValueError, UnicodeDecodeError):
        return None


def _describe(body: Any) -> str:
    # The protocol's one error shape: {"status", "code", "message"}.
    if isinstance(body, dict) and "message" in body:
        return f"{body.get('code', 'error')}: {body['message']}"
    return ""


def _reason(exc: BaseException) -> str:
    # requests nests the OS error deep inside its message; the errno text is what a person needs.
    text = str(exc)
    found = _ERRNO.search(text)
    if found:
        return found.group(1).strip().lower()
    if "RemoteDisconnected" in text or "Connection aborted" in text:
        return "the connection closed without an answer"
    return _first_line(exc)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
