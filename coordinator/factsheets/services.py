"""Factsheets: one static HTML page and its JSON twin per level and area, plus benchmarks.

A round set is a list of (spec, merged result) pairs.  Every page is built
as a plain dict first (``factsheet_data``, ``benchmark_data``, ``index_data``),
then rendered by an autoescaping Jinja2 template into self-contained HTML
(inline CSS, no external assets); the JSON twin is that same dict.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2

from coordinator.merge.model import LEVELS, GroupId

from .benchmark import benchmark_data
from .pages import RoundSet, indicator_data

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
    "national": "National",
    "network": "Palliative care network",
    "zorgkantoor": "Zorgkantoor region",
    "province": "Province",
}

_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,  # every page, whatever its file name: area names come from people
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENV.filters["count"] = lambda n: f"{n:,}"
_ENV.filters["pct"] = lambda x: f"{x:.1f}%"
_ENV.filters["days"] = lambda x: f"{x:.1f}"


def groups_of(round_set: RoundSet) -> list[GroupId]:
    """Return every (level, area) of a round set, levels widest first, areas sorted."""
    found = {group for _, merged in round_set for group in merged.groups}
    return sorted(found, key=lambda g: (LEVELS.index(g[0]), g[1]))


def factsheet_data(
    level: str, area: str, round_set: RoundSet, *, area_name: str | None = None
) -> dict[str, Any]:
    """Return the factsheet of one area: every indicator of the round set."""
    name = area_name or area
    return {
        "kind": "factsheet",
        "level": level,
        "level_label": LEVEL_LABELS[level],
        "area": area,
        "area_name": name,
        "title": "Netherlands" if level == "national" else f"{LEVEL_LABELS[level]} {name}",
        "indicators": [
            indicator_data(spec, merged, merged.groups.get((level, area)))
            for spec, merged in round_set
        ],
    }


def index_data(
    round_set: RoundSet,
    pages: Mapping[GroupId, str],
    *,
    title: str = "lhs factsheets",
    area_names: Mapping[GroupId, str] | None = None,
) -> dict[str, Any]:
    """Return the index: every level's areas (with their page stem) and every benchmark."""
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
                "indicators": len(round_set),
            }
        )
    return {
        "kind": "index",
        "title": title,
        "indicators": [
            {"id": spec.id, "title": spec.title, "page": f"benchmark/{_slug(spec.id)}"}
            for spec, _ in round_set
        ],
        "levels": levels,
    }


def render_html(data: Mapping[str, Any], *, root: str = "", twin: str = "") -> str:
    """Render one page dict (factsheet, benchmark or index) to self-contained HTML.

    ``root`` is the relative path from the page to the index's folder and
    ``twin`` the relative link to its JSON twin.
    """
    return _ENV.get_template(f"{data['kind']}.html").render(page=data, root=root, twin=twin)


def _slug(code: str) -> str:
    # Area codes come from the registry; never let one name a path outside its folder.
    return re.sub(r"[^A-Za-z0-9_-]+", "-", code).strip("-") or "area"


def _write(path: Path, data: Mapping[str, Any], root: str) -> list[Path]:
    path.parent.mkdir(parents=True, exist_ok=True)
    html, twin = path.with_suffix(".html"), path.with_suffix(".json")
    html.write_text(render_html(data, root=root, twin=twin.name), encoding="utf-8")
    twin.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return [html, twin]


def write_factsheets(
    out_dir: Path | str,
    round_set: RoundSet,
    *,
    title: str = "lhs factsheets",
    area_names: Mapping[GroupId, str] | None = None,
) -> list[Path]:
    """Write every area's factsheet, every benchmark and the index (HTML + JSON); return paths.

    ``area_names`` maps (level, area code) to a display name.
    """
    out = Path(out_dir)
    written: list[Path] = []
    pages: dict[GroupId, str] = {}
    taken: set[str] = set()
    for level, area in groups_of(round_set):
        stem, n = f"{level}/{_slug(area)}", 1
        while stem.lower() in taken:  # two codes that slug alike, or differ only in case
            n += 1
            stem = f"{level}/{_slug(area)}-{n}"
        taken.add(stem.lower())
        pages[(level, area)] = stem
        name = (area_names or {}).get((level, area))
        data = factsheet_data(level, area, round_set, area_name=name)
        written += _write(out / stem, data, "../")
    for spec, merged in round_set:
        written += _write(out / "benchmark" / _slug(spec.id), benchmark_data(spec, merged), "../")
    index = index_data(round_set, pages, title=title, area_names=area_names)
    written += _write(out / "index", index, "")
    return written
