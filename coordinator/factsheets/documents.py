"""Write the PDF documents of a publication: each factsheet and each provider's pack.

Dutch documents go to ``pdf/`` beside the Dutch pages, English ones to ``en/pdf/``; each is
built from the very page dicts the HTML and its JSON twin hold.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .pdf import Pictures, factsheet_pdf, pack_pictures, provider_pack
from .render import LOCALES
from .trends import SeriesRound, provider_trend

__all__ = ["pack_name", "write_pdfs"]


def pack_name(node_id: str) -> str:
    """Return the file name of a provider's mirror-meeting pack."""
    return f"pack-{node_id}.pdf"


def _folder(out: Path, locale: str) -> Path:
    folder = (out if locale == LOCALES[0] else out / locale) / "pdf"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def write_pdfs(
    out: Path,
    factsheets: Sequence[tuple[Mapping[str, Any], Pictures]],
    benchmarks: Sequence[Mapping[str, Any]],
    series: Mapping[str, Sequence[SeriesRound]],
    actions: Sequence[Mapping[str, Any]],
) -> list[Path]:
    """Write every factsheet (named by its ``pdf``, with its charts as PNG) and every
    provider's pack, in each language; return the paths."""
    written = []
    for page, drawn in factsheets:
        for locale in LOCALES:
            path = _folder(out, locale) / page["pdf"]
            path.write_bytes(factsheet_pdf(page, locale, drawn))
            written.append(path)
    providers = {r["node"]: r["organisation"] for b in benchmarks for r in b["providers"]}
    for node_id, organisation in sorted(providers.items()):
        trends = {query: provider_trend(rounds, node_id) for query, rounds in series.items()}
        # Charts have no words: drawn once for both languages.
        drawn = pack_pictures(node_id, benchmarks, trends, actions)
        for locale in LOCALES:
            path = _folder(out, locale) / pack_name(node_id)
            pdf = provider_pack(
                node_id, organisation, benchmarks, trends, actions, locale, figures=drawn
            )
            path.write_bytes(pdf)
            written.append(path)
    return written
