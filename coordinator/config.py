"""The coordinator's settings: every one listed here with its type, default and meaning.

Each is read from an ``LHS_*`` environment variable, or from the ``test_config`` mapping given
to ``create_app`` (keyed by the setting's name, e.g. ``DATABASE_URL``).  There is no settings
file on purpose: secrets (the coordinator's private key, ``SECRET_KEY``) must never sit in one,
so the key lives in its own 0600 file and ``SECRET_KEY`` comes from the environment or is random.
Defaults put the SQLite database and the key file in Flask's instance folder, which
``LHS_INSTANCE_PATH`` can move.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from protocol import K_FLOOR

from .errors import ConfigError

__all__ = ["SETTINGS", "Setting", "Settings", "load_settings", "secret_key"]


@dataclass(frozen=True)
class Setting:
    """One setting: its name, environment variable, type, default and meaning."""

    name: str
    env: str
    kind: type
    default: Callable[[Path], Any]
    help: str
    minimum: int | None = None


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "DATABASE_URL",
        "LHS_DATABASE_URL",
        str,
        lambda instance: f"sqlite:///{instance / 'coordinator.sqlite3'}",
        "SQLAlchemy URL of the database (SQLite file or postgresql+psycopg://...).",
    ),
    Setting(
        "COORDINATOR_KEY_FILE",
        "LHS_COORDINATOR_KEY_FILE",
        Path,
        lambda instance: instance / "coordinator.key",
        "File of the coordinator's Ed25519 private key (PEM, mode 0600).",
    ),
    Setting(
        "MAX_CONTENT_LENGTH",
        "LHS_MAX_BODY_BYTES",
        int,
        lambda _: 8 * 1024 * 1024,
        "Largest request body accepted, in bytes; larger ones get 413.",
        minimum=1024,
    ),
    Setting(
        "POLL_CLOCK_SKEW",
        "LHS_POLL_CLOCK_SKEW",
        int,
        lambda _: 300,
        "Seconds a node's poll time may differ from the coordinator's clock.",
        minimum=1,
    ),
    Setting(
        "DEADLINE_DAYS",
        "LHS_DEADLINE_DAYS",
        int,
        lambda _: 7,
        "Days a round stays open when the approval names no deadline.",
        minimum=1,
    ),
    Setting(
        "DEFAULT_MIN_CELL",
        "LHS_DEFAULT_MIN_CELL",
        int,
        lambda _: K_FLOOR,
        "Minimum cell size k of a round unless the spec or approval asks for more.",
        minimum=K_FLOOR,
    ),
    Setting(
        "APPROVALS",
        "LHS_APPROVALS",
        int,
        lambda _: 1,
        "Coordinators who must approve a spec, none of them its submitter, before it runs.",
        minimum=1,
    ),
    Setting(
        "ENROLMENT_CODE_HOURS",
        "LHS_ENROLMENT_CODE_HOURS",
        int,
        lambda _: 72,
        "Hours a one-time enrolment code stays valid.",
        minimum=1,
    ),
    Setting(
        "TRUSTED_PROXIES",
        "LHS_TRUSTED_PROXIES",
        int,
        lambda _: 0,
        "Reverse proxies (e.g. nginx) in front of the service whose X-Forwarded-For and"
        " X-Forwarded-Proto are believed; 0 (no proxy) believes none. The client's address"
        " keys the lockout of guessed codes and passwords: behind a proxy, set 1.",
        minimum=0,
    ),
    Setting(
        "SESSION_COOKIE_SECURE",
        "LHS_SERVED_OVER_TLS",
        bool,
        lambda _: False,
        "Whether people reach the web pages over HTTPS (1 or 0): the login cookie is then"
        " sent over TLS only.",
    ),
    Setting(
        "SESSION_HOURS",
        "LHS_SESSION_HOURS",
        int,
        lambda _: 8,
        "Hours a login to the web pages lasts before the person must log in again.",
        minimum=1,
    ),
)


@dataclass(frozen=True)
class Settings:
    """The settings' values, as services receive them (no Flask needed)."""

    database_url: str
    coordinator_key_file: Path
    max_content_length: int
    poll_clock_skew: int
    deadline_days: int
    default_min_cell: int
    approvals: int
    enrolment_code_hours: int
    trusted_proxies: int
    session_cookie_secure: bool
    session_hours: int

    def flask_config(self) -> dict[str, Any]:
        """Return the settings keyed as Flask's config (upper-case names)."""
        return {f.name.upper(): getattr(self, f.name) for f in fields(self)}


_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _convert(setting: Setting, raw: Any, origin: str) -> Any:
    if setting.kind is bool:
        if isinstance(raw, bool):
            return raw
        word = str(raw).strip().lower()
        if word not in _TRUE + _FALSE:
            raise ConfigError(f"{origin}: expected 1 or 0 (true or false), got {raw!r}")
        return word in _TRUE
    if setting.kind is int:
        if isinstance(raw, bool):
            raise ConfigError(f"{origin}: expected a whole number, got {raw!r}")
        try:
            value = int(raw)
        except (TypeError, ValueError):
            raise ConfigError(f"{origin}: expected a whole number, got {raw!r}") from None
        if setting.minimum is not None and value < setting.minimum:
            raise ConfigError(f"{origin}: must be at least {setting.minimum}, got {value}")
        return value
    if setting.kind is Path:
        return Path(raw).expanduser()
    text = str(raw).strip()
    if not text:
        raise ConfigError(f"{origin}: must not be empty")
    return text


def load_settings(
    instance_path: Path,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Read every setting: ``overrides`` first, then the environment, then the default."""
    environ = os.environ if environ is None else environ
    overrides = overrides or {}
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        if setting.name in overrides:
            raw, origin = overrides[setting.name], setting.name
        elif environ.get(setting.env):
            raw, origin = environ[setting.env], setting.env
        else:
            raw, origin = setting.default(instance_path), setting.name
        values[setting.name.lower()] = _convert(setting, raw, origin)
    return Settings(**values)


def secret_key(environ: Mapping[str, str] | None = None) -> str:
    """Return SECRET_KEY from LHS_SECRET_KEY, or a random one (the API keeps no cookies)."""
    environ = os.environ if environ is None else environ
    return environ.get("LHS_SECRET_KEY") or secrets.token_hex(32)
