"""Factsheets: one static HTML page and its JSON twin per level and area, plus benchmarks,
improvement actions' before-and-after pages and PDF documents.

A round set is a list of (spec, merged result) pairs.  Every page is built as a plain dict
first (``factsheet_data``, ``benchmark_data``, ``action_data``, ``index_data``), then
rendered by an autoescaping Jinja2 template into self-contained HTML (inline CSS and
inline SVG charts, no external assets) in Dutch, with an English copy under ``en/``; the
JSON twin is that same dict, and the PDFs are built from it too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from coordinator.merge.model import LEVELS, GroupId

from .benchmark import benchmark_data
from .documents import pack_name, write_pdfs
from .funnel import funnel_data
from .messages import N_
from .pages import RoundSet, indicator_data
from .pdf import pictures
from .render import LOCALES, chart_figures, chart_svgs, render_page
from .trends import SeriesRound, action_data, area_trend

Series = Mapping[str, Sequence[SeriesRound]]
"""The rounds of every cycle, by query id, oldest period first."""

__all__ = [
    "LEVEL_LABELS",
    "benchmark_data",
    "factsheet_data",
    "groups_of",
    "index_data",
    "render_html",
    "write_factsheets",
]

LEVEL_LABELS = {
    "national": N_("National"),
    "network": N_("Palliative care network"),
    "zorgkantoor": N_("Zorgkantoor region"),
    "province": N_("Province"),
}


def groups_of(round_set: RoundSet) -> list[GroupId]:
    """Return every (level, area) of a round set, levels widest first, areas sorted."""
    found = {group for _, merged in round_set for group in merged.groups}
    return sorted(found, key=lambda g: (LEVELS.index(g[0]), g[1]))


def _marks(actions: Sequence[Mapping[str, Any]], query_id: str) -> list[dict[str, Any]]:
    """Return the actions shown on one indicator's trend, numbered as on the chart."""
    mine = [a for a in actions if a.get("query") in (None, query_id)]
    return [{**a, "marker": f"A{i}"} for i, a in enumerate(mine, 1)]


