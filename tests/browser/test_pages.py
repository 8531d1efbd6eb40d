"""The whole cycle in a real browser: a researcher's spec from a mistake to published figures.

A researcher pastes a spec with an error and sees it, fixes it, reads the explanation and
submits; a coordinator approves it with a reason; three real node agents run the round over
HTTP; the rounds page shows each node's upload; the coordinator publishes; the researcher
downloads the figures as CSV and JSON and opens the factsheet and benchmark pages, whose
charts are SVG. Each step leaves a screenshot in ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path
from typing import Any

from node.agent import Agent
from tests.browser.conftest import SCREENSHOTS
from tests.coordinator.coord_world import OPIOID
from tests.coordinator.web.pages import PASSWORD

SPEC = OPIOID.replace("dimensions: [year, sex, age_band]", "dimensions: [year, sex]").replace(
    "id: opioid_last_90d", "id: opioid_by_year_sex"
)
BROKEN = SPEC.replace("dimensions: [year, sex]", "dimensions: [year, sexx]")


def _shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def _login(browser: Any, site: str, name: str, locale: str) -> Any:
    page = browser.new_context(locale=locale, base_url=site).new_page()
    page.goto("/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("form.stack button[type=submit]")
    assert "/login" not in page.url
    return page


def _researcher_submits(page: Any) -> str:
    page.goto("/specs/new")
    page.fill("textarea[name=text]", BROKEN)
    page.click("button[value=check]")
    error = page.locator("#spec-error")
    assert "unknown dimension 'sexx'" in error.inner_text()
    assert "\n" not in error.inner_text().strip()
    assert page.locator("button[value=submit]").count() == 0
    _shot(page, "01-researcher-sees-the-error")
    page.fill("textarea[name=text]", SPEC)
    page.click("button[value=check]")
    assert "WHO IS COUNTED" in page.locator("pre.explanation").inner_text()
    _shot(page, "02-researcher-reads-the-explanation")
    page.click("button[value=submit]")
    page.wait_for_url("**/specs/sha256:*")
    assert page.locator(".status-submitted").count() >= 1
    _shot(page, "03-researcher-submitted")
    return page.url.rsplit("/", 1)[1]


def _coordinator_approves(page: Any, spec_hash: str) -> int:
    page.goto("/review")
    page.click(f"a[href='/specs/{spec_hash}']")
    assert "WHO IS COUNTED" in page.locator("pre.explanation").inner_text()
    _shot(page, "04-coordinator-reviews")
    page.fill("form[action$='/approve'] textarea[name=reason]", "Fits the network's aims.")
    page.click("form[action$='/approve'] button[type=submit]")
    page.wait_for_url("**/rounds/*")
    _shot(page, "05-round-opened")
    return int(page.url.rsplit("/", 1)[1])


def _nodes_run(agents: dict[str, Agent]) -> None:
    for _cycle in range(5):  # held; run and upload; keys; shares; nothing left
        for agent in agents.values():
            # A spec outside the library waits for the node's own administrator.
            for task in agent.state.store.tasks("held"):
                agent.state.approve(task["task_id"], "local-admin")
            agent.poll_once()


def _downloads(page: Any, stem: str) -> None:
    with page.expect_download() as csv_download:
        page.click(f"a[href='/published/{stem}.csv']")
    rows = list(csv.DictReader(io.StringIO(Path(csv_download.value.path()).read_text())))
    assert rows and rows[0]["indicator"] == "opioid_by_year_sex"
    with page.expect_download() as json_download:
        page.click(f"a[href='/published/{stem}.json']")
    data = json.loads(Path(json_download.value.path()).read_text())
    assert data["kind"] == "benchmark" and data["id"] == "opioid_by_year_sex"


def _has_charts(page: Any, path: str, shot: str) -> None:
    page.goto(path)
    _shot(page, shot)
    assert page.locator("svg").count() > 0, f"no chart <svg> on {path}"


def test_a_spec_goes_from_a_mistake_to_published_charts(
    browser: Any, site: str, agents: dict[str, Agent]
) -> None:
    started = time.perf_counter()
    researcher = _login(browser, site, "rita", "en-GB")
    spec_hash = _researcher_submits(researcher)

    coordinator = _login(browser, site, "carl", "nl-NL")
    round_id = _coordinator_approves(coordinator, spec_hash)
    _nodes_run(agents)
    coordinator.goto(f"/rounds/{round_id}")
    for node_id in agents:
        assert coordinator.locator(f"#node-{node_id} .status-uploaded").count() == 1
    _shot(coordinator, "06-round-uploaded")
    coordinator.goto("/nodes")
    assert coordinator.locator("td", has_text="zh-c").count() == 1
    _shot(coordinator, "07-nodes")

    coordinator.goto("/publishing")
    with coordinator.expect_navigation():
        coordinator.click("form[action='/publishing'] button[type=submit]")
    assert coordinator.locator("p.flash").count() == 1
    _shot(coordinator, "08-published")

    researcher.goto(f"/specs/{spec_hash}")
    assert researcher.locator(".status-approved").count() >= 1
    assert researcher.locator(f"a[href='/rounds/{round_id}']").count() >= 1
    _shot(researcher, "09-researcher-follows-the-spec")
    researcher.goto("/publishing")
    _shot(researcher, "10-researcher-downloads")
    _downloads(researcher, "benchmark/opioid_by_year_sex")
    _has_charts(researcher, "/api/v1/factsheets/national/NL.html", "11-factsheet")
    _has_charts(researcher, "/api/v1/factsheets/benchmark/opioid_by_year_sex.html", "12-benchmark")
    assert time.perf_counter() - started < 60
