"""Languages of the coordinator's pages: Dutch by default, English on request.

Each area with pages keeps its own gettext catalogue beside its code
(``coordinator/<area>/translations/<locale>/LC_MESSAGES/messages.po``, compiled to
``messages.mo`` next to it); Flask-Babel merges them, so two areas never edit one file.
Messages are written in English in the code and templates (``_("...")``); the Dutch
catalogue translates them. After changing a message, refresh the catalogues with

    python -m coordinator.i18n

which extracts every area's messages, updates its catalogues and compiles them.
"""

from __future__ import annotations

import io
import sys
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from flask import Flask, request
from flask_babel import Babel

__all__ = [
    "DEFAULT_LOCALE",
    "LOCALES",
    "SOURCE_LOCALE",
    "catalogue_folders",
    "compiled",
    "init_app",
    "refresh",
    "select_locale",
]

LOCALES = ("nl", "en")
"""The languages pages come in; the first is the default."""

DEFAULT_LOCALE = LOCALES[0]

SOURCE_LOCALE = "en"
"""The language messages are written in; it needs no catalogue."""

PACKAGE = Path(__file__).resolve().parent

# How messages are found: Python calls to _()/gettext()/ngettext() and Jinja2 templates.
METHODS = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
OPTIONS = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "true"}}

FIXED_DATE = datetime(2026, 1, 1, tzinfo=UTC)
"""The date written into every compiled catalogue, so compiling twice gives the same bytes."""


def catalogue_folders() -> list[Path]:
    """Return every area's ``translations`` folder, in a stable order."""
    return sorted(path for path in PACKAGE.glob("*/translations") if path.is_dir())


def select_locale() -> str:
    """Return the request's language: ``?lang=``, else the ``lang`` cookie, else the browser's."""
    for asked in (request.args.get("lang"), request.cookies.get("lang")):
        if asked in LOCALES:
            return asked
    return request.accept_languages.best_match(LOCALES, default=DEFAULT_LOCALE)


def init_app(app: Flask) -> None:
    """Give the app Flask-Babel with every area's catalogue and Dutch as the default."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(map(str, catalogue_folders()))
    # One Babel per app: Flask-Babel caches loaded catalogues on the Babel object.
    Babel(app, locale_selector=select_locale)
    app.jinja_env.policies["ext.i18n.trimmed"] = True


def compiled(po_path: Path) -> bytes:
    """Return the ``.mo`` bytes a ``.po`` catalogue compiles to (fuzzy entries left out)."""
    with po_path.open("rb") as handle:
        catalogue = read_po(handle)
    # Babel stamps the time of reading into the header: a fixed one keeps the bytes the same.
    catalogue.creation_date = catalogue.revision_date = FIXED_DATE
    out = io.BytesIO()
    write_mo(out, catalogue, use_fuzzy=False)
    return out.getvalue()


def _template(area: Path) -> Catalog:
    """Return a catalogue of every message the area's code and templates use."""
    template = Catalog(project="lhs", fuzzy=False)
    for filename, lineno, message, comments, context in extract_from_dir(
        str(area), METHODS, OPTIONS, strip_comment_tags=True
    ):
        template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return template


def refresh(folder: Path) -> list[Path]:
    """Update and compile the catalogues in one ``translations`` folder; return what changed."""
    template = _template(folder.parent)
    changed = []
    for locale in (locale for locale in LOCALES if locale != SOURCE_LOCALE):
        po_path = folder / locale / "LC_MESSAGES" / "messages.po"
        po_path.parent.mkdir(parents=True, exist_ok=True)
        if po_path.exists():
            with po_path.open("rb") as handle:
                catalogue = read_po(handle, locale=locale)
        else:
            catalogue = Catalog(locale=locale, project="lhs")
        catalogue.update(template, no_fuzzy_matching=True)
        before = po_path.read_bytes() if po_path.exists() else b""
        out = io.BytesIO()
        write_po(out, catalogue, omit_header=True, sort_output=True, ignore_obsolete=True)
        if out.getvalue() != before:
            po_path.write_bytes(out.getvalue())
            changed.append(po_path)
        mo_path = po_path.with_suffix(".mo")
        mo_bytes = compiled(po_path)
        if not mo_path.exists() or mo_path.read_bytes() != mo_bytes:
            mo_path.write_bytes(mo_bytes)
            changed.append(mo_path)
    return changed


def main() -> int:
    """Refresh every area's catalogues and list the files written."""
    for folder in catalogue_folders():
        for path in refresh(folder):
            print(path.relative_to(PACKAGE.parent))
    return 0


if __name__ == "__main__":
    sys.exit(main())