def factsheet_data(
    level: str,
    area: str,
    round_set: RoundSet,
    *,
    area_name: str | None = None,
    series: Series | None = None,
    actions: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """Return the factsheet of one area: every indicator of the round set, with its trend
    across its cycle's rounds and the area's improvement actions on it."""
    name = area_name or area
    here = [a for a in actions if (a.get("level"), a.get("area")) == (level, area)]
    indicators = []
    for spec, merged in round_set:
        ind = indicator_data(spec, merged, merged.groups.get((level, area)))
        rounds = (series or {}).get(spec.id, ())
        ind["trend"] = area_trend(rounds, (level, area)) if rounds else []
        ind["actions"] = _marks(here, spec.id) if rounds else []
        indicators.append(ind)
    return {
        "kind": "factsheet",
        "level": level,
        "level_label": LEVEL_LABELS[level],
        "area": area,
        "area_name": name,
        "title": N_("Netherlands") if level == "national" else f"{LEVEL_LABELS[level]} {name}",
        "indicators": indicators,
    }


def index_data(
    round_set: RoundSet,
    pages: Mapping[GroupId, str],
    *,
    title: str = "lhs factsheets",
    area_names: Mapping[GroupId, str] | None = None,
    series: Series | None = None,
    actions: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """Return the index: every level's areas (with their page stem), every benchmark, the
    cycles' periods and the improvement actions."""
    levels: list[dict[str, Any]] = []
    for level, area in groups_of(round_set):
        if not levels or levels[-1]["level"] != level:
            levels.append({"level": level, "label": LEVEL_LABELS[level], "areas": []})
        published = sum(
            1 for _, merged in round_set if (g := merged.groups.get((level, area))) and g.published
        )
        levels[-1]["areas"].append(
            {
                "area": area,
                "name": (area_names or {}).get((level, area), area),
                "page": pages[(level, area)],
                "indicators_published": published,
                "pdf": f"{pages[(level, area)].replace('/', '-')}.pdf",
                "indicators": len(round_set),
            }
        )
    cycles: dict[str, dict[str, Any]] = {}
    for query_id, rounds in sorted((series or {}).items()):
        for r in rounds:
            cycle = cycles.setdefault(r.cycle, {"name": r.cycle, "queries": [], "periods": []})
            if query_id not in cycle["queries"]:
                cycle["queries"].append(query_id)
            if r.period_start.isoformat() not in cycle["periods"]:
                cycle["periods"].append(r.period_start.isoformat())
    return {
        "kind": "index",
        "title": title,
        "indicators": [
            {"id": spec.id, "title": spec.title, "page": f"benchmark/{_slug(spec.id)}"}
            for spec, _ in round_set
        ],
        "levels": levels,
        "cycles": [c | {"periods": sorted(c["periods"])} for c in cycles.values()],
        "actions": [a | {"page": f"actions/{a['id']}"} for a in actions],
    }


def render_html(
    data: Mapping[str, Any], *, root: str = "", twin: str = "", locale: str = "nl"
) -> str:
    """Render one page dict (factsheet, benchmark, action or index) to self-contained HTML.

    ``root`` is the relative path from the page to the index's folder and
    ``twin`` the relative link to its JSON twin; Dutch unless ``locale`` says otherwise.
    """
    return render_page(data, root=root, twin=twin, locale=locale)


def _slug(code: str) -> str:
    # Area codes come from the registry; never let one name a path outside its folder.
    return re.sub(r"[^A-Za-z0-9_-]+", "-", code).strip("-") or "area"


def _write(
    out: Path, stem: str, data: Mapping[str, Any], drawn: Mapping[str, Any] | None = None
) -> list[Path]:
    """Write a page in every language (Dutch at ``stem``, English under ``en/``) and its
    JSON twin beside each (``drawn``: its charts' figures, if drawn already)."""
    written = []
    depth = stem.count("/")
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    svgs = chart_svgs(data, drawn)  # charts have no words: drawn once for both languages
    for locale in LOCALES:
        folder = out if locale == LOCALES[0] else out / locale
        up = "../" * (depth + (locale != LOCALES[0]))
        other = f"{'../' * depth}en/{stem}.html" if locale == LOCALES[0] else f"{up}{stem}.html"
        html, twin = folder / f"{stem}.html", folder / f"{stem}.json"
        html.parent.mkdir(parents=True, exist_ok=True)
        root = "../" * depth
        html.write_text(
            render_page(data, root=root, twin=twin.name, locale=locale, other=other, svgs=svgs),
            encoding="utf-8",
        )
        twin.write_text(text, encoding="utf-8")
        written += [html, twin]
    return written


def write_factsheets(
    out_dir: Path | str,
    round_set: RoundSet,
    *,
    title: str = "lhs factsheets",
    area_names: Mapping[GroupId, str] | None = None,
    series: Series | None = None,
    actions: Sequence[Mapping[str, Any]] = (),
) -> list[Path]:
    """Write every area's factsheet, every benchmark, every action's before-and-after page
    and the index (HTML in Dutch and English + JSON); return the paths.

    ``area_names`` maps (level, area code) to a display name; ``series`` holds the rounds
    of each cycle by query id; ``actions`` the improvement actions (``action_view``).
    """
    out = Path(out_dir)
    written: list[Path] = []
    pages: dict[GroupId, str] = {}
    taken: set[str] = set()
    factsheets, benchmarks = [], []
    for level, area in groups_of(round_set):
        stem, n = f"{level}/{_slug(area)}", 1
        while stem.lower() in taken:  # two codes that slug alike, or differ only in case
            n += 1
            stem = f"{level}/{_slug(area)}-{n}"
        taken.add(stem.lower())
        pages[(level, area)] = stem
        name = (area_names or {}).get((level, area))
        data = factsheet_data(
            level, area, round_set, area_name=name, series=series, actions=actions
        )
        data["pdf"] = f"{stem.replace('/', '-')}.pdf"
        drawn = chart_figures(data)  # for the page and its PDF alike
        factsheets.append((data, pictures(data, drawn)))
        written += _write(out, stem, data, drawn)
    for spec, merged in round_set:
        page = benchmark_data(spec, merged)
        page["funnel"] = funnel_data(page)
        benchmarks.append(page)
        written += _write(out, f"benchmark/{_slug(spec.id)}", page)
    for action in actions:
        written += _write(out, f"actions/{action['id']}", action_data(action, series or {}))
    index = index_data(
        round_set, pages, title=title, area_names=area_names, series=series, actions=actions
    )
    providers = {r["node"]: r["organisation"] for b in benchmarks for r in b["providers"]}
    index["packs"] = [
        {"node": node, "organisation": org, "pdf": pack_name(node)}
        for node, org in sorted(providers.items())
    ]
    written += _write(out, "index", index)
    written += write_pdfs(out, factsheets, benchmarks, series or {}, actions)
    return written
