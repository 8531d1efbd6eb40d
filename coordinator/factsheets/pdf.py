"""PDF documents from the same page dicts as the HTML: each factsheet, and a provider's
mirror-meeting pack (its place in every funnel plot, its trends, its actions).

Built with reportlab (pure Python wheels); charts are the pages' own matplotlib charts as
PNG images, drawn once for both languages.  ``invariant`` keeps a document the same bytes
when its data are the same.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.platypus import Image, PageBreak, Paragraph, SimpleDocTemplate, Table
from reportlab.platypus.flowables import Flowable

from . import charts
from .render import chart_figures, translations
from .trends import midpoint

__all__ = ["factsheet_pdf", "figure_text", "pack_pictures", "pictures", "provider_pack"]

Text = Callable[[str], str]
_STYLES = getSampleStyleSheet()
WIDTH = 17 * cm


def figure_text(fig: Mapping[str, Any] | None, kind: str, _: Text) -> str:
    """Return a figure as a line of text, as the HTML page shows it."""
    if not fig:
        return "–"
    status = fig.get("status")
    if status == "withheld":
        return _("withheld") + ": " + _(fig.get("reason", ""))
    if status == "no_cases":
        return _("no cases")
    if kind == "rate" and status == "exact":
        ci = f"{fig['ci_low_pct']:.1f}%–{fig['ci_high_pct']:.1f}%"
        return f"{fig['rate_pct']:.1f}% (" + _("95% CI") + f" {ci})"
    if kind == "rate":
        return f"{fig['rate_low_pct']:.1f}%–{fig['rate_high_pct']:.1f}% (" + _("incomplete") + ")"
    unit = "" if "unit" in fig else " " + _("days")
    if kind == "mean" and status == "exact":
        label = _("95% CI")
        ci = f" ({label} {fig['ci_low']:.1f}–{fig['ci_high']:.1f})" if "ci_low" in fig else ""
        return f"{fig['mean']:.1f}{unit}{ci}"
    if kind == "mean":
        high = "" if fig.get("mean_high") is None else f"–{fig['mean_high']:.1f}"
        return f"{fig['mean_low']:.1f}{high}{unit} (" + _("incomplete") + ")"
    if status == "exact":
        return f"{fig['value']:,}"
    high = "…" if fig.get("high") is None else f"–{fig['high']:,}"
    return f"{fig['low']:,}{high}"


def _row_text(row: Mapping[str, Any], ind: Mapping[str, Any], _: Text) -> str:
    if row.get("figure") is not None:
        return figure_text(row["figure"], ind["figure"], _)
    return figure_text(row["counts"][ind["columns"][0]["name"]], "count", _)


def _p(text: str, style: str = "BodyText") -> Paragraph:
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return Paragraph(escaped, _STYLES[style])


def _table(rows: Sequence[Sequence[str]]) -> Table:
    table = Table([[_p(c) for c in row] for row in rows], hAlign="LEFT", repeatRows=1)
    table.setStyle(
        [("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.grey), ("VALIGN", (0, 0), (-1, -1), "TOP")]
    )
    return table


Pictures = Mapping[str, tuple[bytes, float]]
"""Charts as PNG bytes with their height over width, by name."""


def pictures(page: Mapping[str, Any], drawn: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Return every chart of a page as PNG (drawn once, for a PDF in each language), from
    its figures ``drawn`` already if given."""
    figures = chart_figures(page) if drawn is None else drawn
    return {name: _png(fig) for name, fig in figures.items()}


def _png(fig: Any) -> tuple[bytes, float]:
    width, height = fig.get_size_inches()
    return charts.to_png(fig, dpi=90), height / width


def _image(picture: tuple[bytes, float]) -> Image:
    png, ratio = picture
    return Image(io.BytesIO(png), width=WIDTH, height=WIDTH * ratio)


def _document(story: list[Flowable], title: str) -> bytes:
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        title=title,
        author="lhs",
        invariant=1,
        leftMargin=2 * cm,
        rightMargin=2 * cm,
        topMargin=1.8 * cm,
        bottomMargin=1.8 * cm,
    )
    doc.build(story)
    return out.getvalue()


def _heading(page: Mapping[str, Any], _: Text) -> str:
    if page["level"] == "national":
        return _("Netherlands")
    return f"{_(page['level_label'])} {page['area_name']}"


