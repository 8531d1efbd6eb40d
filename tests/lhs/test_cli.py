"""The ``lhs`` command put together: roles load on demand, every error is one line."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from lhs.cli import cli
from tests.cli import one_line_error
from tests.roles import COORDINATOR_ONLY, run_lhs


def test_help_lists_every_role_installed_or_not() -> None:
    listed = run_lhs("--help")
    assert listed.code == 0
    for command in ("coordinator", "demo", "node", "query", "round", "synth"):
        assert f"  {command} " in listed.stdout
    alone = run_lhs("--help", absent=COORDINATOR_ONLY)
    assert alone.code == 0
    for command in ("coordinator", "demo", "round"):
        assert f"  {command:<12} Not installed: pip install 'lhs[coordinator]'" in alone.stdout
    assert "  node         Run a provider's node" in alone.stdout


def test_a_coordinator_command_without_its_role_says_what_to_install() -> None:
    for args in (("coordinator", "init"), ("round", "status", "3"), ("query", "submit", "x")):
        run = run_lhs(*args, absent=COORDINATOR_ONLY)
        assert run.code == 1, run.stderr
        assert run.stderr.strip().splitlines() == [
            f"lhs: error: 'lhs {args[0] if args[0] != 'query' else 'submit'}' needs the"
            f" coordinator role (flask is not installed): pip install 'lhs[coordinator]'"
        ]


def test_query_commands_need_no_role() -> None:
    run = run_lhs("query", "list", absent=(*COORDINATOR_ONLY, "duckdb", "pyarrow"))
    assert run.code == 0 and "hospital_admission_last_30d" in run.stdout


def test_errors_of_each_role_end_in_one_line(tmp_path: Path, monkeypatch) -> None:
    runner = CliRunner()
    one_line_error(runner.invoke(cli, ["query", "explain", "no-such-spec"]), "no-such-spec")
    one_line_error(
        runner.invoke(cli, ["node", "run", "palliative", "--data", str(tmp_path / "none")]),
        "none",
    )
    monkeypatch.setenv("LHS_INSTANCE_PATH", str(tmp_path / "coordinator"))
    one_line_error(
        runner.invoke(cli, ["coordinator", "add-user", "alice", "--role", "researcher"]),
        "lhs coordinator init",
    )
    monkeypatch.delenv("LHS_COORDINATOR_URL", raising=False)
    one_line_error(runner.invoke(cli, ["round", "status"]), "no coordinator URL")


def test_a_spec_nested_too_deeply_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    deep = tmp_path / "deep.yaml"
    deep.write_text("description: " + "[" * 500 + "]" * 500 + "\n")
    runner = CliRunner()
    for args in (
        ["query", "explain", str(deep)],
        ["node", "run", str(deep), "--data", str(tmp_path)],
    ):
        one_line_error(runner.invoke(cli, args), "deep.yaml", "nested deeper than 32 levels")
    # validate lists each file's problem, then says how many files failed.
    checked = runner.invoke(cli, ["query", "validate", str(deep)])
    assert checked.exit_code != 0 and "Traceback" not in checked.output
    assert "deep.yaml: not valid YAML: nested deeper than 32 levels" in checked.output
