"""The lhs coordinator: a Flask service that approves queries, runs rounds and keeps results.

``create_app`` is the application factory (as in Flask's tutorial): settings come from
``LHS_*`` environment variables or ``test_config``, the database from ``DATABASE_URL``, and
each area (accounts, registry, review, rounds, audit, api) adds its blueprint under
``/api/v1``.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from . import db
from .config import load_settings, secret_key

__all__ = ["API_PREFIX", "create_app"]

API_PREFIX = "/api/v1"

_BLUEPRINTS = (
    "coordinator.accounts.views",
    "coordinator.registry.views",
    "coordinator.review.views",
    "coordinator.rounds.views",
    "coordinator.aggregation.views",
    "coordinator.audit.views",
    "coordinator.api.views",
)
# Built by another area; registered when present so this factory does not depend on it.
_OPTIONAL_BLUEPRINTS = ("coordinator.factsheets.views",)


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

    from .api.errors import register_error_handlers

    register_error_handlers(app)
    for name in _BLUEPRINTS:
        _register(app, importlib.import_module(name).bp)
    for name in _OPTIONAL_BLUEPRINTS:
        package = name.rpartition(".")[0]
        if importlib.util.find_spec(package) and importlib.util.find_spec(name):
            _register(app, importlib.import_module(name).bp)
    return app


def _register(app: Flask, blueprint: Any) -> None:
    # A blueprint's own prefix (e.g. /factsheets) goes under the API's.
    app.register_blueprint(blueprint, url_prefix=API_PREFIX + (blueprint.url_prefix or ""))
