"""The lhs coordinator: a Flask service that approves queries, runs rounds and keeps results.

``create_app`` is the application factory (as in Flask's tutorial): settings come from
``LHS_*`` environment variables or ``test_config``, the database from ``DATABASE_URL``, and
each area (accounts, registry, review, rounds, aggregation, audit, factsheets, api) adds its
blueprint (``BLUEPRINTS``) under ``/api/v1``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from . import db, i18n, web
from .accounts.views import bp as accounts_bp
from .aggregation.views import bp as aggregation_bp
from .api.errors import register_error_handlers
from .api.views import bp as api_bp
from .audit.views import bp as audit_bp
from .config import load_settings, secret_key
from .cycles.views import bp as cycles_bp
from .factsheets.views import bp as factsheets_bp
from .registry.views import bp as registry_bp
from .review.views import bp as review_bp
from .rounds.views import bp as rounds_bp

__all__ = ["API_PREFIX", "BLUEPRINTS", "create_app"]

API_PREFIX = "/api/v1"

BLUEPRINTS: tuple[Blueprint, ...] = (
    accounts_bp,
    registry_bp,
    review_bp,
    rounds_bp,
    cycles_bp,
    aggregation_bp,
    audit_bp,
    factsheets_bp,
    api_bp,
)
"""Every area's blueprint, registered under ``/api/v1`` in this order."""


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Create the coordinator app; ``test_config`` overrides settings by name."""
    instance = os.environ.get("LHS_INSTANCE_PATH")
    app = Flask(
        __name__,
        instance_path=str(Path(instance).expanduser().resolve()) if instance else None,
    )
    settings = load_settings(Path(app.instance_path), test_config)
    app.config.from_mapping(SECRET_KEY=secret_key(), **settings.flask_config())
    if test_config is not None:
        app.config.from_mapping(test_config)
    app.extensions["lhs_settings"] = settings
    app.json.sort_keys = False  # keep documents (OpenAPI, views) in their written order

    db.init_app(app, settings.database_url)
    if settings.trusted_proxies:
        # Behind nginx: the client's address (which keys the lockouts) and scheme are the proxy's.
        hops = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    i18n.init_app(app)

    register_error_handlers(app)
    for blueprint in BLUEPRINTS:
        # A blueprint's own prefix (e.g. /factsheets) goes under the API's.
        app.register_blueprint(blueprint, url_prefix=API_PREFIX + (blueprint.url_prefix or ""))
    web.init_app(app)  # the pages for people, at the site's root
    return app
