"""Every systemd unit in ``deploy/`` verifies, and the services are hardened.

``systemd-analyze verify`` checks that each Exec program exists, so the units are verified
as copies whose programs under ``/opt`` (the venv the README installs, the backup script)
point at the same programs in this environment; nothing else in them is changed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .stack import DEPLOY
from .tools import require_tools

UNITS = sorted([*DEPLOY.rglob("*.service"), *DEPLOY.rglob("*.timer")])
SERVICES = [p for p in UNITS if p.suffix == ".service"]
MOST_EXPOSED = 2.0
"""The highest exposure ``systemd-analyze security`` may give a service (0 best, 10 worst)."""


def _here(program: str) -> str:
    """Return this environment's copy of a program the units run from /opt."""
    name = Path(program).name
    if name.endswith(".sh"):
        return str(DEPLOY / "coordinator" / name)
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    assert found, f"no {name} in this environment to verify the units with"
    return found


def _copies(folder: Path) -> list[Path]:
    folder.mkdir()
    copies = []
    for unit in UNITS:
        text = re.sub(
            r"^(Exec\w+=)(/opt/\S+)",
            lambda m: m.group(1) + _here(m.group(2)),
            unit.read_text(encoding="utf-8"),
            flags=re.M,
        )
        (folder / unit.name).write_text(text, encoding="utf-8")
        copies.append(folder / unit.name)
    return copies


def _verify(tool: str, units: list[Path]) -> subprocess.CompletedProcess:
    return subprocess.run([tool, "verify", *map(str, units)], capture_output=True, text=True)


def test_every_unit_file_verifies_without_a_warning(tmp_path: Path) -> None:
    tool = require_tools("systemd-analyze")["systemd-analyze"]
    assert {p.name for p in UNITS} >= {
        "lhs-node.service",
        "lhs-coordinator.service",
        "lhs-coordinator-backup.service",
        "lhs-coordinator-backup.timer",
    }
    done = _verify(tool, _copies(tmp_path / "units"))
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr


def test_a_unit_with_a_mistake_does_not_verify(tmp_path: Path) -> None:
    tool = require_tools("systemd-analyze")["systemd-analyze"]
    unit = _copies(tmp_path / "units")[0]
    unit.write_text(unit.read_text().replace("[Unit]", "[Unit]\nRequiress=nothing"))
    assert "Unknown key" in _verify(tool, [unit]).stderr


@pytest.mark.parametrize("unit", SERVICES, ids=[p.name for p in SERVICES])
def test_every_service_is_hardened(unit: Path, tmp_path: Path) -> None:
    tool = require_tools("systemd-analyze")["systemd-analyze"]
    (copy,) = [c for c in _copies(tmp_path / "units") if c.name == unit.name]
    done = subprocess.run(
        [tool, "security", "--offline=yes", "--no-pager", str(copy)],
        capture_output=True,
        text=True,
    )
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d)", done.stdout + done.stderr)
    assert found, done.stdout + done.stderr
    assert float(found.group(1)) <= MOST_EXPOSED, done.stdout
    text = unit.read_text(encoding="utf-8")
    for line in ("NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateTmp=yes"):
        assert line in text.splitlines(), line
    assert re.search(r"^User=lhs", text, re.M)
