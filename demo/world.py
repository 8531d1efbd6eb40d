"""The demo's world: its providers in three palliative-care networks and two zorgkantoor
regions, the library areas it runs, and its yearly cycle with one improvement action."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

__all__ = [
    "ACTION",
    "CYCLE_AS_OF",
    "CYCLE_QUERIES",
    "DEFAULT_PERSONS",
    "DEMO_AREAS",
    "FULL_PERSONS",
    "NETWORKS",
    "PROVIDERS",
    "REGIONS",
    "DemoProvider",
]

DEFAULT_PERSONS = 10_000
"""Persons of a mid-sized provider in ``lhs demo``: quick, yet most national counts exact."""

FULL_PERSONS = 40_000
"""Persons of a mid-sized provider in ``lhs demo --full``: the earlier default size."""

NETWORKS = (
    ("npz-groningen", "Netwerk Palliatieve Zorg Groningen", "ZK01", "GR"),
    ("npz-drenthe-noord", "Netwerk Palliatieve Zorg Noord- en Midden-Drenthe", "ZK02", "DR"),
    ("npz-drenthe-zuidoost", "Netwerk Palliatieve Zorg Zuidoost-Drenthe", "ZK02", "DR"),
)
REGIONS = (
    ("zorgkantoor", "ZK01", "Zorgkantoorregio Groningen"),
    ("zorgkantoor", "ZK02", "Zorgkantoorregio Drenthe"),
    ("province", "GR", "Groningen"),
    ("province", "DR", "Drenthe"),
)


@dataclass(frozen=True)
class DemoProvider:
    """One demo provider: its node id, organisation, network, size and care style."""

    node_id: str
    organisation: str
    network: str
    size: float
    site_effect: float


PROVIDERS = (
    DemoProvider("umcg", "Universitair Medisch Centrum Groningen", "npz-groningen", 1.6, 1.25),
    DemoProvider("martini", "Martini Ziekenhuis", "npz-groningen", 1.0, 1.0),
    DemoProvider("ommelander", "Ommelander Ziekenhuis", "npz-groningen", 0.6, 0.8),
    DemoProvider("wilhelmina-assen", "Wilhelmina Ziekenhuis Assen", "npz-drenthe-noord", 0.9, 0.9),
    DemoProvider("zorggroep-drenthe", "Zorggroep Drenthe", "npz-drenthe-noord", 0.5, 0.7),
    DemoProvider("hospice-assen", "Hospice Assen", "npz-drenthe-noord", 0.4, 0.6),
    DemoProvider("treant", "Treant Zorggroep", "npz-drenthe-zuidoost", 1.2, 1.1),
    DemoProvider("rode-kruis", "Rode Kruis Ziekenhuis Emmen", "npz-drenthe-zuidoost", 0.7, 1.15),
    DemoProvider("huisartsen-emmen", "Huisartsen Emmen", "npz-drenthe-zuidoost", 0.5, 0.85),
    # Birth care: two midwife practices and a maternity ward (their extracts are synthetic
    # populations like the others, so they count the other domains too).
    DemoProvider(
        "verloskunde-groningen", "Verloskundigenpraktijk Groningen-Stad", "npz-groningen", 0.3, 0.9
    ),
    DemoProvider("verloskunde-emmen", "Verloskundigen Emmen", "npz-drenthe-zuidoost", 0.3, 1.05),
    DemoProvider(
        "geboortecentrum-assen", "Geboortecentrum Wilhelmina Assen", "npz-drenthe-noord", 0.4, 1.0
    ),
)


DEMO_AREAS = ("palliative", "hip_fracture", "birth_care", "knee", "ckd", "colorectal")
"""The library areas ``lhs demo`` runs by default (``--spec`` names any spec or area)."""

CYCLE_QUERIES = ("hospital_admission_last_30d",)
"""The specs of the demo's yearly cycle (if run): one, as each round of a cycle costs every
node a run and secure aggregation; the other indicators are shown once."""

CYCLE_AS_OF = date(2025, 1, 1)
"""The day the demo's scheduler runs as of: the yearly periods 2022, 2023 and 2024 are due."""

ACTION = {
    "level": "network",
    "area": "npz-groningen",
    "date": "2023-01-01",
    "text": "Advance care planning discussed with every patient at the start of palliative care",
}
"""The demo's improvement action: a network's, between its first and second period."""
