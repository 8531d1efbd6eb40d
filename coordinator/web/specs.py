"""A researcher's pages: write or upload a spec, check it, read its explanation, submit it.

Then follow what became of it on the spec's page (``review.spec_page``).
"""

from __future__ import annotations

from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from protocol import SpecInvalid, explain, parse_spec, spec_hash

from ..api.errors import note_refusal
from ..db import get_session
from ..errors import BadRequest, ServiceError
from ..review import services
from .base import bp, logged_in_user, login_required

__all__ = ["my_specs", "new_spec"]


@bp.get("/specs")
@login_required(doing="read specs")
def my_specs() -> str:
    """List the specs the person may read (a researcher's own), newest first."""
    user = logged_in_user()
    specs = services.list_specs(get_session(), user)
    return render_template("specs.html", specs=specs)


def _text() -> str:
    """Return the spec text of the form: an uploaded file if one was chosen, else the box."""
    upload = request.files.get("upload")
    if upload is not None and upload.filename:
        try:
            return upload.read().decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest("bad_upload", _("The file is not UTF-8 text.")) from None
    return request.form.get("text", "")


def _checked(text: str) -> dict[str, Any]:
    """Return what the form shows of a text: the problem in one line, or the explanation."""
    if not text.strip():
        return {"error": _("Paste the spec's YAML or choose a file.")}
    try:
        parsed = parse_spec(text, source="spec")
    except SpecInvalid as exc:
        return {"error": str(exc).splitlines()[0]}
    return {"explanation": explain(parsed), "spec_hash": spec_hash(parsed)}


def _form(text: str, status: int = 200, **shown: Any) -> tuple[str, int]:
    shown.setdefault("error", None)
    shown.setdefault("explanation", None)
    shown.setdefault("spec_hash", None)
    return render_template("spec_new.html", text=text, **shown), status


@bp.route("/specs/new", methods=["GET", "POST"])
@login_required(doing="submit specs")
def new_spec() -> Response | tuple[str, int]:
    """Check a spec (showing its problem or its explanation), then submit the checked text."""
    if request.method == "GET":
        return _form("")
    try:
        text = _text()
    except ServiceError as exc:
        note_refusal(exc)
        return _form("", exc.status, error=exc.message)
    checked = _checked(text)
    if "error" in checked:
        return _form(text, 400, **checked)
    if request.form.get("action") != "submit":
        return _form(text, **checked)
    if request.form.get("checked") != checked["spec_hash"]:
        # Only the text whose explanation was shown may be submitted.
        note = _("The text changed since it was checked: read the explanation again.")
        return _form(text, 200, notice=note, **checked)
    return _submit(text, checked)


def _submit(text: str, checked: dict[str, Any]) -> Response | tuple[str, int]:
    user = logged_in_user()
    db = get_session()
    try:
        spec, created = services.submit(db, user, text)
    except ServiceError as exc:
        note_refusal(exc)
        return _form(text, exc.status, error=exc.message, explanation=checked["explanation"])
    db.commit()
    if created:
        flash(_("Submitted: a coordinator will review it."))
    else:
        flash(_("This exact spec was submitted before; here it is."))
    return redirect(url_for("web.spec_page", ref=spec.spec_hash))
