"""Charts of factsheets, drawn on the server by matplotlib: SVG for pages, PNG for PDFs.

Every chart draws the figure dicts of its page (the JSON twin), through ``plotted``: an
exact figure is a point with its 95% interval, a range (incomplete) a bar without a point,
and a withheld figure nothing at all (a gap; the table beside the chart says why).  The
SVG is deterministic (no date, ids salted by the chart's name) so a page published twice
is the same file.  Only ``matplotlib.figure.Figure`` is used, never pyplot: no global
state, safe in a threaded server.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from .funnel import limit_curves

__all__ = ["funnel_figure", "plotted", "series_figure", "to_png", "to_svg"]

BLUE, GREY, RED, ORANGE = "#1d4e89", "#8c8c8c", "#b3261e", "#c97a00"


def plotted(figure: Mapping[str, Any] | None, kind: str) -> dict[str, float | None] | None:
    """Return what a chart draws of one figure: value and interval, or a range, or None."""
    if not figure:
        return None
    status = figure.get("status")
    if kind == "rate":
        if status == "exact":
            return {
                "value": figure["rate_pct"],
                "low": figure["ci_low_pct"],
                "high": figure["ci_high_pct"],
            }
        if status == "incomplete":
            return {"value": None, "low": figure["rate_low_pct"], "high": figure["rate_high_pct"]}
    elif kind == "mean":
        if status == "exact":
            return {
                "value": figure["mean"],
                "low": figure.get("ci_low"),
                "high": figure.get("ci_high"),
            }
        if status == "incomplete":
            return {"value": None, "low": figure["mean_low"], "high": figure.get("mean_high")}
    elif kind == "count":
        if status == "exact":
            return {"value": figure["value"], "low": None, "high": None}
        if status == "incomplete":
            return {"value": None, "low": figure["low"], "high": figure.get("high")}
    return None  # withheld, or no cases: nothing is drawn


def _figure(height: float = 2.6) -> tuple[Figure, Any]:
    fig = Figure(figsize=(6.4, height))
    # Fixed margins: a layout engine would double the time a chart takes to draw.
    fig.subplots_adjust(left=0.09, right=0.98, bottom=0.13, top=0.94)
    ax = fig.add_subplot()
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", color="#e2e2e2", linewidth=0.6)
    return fig, ax


def series_figure(
    xs: Sequence[date | int],
    figures: Sequence[Mapping[str, Any] | None],
    kind: str,
    *,
    name: str,
    ylabel: str = "",
    actions: Sequence[Mapping[str, Any]] = (),
    labels: Sequence[str] = (),
) -> Figure:
    """Return a trend chart: one point (with its interval) or range per x (ticks named by
    ``labels``, else the x), action markers.

    Charts carry no words (only numbers, "%" and "A1" for an action), so one drawing
    serves every language; the page says what is drawn."""
    fig, ax = _figure()
    drawn = [plotted(f, kind) for f in figures]
    values = [np.nan if d is None or d["value"] is None else d["value"] for d in drawn]
    exact = [(x, d) for x, d in zip(xs, drawn, strict=True) if d and d["value"] is not None]
    ax.plot(xs, values, color=BLUE, linewidth=1, gid=f"{name}-line")  # NaN: a gap
    ax.plot(
        [x for x, _d in exact],
        [d["value"] for _x, d in exact],
        "o",
        color=BLUE,
        markersize=4,
        gid=f"{name}-points",
    )
    with_ci = [(x, d) for x, d in exact if d["low"] is not None and d["high"] is not None]
    if with_ci:
        ax.vlines(
            [x for x, _d in with_ci],
            [d["low"] for _x, d in with_ci],
            [d["high"] for _x, d in with_ci],
            color=BLUE,
            linewidth=1,
            gid=f"{name}-intervals",
        )
    ranges = [(x, d) for x, d in zip(xs, drawn, strict=True) if d and d["value"] is None]
    if ranges:
        top = max([d["high"] or d["low"] for _x, d in ranges] + [v for v in values if v == v])
        ax.vlines(
            [x for x, _d in ranges],
            [d["low"] for _x, d in ranges],
            [top if d["high"] is None else d["high"] for _x, d in ranges],
            color=ORANGE,
            linewidth=4,
            alpha=0.6,
            gid=f"{name}-ranges",
        )
    for i, action in enumerate(actions, 1):
        ax.axvline(
            action["date_value"], color=RED, linestyle="--", linewidth=1, gid=f"{name}-action-{i}"
        )
        ax.annotate(
            f"A{i}",
            (action["date_value"], 1),
            xycoords=("data", "axes fraction"),
            color=RED,
            fontsize=8,
            ha="left",
            va="top",
        )
    ax.set_ylabel(ylabel, fontsize=8)
    if xs and (labels or isinstance(xs[0], int)):
        ax.set_xticks(list(xs), list(labels) or [str(x) for x in xs])
    ax.tick_params(labelsize=8)
    ends = [v for d in drawn if d for v in (d["value"], d["low"], d["high"]) if v is not None]
    ax.set_ylim(0, 1.1 * max(ends) if ends and max(ends) > 0 else 1)  # room for every point
    return fig


def funnel_figure(funnel: Mapping[str, Any], *, name: str, highlight: str | None = None) -> Figure:
    """Return a funnel plot: providers' rates against volume, national line, both limits."""
    fig, ax = _figure(3.2)
    points = funnel["points"]
    p = funnel["national"]["events"] / funnel["national"]["volume"]
    largest = max([pt["volume"] for pt in points] + [20])
    volumes = np.unique(
        np.geomspace(
            max(1, min(pt["volume"] for pt in points) // 2 or 1), largest * 1.2, 300
        ).astype(int)
    )
    curves = limit_curves(p, volumes)
    for limit, style in (("95", "--"), ("99.8", ":")):
        for side in ("lower", "upper"):
            ax.step(
                volumes,
                100 * curves[f"{side}_{limit}"],
                where="post",
                color=GREY,
                linestyle=style,
                linewidth=1,
                gid=f"{name}-{side}-{limit}",
            )
    ax.axhline(100 * p, color=BLUE, linewidth=1, gid=f"{name}-national")
    ax.plot(
        [pt["volume"] for pt in points],
        [pt["rate_pct"] for pt in points],
        "o",
        color=BLUE,
        markersize=4,
        gid=f"{name}-points",
    )
    mine = [pt for pt in points if pt["node"] == highlight]
    if mine:
        ax.plot(
            [pt["volume"] for pt in mine],
            [pt["rate_pct"] for pt in mine],
            "D",
            color=RED,
            markersize=7,
            gid=f"{name}-highlight",
        )
    ax.set_xlabel("n", fontsize=8)
    ax.set_ylabel("%", fontsize=8)
    ax.set_ylim(bottom=0)
    ax.tick_params(labelsize=8)
    return fig


def to_svg(fig: Figure, name: str) -> str:
    """Return a chart as an inline ``<svg>`` element (no metadata: the same bytes for the same
    chart)."""
    out = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": name, "svg.fonttype": "none"}):
        fig.savefig(
            out, format="svg", metadata=dict.fromkeys(("Date", "Creator", "Format", "Type"))
        )
    text = out.getvalue()
    text = text[text.index("<svg") :]
    # Inline in HTML an <svg> needs no namespaces, and a page names no other site.
    for name in (
        ' xmlns:xlink="http://www.w3.org/1999/xlink"',
        ' xmlns="http://www.w3.org/2000/svg"',
    ):
        text = text.replace(name, "", 1)
    return text.replace("<svg ", '<svg role="img" ', 1)


def to_png(fig: Figure, dpi: int = 200) -> bytes:
    """Return a chart as PNG bytes (for PDF documents)."""
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=dpi, metadata={"Software": None})
    return out.getvalue()
