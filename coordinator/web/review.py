"""The review queue and a spec's page, with the approve and reject forms.

A spec's page shows its text, plain-language explanation, the approved specs one restriction
away (overlap warnings), the difference from its previous version, decisions and rounds.
"""

from __future__ import annotations

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from protocol import explain, parse_spec

from ..accounts.services import CAN_DECIDE
from ..api.http import app_settings, coordinator_key
from ..db import get_session
from ..errors import BadRequest
from ..review import services
from ..rounds.services import list_rounds
from .base import bp, logged_in_user, login_required

__all__ = ["approve", "reject", "review_queue", "spec_page"]


@bp.get("/review")
@login_required(CAN_DECIDE, "review specs")
def review_queue() -> str:
    """List the specs waiting for a decision, oldest first (first come, first reviewed)."""
    user = logged_in_user()
    waiting = services.list_specs(get_session(), user, "submitted")[::-1]
    needed = app_settings().approvals
    rows = [(spec, services.approval_status(spec, user, needed)) for spec in waiting]
    return render_template("review_queue.html", rows=rows)


@bp.get("/specs/<ref>")
@login_required(doing="read specs")
def spec_page(ref: str) -> str:
    """Show one spec with everything a reviewer needs, and the decision forms to a coordinator."""
    user = logged_in_user()
    db = get_session()
    spec = services.visible_spec(db, ref, user)
    parsed = parse_spec(spec.yaml, source=spec.spec_hash)
    before, diff = services.version_diff(db, spec, user)
    rounds = [r for r in list_rounds(db, user) if r["spec_hash"] == spec.spec_hash]
    return render_template(
        "spec.html",
        spec=spec,
        explanation=explain(parsed),
        neighbours=services.approved_neighbours(spec, parsed),
        before=before,
        diff=diff,
        rounds=rounds,
        approval=services.approval_status(spec, user, app_settings().approvals),
    )


def _deadline_days() -> int | None:
    raw = request.form.get("deadline_days", "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise BadRequest("bad_deadline_days", _("The deadline must be a whole number of days."))
    return int(raw)


@bp.post("/specs/<ref>/approve")
@login_required(CAN_DECIDE, "approve specs")
def approve(ref: str) -> Response:
    """Approve with a reason; the last approval needed opens a round."""
    user = logged_in_user()
    db = get_session()
    round_ = services.approve(
        db,
        user,
        ref,
        request.form.get("reason"),
        settings=app_settings(),
        key=coordinator_key(),
        deadline_days=_deadline_days(),
    )
    db.commit()
    if round_ is None:
        flash(_("Your approval is recorded; another coordinator must approve too."))
        return redirect(url_for("web.spec_page", ref=ref))
    flash(_("Approved: round %(id)s is open.", id=round_.id))
    return redirect(url_for("web.round_page", round_id=round_.id))


@bp.post("/specs/<ref>/reject")
@login_required(CAN_DECIDE, "reject specs")
def reject(ref: str) -> Response:
    """Reject with a reason."""
    user = logged_in_user()
    db = get_session()
    services.reject(db, user, ref, request.form.get("reason"))
    db.commit()
    flash(_("Rejected."))
    return redirect(url_for("web.spec_page", ref=ref))
