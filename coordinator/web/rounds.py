"""Rounds: every round with its status, and one round's progress node by node."""

from __future__ import annotations

from flask import render_template

from ..db import get_session
from ..rounds.services import list_rounds, visible_round
from .base import bp, logged_in_user, login_required
from .progress import node_progress

__all__ = ["round_page", "rounds_page"]


@bp.get("/rounds")
@login_required(doing="read rounds")
def rounds_page() -> str:
    """List the rounds the person may read, newest first."""
    user = logged_in_user()
    return render_template("rounds.html", rounds=list_rounds(get_session(), user))


@bp.get("/rounds/<int:round_id>")
@login_required(doing="read rounds")
def round_page(round_id: int) -> str:
    """Show one round: its spec, k, deadline, and where each node is."""
    user = logged_in_user()
    db = get_session()
    status = visible_round(db, round_id, user)
    # The API shows a researcher the same per-node states of their own round.
    return render_template("round.html", round=status, rows=node_progress(db, round_id))
