"""API of secure aggregation: members upload signed keys and masked shares."""

from __future__ import annotations

from flask import Blueprint

from ..api.http import signed_upload, upload_answer
from ..db import get_session
from . import messages

bp = Blueprint("aggregation", __name__)


@bp.post("/aggregation")
def upload() -> tuple[dict, int]:
    """Store a member's signed key or share: 201 when stored, 200 when it repeats one."""
    session = get_session()
    message, duplicate = messages.store_message(session, signed_upload())
    session.commit()
    row = message.attempt_row
    answer = {
        "round_id": row.round_id,
        "group": [row.level, row.area],
        "attempt": row.attempt,
        "kind": message.kind,
    }
    return upload_answer(answer, duplicate)