def factsheet_pdf(
    page: Mapping[str, Any], locale: str = "nl", figures: Pictures | None = None
) -> bytes:
    """Return one area's factsheet as a PDF: per indicator its figure, charts and tables
    (``figures``: its charts from ``pictures``, else drawn here)."""
    _ = translations(locale).gettext
    figures = pictures(page) if figures is None else figures
    story: list[Flowable] = [_p(_heading(page, _), "Title")]
    for ind in page["indicators"]:
        story += [_p(ind["title"], "Heading2"), _p(ind["description"])]
        if ind["withheld"]:
            story.append(_p(_("Withheld:") + f" {_(ind['withheld'])}."))
            continue
        story.append(_p(_("All") + f": {_row_text(ind['overall'], ind, _)}", "Heading4"))
        if f"{ind['id']}-year" in figures:
            story += [_p(_("By year"), "Heading4"), _image(figures[f"{ind['id']}-year"])]
        rows: list[list[str]] = []
        for b in ind["breakdowns"]:
            rows += [[f"{_(b['label'])}: {_(r['label'])}", _row_text(r, ind, _)] for r in b["rows"]]
        story.append(_table([["", _(ind["figure_label"]) or ind["columns"][0]["label"]], *rows]))
        if ind.get("trend"):
            story += _trend(ind, figures[f"{ind['id']}-trend"], _)
    return _document(story, _heading(page, _))


def _trend(ind: Mapping[str, Any], fig: tuple[bytes, float], _: Text) -> list[Flowable]:
    rows = [
        [
            f"{p['period_start']} – {p['period_end']}",
            str(p["round_id"]),
            _row_text(p["row"], ind, _),
        ]
        for p in ind["trend"]
    ]
    story: list[Flowable] = [_p(_("Trend across the cycle's rounds"), "Heading4"), _image(fig)]
    story.append(_table([[_("Period"), _("Round"), _(ind["figure_label"])], *rows]))
    for a in ind.get("actions", []):
        story.append(_p(f"{a['marker']} {a['date']}: {a['text']}"))
    return story


def _marks(actions: Sequence[Mapping[str, Any]], node_id: str, query_id: str) -> list[dict]:
    mine = [a for a in actions if a.get("node") == node_id]
    return [
        {**a, "marker": f"A{i}", "date_value": date.fromisoformat(a["date"])}
        for i, a in enumerate(mine, 1)
        if a.get("query") in (None, query_id)
    ]


def pack_pictures(
    node_id: str,
    benchmarks: Sequence[Mapping[str, Any]],
    trends: Mapping[str, list[dict[str, Any]]],
    actions: Sequence[Mapping[str, Any]],
) -> dict[str, tuple[bytes, float]]:
    """Return a provider's charts as PNG: each funnel with it highlighted, each trend."""
    out = {}
    for page in benchmarks:
        if page.get("funnel", {}).get("status") == "exact":
            fig = charts.funnel_figure(page["funnel"], name="f", highlight=node_id)
            out[f"{page['id']}-funnel"] = _png(fig)
        points = trends.get(page["id"], [])
        if points:
            fig = charts.series_figure(
                [midpoint(p) for p in points],
                [p["row"]["figure"] for p in points],
                page["figure"],
                name="trend",
                ylabel="%" if page["figure"] == "rate" else "",
                actions=_marks(actions, node_id, page["id"]),
                labels=[p["row"]["label"] for p in points],
            )
            out[f"{page['id']}-trend"] = _png(fig)
    return out


def provider_pack(
    node_id: str,
    organisation: str,
    benchmarks: Sequence[Mapping[str, Any]],
    trends: Mapping[str, list[dict[str, Any]]],
    actions: Sequence[Mapping[str, Any]],
    locale: str = "nl",
    figures: Pictures | None = None,
) -> bytes:
    """Return a provider's mirror-meeting pack: its place in every funnel plot (highlighted),
    its own figure per round of each cycle, and its improvement actions (``figures``: its
    charts from ``pack_pictures``, else drawn here)."""
    _ = translations(locale).gettext
    if figures is None:
        figures = pack_pictures(node_id, benchmarks, trends, actions)
    title = _("Mirror-meeting pack") + f": {organisation}"
    mine = [a for a in actions if a.get("node") == node_id]
    story: list[Flowable] = [_p(title, "Title"), _p(_("Improvement actions"), "Heading2")]
    story += [_p(f"A{i} {a['date']}: {a['text']}") for i, a in enumerate(mine, 1)] or [_p("–")]
    for page in benchmarks:
        story += [PageBreak(), _p(page["title"], "Heading2")]
        row = next((r for r in page["providers"] if r["node"] == node_id), None)
        story.append(_p(f"{organisation}: {_row_text(row, page, _) if row else '–'}", "Heading4"))
        funnel = page.get("funnel", {})
        if f"{page['id']}-funnel" in figures:
            story.append(_image(figures[f"{page['id']}-funnel"]))
            point = next((p for p in funnel["points"] if p["node"] == node_id), None)
            where = (
                _(point["position_label"]) if point else _("withheld by the provider: not plotted")
            )
            story.append(_p(_("Funnel plot") + f": {where}"))
        elif funnel:
            story.append(_p(_("No funnel plot:") + f" {_(funnel['reason'])}."))
        if f"{page['id']}-trend" in figures:
            story.append(_p(_("Each round's figure of a provider counts all its data then.")))
            ind = {
                **page,
                "trend": trends[page["id"]],
                "actions": _marks(actions, node_id, page["id"]),
            }
            story += _trend(ind, figures[f"{page['id']}-trend"], _)
    return _document(story, title)
