"""Publishing: a coordinator publishes the latest rounds as factsheets.

Anyone logged in lists the published pages and downloads their figures as JSON or CSV.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flask import Response, abort, flash, redirect, render_template, send_file, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from werkzeug.security import safe_join

from ..accounts.services import CAN_DECIDE
from ..audit.services import record
from ..db import get_session
from ..factsheets.publish import latest_rounds, publish_factsheets
from ..factsheets.views import factsheets_dir
from ..rounds.services import round_status
from .base import bp, logged_in_user, login_required
from .tables import page_csv

__all__ = ["download", "publish", "publishing_page"]


def _published_index() -> dict[str, Any] | None:
    path = factsheets_dir() / "index.json"
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


@bp.get("/publishing")
@login_required(doing="read published figures")
def publishing_page() -> str:
    """Show what is published (with downloads) and, to a coordinator, what would be."""
    user = logged_in_user()
    db = get_session()
    pending = []
    if user.role in CAN_DECIDE:
        pending = [round_status(db, round_id) for round_id in latest_rounds(db)]
    return render_template("publishing.html", index=_published_index(), pending=pending)


@bp.post("/publishing")
@login_required(CAN_DECIDE, "publish factsheets")
def publish() -> Response:
    """Protect, merge and write the latest answered round of every query as factsheets."""
    user = logged_in_user()
    db = get_session()
    rounds = latest_rounds(db)
    if not rounds:
        flash(_("Nothing to publish yet: no round has results."))
        return redirect(url_for("web.publishing_page"))
    written = publish_factsheets(db, factsheets_dir(), rounds)
    pages = sum(1 for path in written if path.suffix == ".html")
    record(db, user.actor, "factsheets.publish", "factsheets", rounds=rounds, pages=pages)
    db.commit()
    flash(
        ngettext(
            "Published %(pages)s pages from %(num)s round.",
            "Published %(pages)s pages from %(num)s rounds.",
            len(rounds),
            pages=pages,
        )
    )
    return redirect(url_for("web.publishing_page"))


def _twin(stem: str) -> Path:
    """Return the JSON twin a page stem names inside the published folder, or 404."""
    joined = safe_join(str(factsheets_dir()), f"{stem}.json")
    if joined is None or not Path(joined).is_file():
        abort(404, description=_("No published page is called %(stem)s.", stem=stem))
    return Path(joined)


@bp.get("/published/<path:stem>.<any(json, csv):kind>")
@login_required(doing="download published figures")
def download(stem: str, kind: str) -> Response:
    """Download a published page's figures as its JSON twin or as CSV."""
    path = _twin(stem)
    name = stem.replace("/", "-")
    if kind == "json":
        return send_file(path, mimetype="application/json", as_attachment=True,
                         download_name=f"{name}.json")  # fmt: skip
    page = json.loads(path.read_text(encoding="utf-8"))
    return Response(
        page_csv(page),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )
