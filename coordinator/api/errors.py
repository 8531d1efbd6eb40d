"""One error body for every failure: ``{"status", "code", "message"}``.

Flask's own errors (unknown path 404, wrong method 405, body too large 413) get the same
shape as the coordinator's refusals, so a client needs one way to read them all.  A refusal
of a known caller is also written to the audit log with who asked and why; one of a caller
not proven (no or a bad token, a failed login or enrolment) is counted per day and code,
and a failed guess counts against its account and address (``throttle``).
"""

from __future__ import annotations

import logging

from flask import Flask, current_app, g, request
from werkzeug.exceptions import HTTPException

from protocol import MessageInvalid

from ..audit.services import record_refusal
from ..errors import ConfigError, ServiceError, TooManyRequests, refused_message
from ..throttle.services import count_failures, count_refusal

__all__ = ["error_response", "note_refusal", "register_error_handlers"]

log = logging.getLogger(__name__)

_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
}


def error_response(status: int, code: str, message: str) -> tuple[dict[str, object], int]:
    """Return the one error body shape with its status."""
    return {"status": status, "code": code, "message": message}, status


def _http_message(exc: HTTPException) -> str:
    if exc.code == 404:
        return f"no such endpoint: {request.path}"
    if exc.code == 405:
        allowed = (
            ", ".join(sorted(exc.valid_methods or [])) if hasattr(exc, "valid_methods") else ""
        )
        return f"{request.method} is not allowed on {request.path} (allowed: {allowed})"
    if exc.code == 413:
        limit = current_app.config.get("MAX_CONTENT_LENGTH")
        return f"the request body is larger than the limit of {limit} bytes"
    return exc.description or exc.name


def note_refusal(exc: ServiceError) -> None:
    """Roll the request back, then write a refusal to the audit log or count it."""
    session = g.get("db_session")
    if session is not None:
        session.rollback()  # release locks (SQLite) before the refusal is written
    factory = current_app.extensions["lhs_sessions"]
    actor = g.get("lhs_actor") or f"anonymous:{request.remote_addr}"
    log.warning("refused %s %s from %s: %s", request.method, request.path, actor, exc.message)
    if exc.failures:
        count_failures(factory, exc.failures)
    if not g.get("lhs_actor") or exc.failures or exc.status in (401, 429):
        # Nobody proven asked: counted per day, not stored one row each.
        count_refusal(factory, exc.code)
    else:
        record_refusal(
            factory,
            actor,
            "request.refuse",
            exc.subject or f"{request.method} {request.path}",
            code=exc.code,
            message=exc.message,
            status=exc.status,
        )


def _refused(exc: ServiceError) -> tuple[dict[str, object], int]:
    note_refusal(exc)
    body, status = error_response(exc.status, exc.code, exc.message)
    if isinstance(exc, TooManyRequests):
        return body, status, {"Retry-After": str(exc.retry_after)}  # type: ignore[return-value]
    return body, status


def _http(exc: HTTPException) -> tuple[dict[str, object], int]:
    status = exc.code or 500
    code = _CODES.get(status, (exc.name or "error").lower().replace(" ", "_"))
    return error_response(status, code, _http_message(exc))


def _config(exc: ConfigError) -> tuple[dict[str, object], int]:
    log.error("coordinator is not set up: %s", exc)
    return error_response(500, "not_configured", f"the coordinator is not set up: {exc}")


def _internal(exc: Exception) -> tuple[dict[str, object], int]:
    log.exception("unhandled error on %s %s", request.method, request.path)
    return error_response(500, "internal_error", "the coordinator failed; see its log")


def register_error_handlers(app: Flask) -> None:
    """Make every error answer with the one JSON body shape."""
    app.register_error_handler(ServiceError, _refused)
    # A service lets a message's own check speak: its code becomes the refusal's.
    app.register_error_handler(MessageInvalid, lambda exc: _refused(refused_message(exc)))
    app.register_error_handler(HTTPException, _http)
    app.register_error_handler(ConfigError, _config)
    app.register_error_handler(Exception, _internal)
