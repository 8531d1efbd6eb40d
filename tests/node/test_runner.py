"""The runner: cubes protected side by side give what one thread gives, in spec order."""

from __future__ import annotations

from pathlib import Path

import pytest

from node.runner import run_specs
from node.sources import open_source
from protocol import load_spec
from queries import library_paths

SPECS = [load_spec(p) for p in library_paths() if p.parent.name == "palliative"]


def _run(folder: Path, cores: int, monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    monkeypatch.setattr("node.runner.os.cpu_count", lambda: cores)
    seen: list[str] = []
    results = run_specs(SPECS, open_source(str(folder)), progress=seen.append)
    assert seen == [spec.id for spec in SPECS]
    return [result.to_dict() for result in results]


def test_threads_protect_as_one_thread_does(
    synth_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    alone = _run(synth_csv, 1, monkeypatch)
    side_by_side = _run(synth_csv, 4, monkeypatch)
    assert [r["query"] for r in side_by_side] == [spec.id for spec in SPECS]
    assert side_by_side == alone


def test_a_failing_cube_fails_the_run(synth_csv: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(cube: object, k: int) -> object:
        raise ArithmeticError("attacker LP: infeasible")

    monkeypatch.setattr("node.runner.protect", broken)
    with pytest.raises(ArithmeticError, match="attacker LP"):
        _run(synth_csv, 4, monkeypatch)
