"""Run ``lhs`` in a fresh interpreter, optionally as if only the node role were installed."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass

COORDINATOR_ONLY = ("flask", "alembic", "werkzeug")
"""Packages only the coordinator role installs (``pip install 'lhs[coordinator]'``)."""

_SCRIPT = """
import importlib.abc, sys
BLOCKED = set(sys.argv[1].split(",")) if sys.argv[1] else set()
WATCHED = set(sys.argv[2].split(","))

class Absent(importlib.abc.MetaPathFinder):
    # Import as if these packages were not installed at all.
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, Absent())
from lhs.cli import cli
code = 0
try:
    cli.main(args=sys.argv[3:], prog_name="lhs")
except SystemExit as exc:
    code = exc.code
loaded = sorted({m.partition(".")[0] for m in sys.modules} & WATCHED)
print("LOADED:" + ",".join(loaded), file=sys.stderr)
sys.exit(code)
"""


@dataclass(frozen=True)
class Run:
    """What one ``lhs`` process did: exit code, output, and which watched packages it loaded."""

    code: int
    stdout: str
    stderr: str
    loaded: list[str]


def run_lhs(*args: str, absent: tuple[str, ...] = (), timeout: float = 300) -> Run:
    """Run ``lhs ARGS`` in a new process with ``absent`` packages made uninstallable."""
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT, ",".join(absent), ",".join(COORDINATOR_ONLY), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    *rest, last = done.stderr.rstrip("\n").split("\n")
    assert last.startswith("LOADED:"), done.stderr
    loaded = [name for name in last.removeprefix("LOADED:").split(",") if name]
    return Run(done.returncode, done.stdout, "\n".join(rest), loaded)
