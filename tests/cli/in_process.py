"""Running a verb in this process (Typer's CliRunner) and reading its one ``error:`` line: shared by CLI tests."""

from __future__ import annotations

from typer.testing import CliRunner

from tunesmith.cli import app

runner = CliRunner()


def invoke(*args: object):  # noqa: ANN201
    return runner.invoke(app, [str(a) for a in args])


def one_line_error(result, *needles: str) -> str:  # noqa: ANN001
    """The single ``error:`` line of a refused command (exit status 2), holding each of ``needles``."""
    assert result.exit_code == 2, (result.exit_code, result.output)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]
