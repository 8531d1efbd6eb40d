"""What every page shares: the blueprint, CSRF, the logged-in person, headers and languages.

Pages log people in with a session cookie (HttpOnly, SameSite=Lax, Secure over TLS); every
form that changes something carries a CSRF token, checked before the view runs. The JSON
API is left alone: it authenticates with tokens, never cookies, so it needs no CSRF token.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, ParamSpec, TypeVar
from urllib.parse import urlencode

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    g,
    redirect,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFProtect

from ..accounts.models import User
from ..accounts.services import CAN_DECIDE, CAN_READ, require_role
from ..api.http import set_actor
from ..db import get_session
from ..i18n import LOCALES

__all__ = [
    "POLICY",
    "bp",
    "csrf",
    "current_user",
    "init_app",
    "label",
    "logged_in_user",
    "login_required",
    "safe_next",
]

bp = Blueprint(
    "web",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/web-static",
)
csrf = CSRFProtect()

POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self';"
    " base-uri 'none'; frame-ancestors 'none'"
)
"""Pages load their own stylesheet and nothing else: no script, no other site."""

P = ParamSpec("P")
R = TypeVar("R")


def init_app(app: Flask) -> None:
    """Set the session cookie and CSRF up for the pages, leaving the JSON API without CSRF."""
    settings = app.extensions["lhs_settings"]
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.session_cookie_secure,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.session_hours),
        # Only this blueprint checks tokens (``_check_csrf``); the token API has no cookies.
        WTF_CSRF_CHECK_DEFAULT=False,
        # A token lives as long as the login, so a form left open for an hour still works.
        WTF_CSRF_TIME_LIMIT=None,
    )
    csrf.init_app(app)


def current_user() -> User | None:
    """Return the person logged in to this request's session, or None."""
    if "web_user" not in g:
        user_id = session.get("user_id")
        g.web_user = get_session().get(User, user_id) if isinstance(user_id, int) else None
    return g.web_user


def logged_in_user() -> User:
    """Return the person a ``login_required`` view serves (the decorator made sure of one)."""
    user = current_user()
    assert user is not None, "only for views behind login_required"
    return user


def safe_next(target: str | None) -> str | None:
    """Return ``target`` if it is a path on this site (never another site), else None."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


def login_required(
    allowed: frozenset[str] = CAN_READ, doing: str = "see this page"
) -> Callable[[Callable[P, R]], Callable[P, R | Response]]:
    """Send people who are not logged in to the login page; refuse a role not ``allowed``."""

    def decorate(view: Callable[P, R]) -> Callable[P, R | Response]:
        @functools.wraps(view)
        def wrapped(*args: P.args, **kwargs: P.kwargs) -> R | Response:
            user = current_user()
            if user is None:
                target = request.full_path.rstrip("?") if request.method == "GET" else None
                return redirect(url_for("web.login", next=safe_next(target)))
            require_role(user, allowed, doing)
            return view(*args, **kwargs)

        return wrapped

    return decorate


@bp.before_request
def _identify() -> None:
    user = current_user()
    if user is not None:
        set_actor(user.actor)  # refusals of this request are recorded against the person


@bp.before_request
def _check_csrf() -> None:
    csrf.protect()


def _lang_url(code: str) -> str:
    args = {**request.args.to_dict(), "lang": code}
    return f"{request.path}?{urlencode(args)}"


@bp.app_template_filter("when")
def when_filter(moment: datetime | str | None) -> str:
    """Format a time (or the protocol's text of one) as pages show it: UTC, to the minute."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "—"


def label(word: str) -> str:
    """Return a role, status, result scope or level as the page's language names it."""
    words = {
        "researcher": _("researcher"),
        "coordinator": _("coordinator"),
        "admin": _("admin"),
        "submitted": _("submitted"),
        "approved": _("approved"),
        "rejected": _("rejected"),
        "open": _("open"),
        "complete": _("complete"),
        "expired": _("expired"),
        "headline": _("headline (secure aggregation)"),
        "cube": _("whole protected cube"),
        "national": _("National"),
        "network": _("Palliative care network"),
        "zorgkantoor": _("Zorgkantoor region"),
        "province": _("Province"),
    }
    return words.get(word, word)


@bp.context_processor
def _page_context() -> dict[str, Any]:
    user = current_user()
    return {
        "user": user,
        "may_decide": user is not None and user.role in CAN_DECIDE,
        "locale": str(get_locale()),
        "locales": LOCALES,
        "lang_url": _lang_url,
        "label": label,
    }


@bp.after_request
def _headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    if response.mimetype == "text/html":
        response.headers["Cache-Control"] = "no-store"  # pages name people and specs
    asked = request.args.get("lang")
    if asked in LOCALES:
        response.set_cookie(
            "lang",
            asked,
            max_age=365 * 24 * 3600,
            httponly=True,
            samesite="Lax",
            secure=current_app.config["SESSION_COOKIE_SECURE"],
        )
    return response
