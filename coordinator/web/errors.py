"""Refusals and failures on the pages: an HTML page with the status and a one-line message.

Like the API, a refusal of a known person is written to the audit log, one of nobody proven
is counted per day and code, and a failed password counts against the account and address.
"""

from __future__ import annotations

import logging

from flask import render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from ..api.errors import note_refusal
from ..errors import ConfigError, ServiceError, TooManyRequests
from .base import bp

__all__ = ["error_page"]

log = logging.getLogger(__name__)

Page = tuple[str, int] | tuple[str, int, dict[str, str]]


def error_page(status: int, title: str, message: str) -> tuple[str, int]:
    """Return the error page with its status."""
    return render_template("error.html", status=status, title=title, message=message), status


def _title(status: int) -> str:
    titles = {
        400: _("The request was not understood"),
        401: _("Please log in"),
        403: _("Not allowed"),
        404: _("Not found"),
        409: _("That clashes with what is stored"),
        413: _("Too large"),
        429: _("Too many attempts"),
    }
    return titles.get(status, _("Something went wrong"))


@bp.errorhandler(ServiceError)
def _refused(exc: ServiceError) -> Page:
    note_refusal(exc)
    body, status = error_page(exc.status, _title(exc.status), exc.message)
    if isinstance(exc, TooManyRequests):
        return body, status, {"Retry-After": str(exc.retry_after)}
    return body, status


@bp.errorhandler(CSRFError)
def _csrf(exc: CSRFError) -> Page:
    note_refusal(ServiceError("csrf_failed", exc.description or "CSRF check failed"))
    message = _(
        "This form has expired or did not come from this site. Go back, reload and try again."
    )
    return error_page(400, _title(400), message)


@bp.errorhandler(HTTPException)
def _http(exc: HTTPException) -> Page:
    status = exc.code or 500
    return error_page(status, _title(status), exc.description or exc.name)


@bp.errorhandler(ConfigError)
def _config(exc: ConfigError) -> Page:
    log.error("coordinator is not set up: %s", exc)
    return error_page(500, _title(500), _("The coordinator is not set up: %(why)s", why=str(exc)))


@bp.errorhandler(Exception)
def _internal(exc: Exception) -> Page:
    log.exception("unhandled error on %s %s", request.method, request.path)
    return error_page(500, _title(500), _("The coordinator failed; its log says why."))
