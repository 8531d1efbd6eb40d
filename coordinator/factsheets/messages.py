"""Words factsheet pages show that are written outside a template, marked for translation.

``N_`` marks a message for the catalogue without translating it: page data (and its JSON
twin) keeps the English message, and the templates translate it as they render
(``_(value)``).  Messages that other areas write into page data (the merge's reasons for
withholding) are listed here so the Dutch catalogue holds them too.
"""

from __future__ import annotations

__all__ = ["N_", "OTHER_AREAS"]


def N_(message: str) -> str:
    """Return the message unchanged; its literal is extracted into the catalogue."""
    return message


OTHER_AREAS = (
    N_("to protect small numbers"),
    N_("fewer than 3 providers"),
    N_("no providers answered"),
    N_("no provider in this area took part in this query"),
    N_("suppressed by the provider (small numbers)"),
    N_("National"),
    N_("Palliative care network"),
    N_("Zorgkantoor region"),
    N_("Province"),
    N_("Netherlands"),
    N_("All"),
    N_("Year"),
    N_("Sex"),
    N_("Age band"),
    N_("Mother's age band"),
    N_("Mean (95% CI)"),
    N_("Mean change (95% CI)"),
    N_("female"),
    N_("male"),
    N_("unknown"),
    N_("Rate (95% CI)"),
    N_("Mean length of stay (days)"),
    N_("Mean days per unit"),
)
"""Messages of the merge, pages and benchmark modules that pages show."""
