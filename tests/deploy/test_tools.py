"""A missing system tool skips the deploy tests, or fails them by name when CI requires it."""

from __future__ import annotations

import pytest

from .tools import require_postgres, require_tools


def test_a_missing_tool_skips_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LHS_REQUIRE_SYSTEM_TOOLS", raising=False)
    with pytest.raises(pytest.skip.Exception, match="not installed: lhs-no-such-tool"):
        require_tools("sh", "lhs-no-such-tool")


def test_a_missing_tool_fails_naming_it_when_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LHS_REQUIRE_SYSTEM_TOOLS", "1")
    with pytest.raises(pytest.fail.Exception, match="not installed: lhs-no-such-tool"):
        require_tools("sh", "lhs-no-such-tool")
    monkeypatch.delenv("LHS_TEST_POSTGRES_URL", raising=False)
    with pytest.raises(pytest.fail.Exception, match="LHS_TEST_POSTGRES_URL is not set"):
        require_postgres()


def test_present_tools_are_found() -> None:
    assert require_tools("sh")["sh"].endswith("/sh")
