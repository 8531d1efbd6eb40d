"""Serve published factsheets to anyone: the static HTML pages, their JSON twins and PDFs.

The pages are files ``write_factsheets`` wrote into the folder named by the
``LHS_FACTSHEETS_DIR`` app setting (default: ``<instance folder>/factsheets``).
Nothing here reads the database, so this blueprint stands on its own.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, abort, current_app, send_from_directory

__all__ = ["bp", "factsheets_dir"]

bp = Blueprint("factsheets", __name__, url_prefix="/factsheets")

# The pages carry their own CSS and nothing else: forbid every other source outright.
POLICY = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"


def factsheets_dir() -> Path:
    """Return the folder published factsheets are served from."""
    configured = current_app.config.get("LHS_FACTSHEETS_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "factsheets"


@bp.get("/", defaults={"path": "index.html"})
@bp.get("/<path:path>")
def page(path: str) -> Response:
    """Serve one factsheet page, JSON twin or PDF; anything else is not found."""
    if not path.endswith((".html", ".json", ".pdf")):
        abort(404)
    # send_from_directory refuses any path that would leave the folder.
    response = send_from_directory(factsheets_dir(), path, max_age=300)
    response.headers["Content-Security-Policy"] = POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
