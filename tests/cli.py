"""Run the ``lhs`` command in-process and read its one-line errors."""

from __future__ import annotations

from click.testing import CliRunner, Result

from lhs.cli import cli


def run(*args: str) -> Result:
    """Invoke ``lhs ARGS`` and return click's result."""
    return CliRunner().invoke(cli, list(args), prog_name="lhs")


def one_line_error(result: Result, *fragments: str) -> None:
    """Assert a failure printed as one ``lhs: error:`` line naming every fragment."""
    assert result.exit_code != 0, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("lhs: error: "), result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
