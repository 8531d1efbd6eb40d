"""The release ledger: stored whole and private, read back as written, recorded only once the
output is out, the same decisions in any process."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from pyroaring import BitMap64

from node.errors import NodeError
from node.ledger import Ledger, Release, ReleasedCell
from node.ledger.audit import Fresh, JointAudit
from tests.cli import one_line_error, run
from tests.node.test_ledger_attacks import ATTACKS


def _release(query: str = "q", units: range = range(5, 30)) -> Release:
    cells = (
        ReleasedCell((None,), "denominator", len(units), BitMap64(units)),
        ReleasedCell((None,), "numerator", None),
    )
    visits = (np.arange(5, 30, dtype=np.int64), np.arange(105, 130, dtype=np.int64))
    return Release(query, "sha256:" + "0" * 64, "cube", 10, "visit", cells, visits)


def test_releases_are_read_back_as_written_in_private_files(tmp_path: Path) -> None:
    folder = tmp_path / "ledger"
    ledger = Ledger(folder)
    ledger.add(_release("a"))
    ledger.add(_release("b", range(1, 3)))
    assert ledger.releases()[1].query == "b" and not list(folder.iterdir())  # pending only
    paths = ledger.commit()
    assert [p.name for p in paths] == ["000001-a.release", "000002-b.release"]
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in paths} == {0o600}
    again = Ledger(folder).releases()
    assert [r.header() for r in again] == [r.header() for r in ledger.releases()]
    first = again[0]
    assert first.cells[0].units == BitMap64(range(5, 30)) and first.cells[1].units is None
    assert first.visit_persons is not None and first.visit_persons[1][0] == 105
    Ledger(folder).add(_release("c"))  # pending, never committed: nothing written
    later = Ledger(folder)
    later.add(_release("c"))
    assert later.commit()[0].name == "000003-c.release"


def test_a_failed_write_leaves_no_file_and_a_retry_writes_each_release_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "ledger"
    ledger = Ledger(folder)
    for query in ("a", "b", "c"):
        ledger.add(_release(query))
    real, calls = os.fsync, []

    def broken(fd: int) -> None:
        calls.append(fd)
        if len(calls) == 2:
            raise OSError("disk full")
        real(fd)

    monkeypatch.setattr(os, "fsync", broken)
    with pytest.raises(OSError, match="disk full"):
        ledger.commit()
    assert [p.name for p in folder.iterdir()] == ["000001-a.release"]  # b: no half file
    ledger.commit()
    assert sorted(p.name for p in folder.iterdir()) == [
        "000001-a.release", "000002-b.release", "000003-c.release",
    ]  # fmt: skip
    assert [r.query for r in ledger.releases()] == ["a", "b", "c"]
    assert [r.query for r in Ledger(folder).releases()] == ["a", "b", "c"]


def test_a_damaged_ledger_is_one_line_naming_the_file(tmp_path: Path, synth_csv: Path) -> None:
    folder = tmp_path / "ledger"
    folder.mkdir()
    (folder / "000001-x.release").write_bytes(b"not a ledger")
    with pytest.raises(NodeError, match=r"000001-x\.release cannot be read"):
        Ledger(folder).releases()
    base = ["node", "run", "anticancer_therapy_last_30d", "--data", str(synth_csv)]
    one_line_error(run(*base, "--ledger", str(folder)), "000001-x.release")
    (tmp_path / "file").write_text("x")
    refused = run(*base, "--ledger", str(tmp_path / "file"))  # click's own usage error
    assert refused.exit_code == 2 and "is a file" in refused.output


def test_nothing_is_recorded_when_the_output_cannot_be_written(
    tmp_path: Path, synth_csv: Path
) -> None:
    folder = tmp_path / "ledger"
    out = tmp_path / "missing" / "out.json"
    base = ["node", "run", "anticancer_therapy_last_30d", "--data", str(synth_csv)]
    one_line_error(run(*base, "--ledger", str(folder), "--out", str(out)), "does not exist")
    assert list(folder.iterdir()) == []


SCRIPT = """
import json, sys
from pathlib import Path
from node.ledger import Ledger
from node.runner import run_specs
from node.sources import open_source
from protocol import load_spec
ledger = Ledger(Path(sys.argv[1]))
source = open_source(sys.argv[2])
out = []
for path in sys.argv[3:]:
    (result,) = run_specs([load_spec(path)], source, ledger=ledger)
    out.append(result.to_dict())
ledger.commit()
print(json.dumps([out, [r.header()["cells"] for r in ledger.releases()]]))
"""


def test_the_same_releases_in_any_process_and_hash_seed(tmp_path: Path, synth_csv: Path) -> None:
    specs = []
    for name in ("nested age bound", "breakdown variants", "visit units"):
        for (spec, _), _ in ATTACKS[name].steps:
            path = tmp_path / f"{spec['id']}.yaml"
            path.write_text(yaml.safe_dump(spec), encoding="utf-8")
            specs.append(str(path))
    seen = []
    for seed in ("0", "1", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", SCRIPT, str(tmp_path / f"ledger{seed}"), str(synth_csv), *specs],
            capture_output=True, text=True, env=env, check=True,
        )  # fmt: skip
        seen.append(json.loads(done.stdout))
    assert seen[0] == seen[1] == seen[2]
    assert any(v is None for cells in seen[0][1] for c in cells for v in [c["value"]])


def test_the_ledger_command_lists_what_was_published_and_withheld(
    tmp_path: Path, synth_csv: Path
) -> None:
    folder = tmp_path / "ledger"
    for (spec, _), _ in ATTACKS["nested age bound"].steps:
        path = tmp_path / f"{spec['id']}.yaml"
        path.write_text(yaml.safe_dump(spec), encoding="utf-8")
        assert (
            run(
                "node", "run", str(path), "--data", str(synth_csv), "--ledger", str(folder)
            ).exit_code
            == 0
        )
    listed = run("node", "ledger", "--ledger", str(folder))
    lines = listed.output.splitlines()
    assert listed.exit_code == 0 and len(lines) == 3
    assert "c66" in lines[0] and "counts published 2, withheld 0" in lines[0]
    assert "c67" in lines[1] and "counts published 1, withheld 1" in lines[1]
    assert lines[2].startswith("2 releases")
    config = tmp_path / "node.yaml"
    config.write_text(f"state: {tmp_path / 'state'}\n", encoding="utf-8")
    one_line_error(run("node", "ledger", "--config", str(config)), "nothing has been released")


def test_a_changed_ledger_is_one_line_naming_it(tmp_path: Path, synth_csv: Path) -> None:
    folder = tmp_path / "ledger"
    ledger = Ledger(folder)
    cell = ReleasedCell((None,), "denominator", 7, BitMap64(range(3)))  # 7 recorded, 3 units
    ledger.add(Release("q", "sha256:" + "0" * 64, "cube", 10, "person", (cell,)))
    ledger.commit()
    base = ["node", "run", "anticancer_therapy_last_30d", "--data", str(synth_csv)]
    one_line_error(run(*base, "--ledger", str(folder)), str(folder), "was changed")


def test_a_provider_without_a_single_visit_of_a_cohort_releases_its_zeros(tmp_path: Path) -> None:
    """No admission at all (a small provider): every count is 0 and nothing is narrowed."""
    empty = np.zeros(0, dtype=np.int64)
    audit = JointAudit(Ledger(tmp_path / "ledger"), "visit", (empty, empty))
    assert audit.narrowed([Fresh(0, empty), Fresh(0, empty)], 10) == []
