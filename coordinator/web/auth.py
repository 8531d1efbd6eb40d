"""Log in with a user name and password, log out, and the front door that sends people on."""

from __future__ import annotations

from flask import Response, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from ..accounts.models import User
from ..accounts.services import CAN_DECIDE, check_login
from ..api.errors import note_refusal
from ..audit.services import record
from ..db import get_session
from ..errors import ServiceError, TooManyRequests, Unauthorized
from .base import bp, current_user, safe_next

__all__ = ["login", "logout", "start_page"]


def start_page(user: User) -> str:
    """Return where a person starts: a coordinator at the review queue, others at their specs."""
    # No page at "/": the site's root stays the API's JSON 404.
    return url_for("web.review_queue" if user.role in CAN_DECIDE else "web.my_specs")


def _refused_login(exc: ServiceError) -> tuple[str, int]:
    note_refusal(exc)
    if isinstance(exc, TooManyRequests):
        message = _("Too many failed attempts. Try again in %(seconds)s seconds.",
                    seconds=exc.retry_after)  # fmt: skip
    elif isinstance(exc, Unauthorized):
        # One message for both: the page must not tell which names exist.
        message = _("Wrong user name or password.")
    else:
        message = _("Give your user name and password.")
    name = request.form.get("name", "")[:100]
    return render_template("login.html", error=message, name=name), exc.status


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | str | tuple[str, int]:
    """Show the login form; on a right password start a session and go where asked."""
    target = safe_next(request.args.get("next"))
    if request.method == "GET":
        return render_template("login.html", error=None, name="")
    db = get_session()
    try:
        user = check_login(
            db, request.form.get("name"), request.form.get("password"),
            request.remote_addr or "unknown",
        )  # fmt: skip
    except ServiceError as exc:
        return _refused_login(exc)
    record(db, user.actor, "session.login", user.actor)
    db.commit()
    session.clear()  # nothing of an earlier session carries over into this login
    session.permanent = True
    session["user_id"] = user.id
    return redirect(target or start_page(user))


@bp.post("/logout")
def logout() -> Response:
    """End the session (a form with a CSRF token, so another site cannot log people out)."""
    user = current_user()
    if user is not None:
        db = get_session()
        record(db, user.actor, "session.logout", user.actor)
        db.commit()
    session.clear()
    flash(_("You are logged out."))
    return redirect(url_for("web.login"))
