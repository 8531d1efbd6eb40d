"""The system tools the deploy tests drive: skipped when missing, unless CI requires them."""

from __future__ import annotations

import os
import shutil

import pytest

__all__ = ["require_postgres", "require_tools"]


def _missing(message: str) -> None:
    # LHS_REQUIRE_SYSTEM_TOOLS=1 (set by .ci/run): a missing tool fails, naming it.
    if os.environ.get("LHS_REQUIRE_SYSTEM_TOOLS") == "1":
        pytest.fail(f"{message} (LHS_REQUIRE_SYSTEM_TOOLS=1)", pytrace=False)
    pytest.skip(message)


def require_tools(*names: str) -> dict[str, str]:
    """Return each tool's path; skip (or, when required, fail) naming the missing ones."""
    found = {name: shutil.which(name, path=_path()) for name in names}
    missing = sorted(name for name, path in found.items() if path is None)
    if missing:
        _missing(f"system tool(s) not installed: {', '.join(missing)}")
    return {name: str(path) for name, path in found.items()}


def require_postgres() -> str:
    """Return the test server's URL (LHS_TEST_POSTGRES_URL); skip or fail without one."""
    url = os.environ.get("LHS_TEST_POSTGRES_URL")
    if not url:
        _missing("LHS_TEST_POSTGRES_URL is not set")
    return url


def _path() -> str:
    # nginx lives in /usr/sbin, which a non-root PATH may lack.
    extra = ["/usr/sbin", "/sbin"]
    return os.pathsep.join([os.environ.get("PATH", ""), *extra])
