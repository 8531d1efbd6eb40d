"""Render page dicts to HTML in a language, with their charts inlined as SVG.

The templates are written in English with ``_()``; the Dutch catalogue in ``translations/``
translates them (``python -m coordinator.i18n`` refreshes it).  One Jinja2 environment per
language, made once.  Charts are drawn here from the page dict itself, so every number a
chart shows is a number of the JSON twin.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import jinja2
from babel.support import NullTranslations, Translations
from markupsafe import Markup

from . import charts
from .trends import midpoint

__all__ = ["LOCALES", "chart_figures", "chart_svgs", "render_page", "translations"]

LOCALES = ("nl", "en")
"""Factsheets are published in Dutch (the default) and in English."""

HERE = Path(__file__).parent


@functools.cache
def translations(locale: str) -> NullTranslations:
    """Return the factsheets' catalogue of a language (English needs none)."""
    if locale == "en":
        return NullTranslations()
    return Translations.load(str(HERE / "translations"), [locale])


@functools.cache
def _env(locale: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,  # every page, whatever its file name: area names come from people
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(translations(locale), newstyle=False)  # type: ignore[attr-defined]
    env.policies["ext.i18n.trimmed"] = True
    env.filters["count"] = lambda n: f"{n:,}"
    env.filters["pct"] = lambda x: f"{x:.1f}%"
    env.filters["days"] = lambda x: f"{x:.1f}"
    return env


def _series(
    ind: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]
) -> list[Mapping[str, Any] | None]:
    """Return the figure a chart draws of each row: the rate or mean, or the first count."""
    if ind["figure"] == "count":
        first = ind["columns"][0]["name"]
        return [row["counts"][first] for row in rows]
    return [row["figure"] for row in rows]


def _trend(ind: Mapping[str, Any], name: str) -> Any:
    points = ind["trend"]
    xs = [midpoint(p) for p in points]
    marks = [a | {"date_value": date.fromisoformat(a["date"])} for a in ind.get("actions", [])]
    ylabel = "%" if ind["figure"] == "rate" else ""
    rows = [p["row"] for p in points]
    return charts.series_figure(
        xs,
        _series(ind, rows),
        ind["figure"],
        name=name,
        ylabel=ylabel,
        actions=marks,
        labels=[p["row"]["label"] for p in points],
    )


def chart_figures(page: Mapping[str, Any]) -> dict[str, Any]:
    """Return every chart of a page as a matplotlib figure, by its name on the page."""
    out: dict[str, Any] = {}
    if page["kind"] == "benchmark" and page.get("funnel", {}).get("status") == "exact":
        out["funnel"] = charts.funnel_figure(page["funnel"], name="funnel")
    for ind in page.get("indicators", []):
        if ind.get("trend"):
            out[f"{ind['id']}-trend"] = _trend(ind, f"{ind['id']}-trend")
        years = [b for b in ind.get("breakdowns", []) if b["dimension"] == "year"]
        if years and len(years[0]["rows"]) > 1:
            rows = years[0]["rows"]
            out[f"{ind['id']}-year"] = charts.series_figure(
                [int(r["label"]) for r in rows],
                _series(ind, rows),
                ind["figure"],
                name=f"{ind['id']}-year",
                ylabel="%" if ind["figure"] == "rate" else "",
            )
    return out


def chart_svgs(
    page: Mapping[str, Any], drawn: Mapping[str, Any] | None = None
) -> dict[str, Markup]:
    """Return every chart of a page as inline SVG, by its name (the same in every language),
    from its figures ``drawn`` already if given."""
    figures = chart_figures(page) if drawn is None else drawn
    return {name: Markup(charts.to_svg(fig, name)) for name, fig in figures.items()}


def render_page(
    data: Mapping[str, Any],
    *,
    root: str = "",
    twin: str = "",
    locale: str = "nl",
    other: str = "",
    svgs: Mapping[str, Markup] | None = None,
) -> str:
    """Render one page dict to self-contained HTML in ``locale``, charts inlined as SVG.

    ``root`` leads from the page to the index's folder, ``twin`` to its JSON twin and
    ``other`` to the same page in the other language.
    """
    svgs = chart_svgs(data) if svgs is None else svgs
    template = _env(locale).get_template(f"{data['kind']}.html")
    return template.render(page=data, root=root, twin=twin, charts=svgs, locale=locale, other=other)
