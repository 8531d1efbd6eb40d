"""The coordinator's web pages for people: server-rendered HTML with a session login.

Researchers write, check and submit specs and follow them; coordinators review the queue,
follow rounds node by node, see the nodes and publish factsheets. The pages sit at the
site's root beside the JSON API (``/api/v1``) and use the same services; every form is
protected by a CSRF token, every page by a Content-Security-Policy that allows no script.
"""

from __future__ import annotations

from flask import Flask

from . import auth, errors, nodes, publishing, review, rounds, specs
from .base import bp
from .base import init_app as _init_base

__all__ = ["bp", "init_app"]

# The page modules add their routes to ``bp`` when imported.
_PAGES = (auth, errors, nodes, publishing, review, rounds, specs)


def init_app(app: Flask) -> None:
    """Add the pages to the app at the site's root, with their session and CSRF settings."""
    _init_base(app)
    app.register_blueprint(bp)
