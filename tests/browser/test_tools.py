"""The browser tests name what they miss: a skip on a laptop, a failure in CI."""

from __future__ import annotations

import pytest

from tests.browser import conftest


def test_a_missing_chromium_and_playwright_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conftest, "CHROMIUM", "/nonexistent/chromium")
    monkeypatch.setattr(conftest.shutil, "which", lambda _name: None)
    monkeypatch.setattr(conftest.importlib.util, "find_spec", lambda _name: None)
    missing = conftest._missing()
    assert missing == [
        "chromium (apt-get install chromium)",
        "the playwright package (pip install playwright)",
    ]
