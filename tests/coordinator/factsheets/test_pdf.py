"""PDF documents: each factsheet and each provider's mirror-meeting pack render, say what the
pages say, and poppler's pdftoppm turns them into images."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from flask import Flask
from pypdf import PdfReader

from coordinator.factsheets import views
from coordinator.factsheets.pdf import factsheet_pdf, figure_text
from coordinator.factsheets.render import translations
from tests.coordinator.factsheets.test_charts import site  # noqa: F401 - the shared fixture


def _text(pdf: bytes) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(pdf))
    return len(reader.pages), "\n".join(page.extract_text() for page in reader.pages)


def _pdftoppm() -> str:
    found = shutil.which("pdftoppm")
    if found is None:
        if os.environ.get("LHS_REQUIRE_SYSTEM_TOOLS") == "1":
            pytest.fail("pdftoppm (Debian poppler-utils) is required and missing")
        pytest.skip("pdftoppm (Debian poppler-utils) is not installed")
    return found


def test_each_factsheet_is_a_pdf_in_both_languages(site: Path) -> None:  # noqa: F811
    dutch = (site / "pdf" / "network-A.pdf").read_bytes()
    english = (site / "en" / "pdf" / "network-A.pdf").read_bytes()
    pages, text = _text(dutch)
    assert pages >= 1 and "Netwerk palliatieve zorg A" in text and "Per jaar" in text
    _, text = _text(english)
    assert "Palliative care network A" in text and "Trend across the cycle's rounds" in text
    assert "A1 2023-01-01: Advance care planning" in text
    # The trend's numbers are the JSON twin's, as text.
    (ind,) = json.loads((site / "network" / "A.json").read_text())["indicators"]
    shown = [p["row"]["figure"] for p in ind["trend"] if p["row"]["figure"]["status"] == "exact"]
    assert shown and all(
        f"{f['rate_pct']:.1f}% (95% CI {f['ci_low_pct']:.1f}%" in text for f in shown
    )
    links = (site / "network" / "A.html").read_text()
    assert 'href="../pdf/network-A.pdf"' in links


def test_the_pack_shows_the_provider_in_every_funnel_with_its_trend(site: Path) -> None:  # noqa: F811
    pack = (site / "pdf" / "pack-n1.pdf").read_bytes()
    pages, text = _text(pack)
    assert pages == 2  # its actions, then one page per benchmark indicator
    assert "Spiegelbijeenkomstpakket: Org <b>1</b>" in text
    assert "Funnelplot:" in text and "Trend over de rondes van de cyclus" in text
    _, english = _text((site / "en" / "pdf" / "pack-n1.pdf").read_bytes())
    assert "Mirror-meeting pack" in english and "Funnel plot: " in english


def test_the_same_data_make_the_same_pdf(site: Path) -> None:  # noqa: F811
    page = json.loads((site / "network" / "A.json").read_text())
    assert factsheet_pdf(page, "en") == factsheet_pdf(page, "en")


def test_the_factsheets_blueprint_serves_pdfs(site: Path) -> None:  # noqa: F811
    app = Flask(__name__)
    app.config["LHS_FACTSHEETS_DIR"] = str(site)
    app.register_blueprint(views.bp)
    answer = app.test_client().get("/factsheets/pdf/pack-n1.pdf")
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    assert answer.data == (site / "pdf" / "pack-n1.pdf").read_bytes()
    assert "default-src 'none'" in answer.headers["Content-Security-Policy"]


def test_pdftoppm_turns_the_pack_into_images(site: Path, tmp_path: Path) -> None:  # noqa: F811
    tool = _pdftoppm()
    pack = site / "pdf" / "pack-n1.pdf"
    subprocess.run([tool, "-png", "-r", "40", str(pack), str(tmp_path / "page")], check=True)
    images = sorted(tmp_path.glob("page*.png"))
    assert len(images) == 2
    assert all(image.read_bytes().startswith(b"\x89PNG") for image in images)
    assert all(image.stat().st_size > 2000 for image in images)  # drawn, not blank


def test_a_figure_reads_in_a_pdf_as_on_the_page() -> None:
    rate = {"status": "exact", "rate_pct": 40.6, "ci_low_pct": 38.5, "ci_high_pct": 42.8}
    assert figure_text(rate, "rate", str) == "40.6% (95% CI 38.5%–42.8%)"
    mean = {"status": "exact", "mean": 4.2, "ci_low": 3.1, "ci_high": 5.3, "unit": ""}
    assert figure_text(mean, "mean", str) == "4.2 (95% CI 3.1–5.3)"
    stay = {"status": "incomplete", "mean_low": 2.2, "mean_high": None, "suppressed_at": 1}
    assert figure_text(stay, "mean", str) == "2.2 days (incomplete)"
    withheld = {"status": "withheld", "reason": "to protect small numbers"}
    dutch = translations("nl").gettext
    assert figure_text(withheld, "rate", dutch) == "niet getoond: om kleine aantallen te beschermen"
