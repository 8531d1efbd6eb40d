"""Languages: Dutch by default, English on request; every catalogue complete and compiled."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask import Flask
from flask_babel import Babel, gettext

from coordinator import i18n

CATALOGUES = [
    path
    for folder in i18n.catalogue_folders()
    for path in sorted(folder.glob("*/LC_MESSAGES/messages.po"))
]


def _app() -> Flask:
    app = Flask(__name__)
    i18n.init_app(app)

    @app.get("/")
    def locale() -> str:
        from flask_babel import get_locale

        return str(get_locale())

    return app


@pytest.mark.parametrize(
    ("query", "headers", "expected"),
    [
        ("", {}, "nl"),
        ("", {"Accept-Language": "en-GB,en;q=0.9"}, "en"),
        ("", {"Accept-Language": "de-DE"}, "nl"),
        ("?lang=en", {"Accept-Language": "nl"}, "en"),
        ("?lang=xx", {"Accept-Language": "en"}, "en"),
    ],
)
def test_the_language_is_asked_for_or_dutch(query: str, headers: dict, expected: str) -> None:
    response = _app().test_client().get("/" + query, headers=headers)
    assert response.text == expected


def test_a_cookie_keeps_the_language_chosen() -> None:
    client = _app().test_client()
    client.set_cookie("lang", "en")
    assert client.get("/", headers={"Accept-Language": "nl"}).text == "en"


def test_every_area_with_pages_has_a_dutch_catalogue() -> None:
    areas = {path.parent.name for path in i18n.PACKAGE.glob("*/templates")}
    with_catalogue = {folder.parent.name for folder in i18n.catalogue_folders()}
    assert areas <= with_catalogue, f"no translations folder in {sorted(areas - with_catalogue)}"


@pytest.mark.parametrize("po_path", CATALOGUES, ids=lambda p: str(p.relative_to(i18n.PACKAGE)))
def test_every_catalogue_is_complete_current_and_compiled(po_path: Path) -> None:
    with po_path.open("rb") as handle:
        catalogue = read_po(handle)
    untranslated = [m.id for m in catalogue if m.id and (not m.string or m.fuzzy)]
    assert not untranslated, f"untranslated in {po_path}: {untranslated[:5]}"
    used = {m.id for m in i18n._template(po_path.parents[3])}
    missing = used - {m.id for m in catalogue}
    assert not missing, f"run python -m coordinator.i18n: {sorted(map(str, missing))[:5]}"
    assert po_path.with_suffix(".mo").read_bytes() == i18n.compiled(po_path), (
        "stale .mo: run python -m coordinator.i18n"
    )


def test_a_compiled_catalogue_translates(tmp_path: Path) -> None:
    area = tmp_path / "area"
    (area / "templates").mkdir(parents=True)
    (area / "templates" / "page.html").write_text("{{ _('Round') }}")
    folder = area / "translations"
    folder.mkdir()
    i18n.refresh(folder)
    po_path = folder / "nl" / "LC_MESSAGES" / "messages.po"
    po_path.write_text(po_path.read_text().replace('msgstr ""', 'msgstr "Ronde"'))
    i18n.refresh(folder)
    app = Flask(__name__)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(folder)
    Babel(app, locale_selector=lambda: "nl")
    with app.test_request_context("/"):
        assert gettext("Round") == "Ronde"
