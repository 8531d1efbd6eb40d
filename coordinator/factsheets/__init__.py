"""Factsheets per level and area, open benchmarks and their JSON twins."""

from .benchmark import WITHHELD_BY_PROVIDER, benchmark_data
from .figures import count_figure, mean_figure, rate_figure, wilson
from .pages import RoundSet, indicator_data
from .services import (
    LEVEL_LABELS,
    factsheet_data,
    groups_of,
    index_data,
    render_html,
    write_factsheets,
)

__all__ = [
    "LEVEL_LABELS",
    "WITHHELD_BY_PROVIDER",
    "RoundSet",
    "benchmark_data",
    "count_figure",
    "factsheet_data",
    "groups_of",
    "index_data",
    "indicator_data",
    "mean_figure",
    "rate_figure",
    "render_html",
    "wilson",
    "write_factsheets",
]
