"""Meta-tests: every command explains itself, and the reference in docs/ matches the app."""

from __future__ import annotations

import os
import re

import pytest
import typer.main
from typer.testing import CliRunner

from policy_tracker.cli import app

from conftest import REPO

COMMANDS = typer.main.get_command(app).commands  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_has_help_with_an_example(runner: CliRunner, name: str) -> None:
    result = runner.invoke(app, [name, "--help"])
    assert result.exit_code == 0
    assert "Example" in result.stdout
    assert len(COMMANDS[name].help.strip()) > 20


INTRO = """# ptrack command reference

Every command also takes `-h`/`--help`. `ptrack --version` prints the version; `ptrack --install-completion`
installs shell completion (bash, zsh, fish, PowerShell).

Output: data goes to stdout, messages to stderr. `--format table` is the default on a terminal; when the output
is piped or redirected the default is the command's plain format (CSV for `list`, `regions`, `log` and `matrix`,
markdown for `show` and `goals`, JSON for `progress`, whose figures nest), with no colour codes. Exit codes:
0 done, 1 a problem you can fix (the message says what, where and how), 2 a usage error (an unknown option).

This file is generated from the app by `PTRACK_UPDATE_DOCS=1 pytest tests/test_meta.py`.
"""


def cli_reference() -> str:
    parts = [INTRO]
    for name, command in COMMANDS.items():
        parts.append(f"## ptrack {name}\n\n" + command.help.strip().replace("\n\n  ", "\n\n    ") + "\n")
        rows = []
        for p in command.params:
            names = ", ".join(f"`{o}`" for o in p.opts) if p.param_type_name == "option" else f"`{p.name.upper()}`"
            rows.append(f"| {names} | {p.help or ''} |")
        if rows:
            parts.append("| argument or option | meaning |\n|---|---|\n" + "\n".join(rows) + "\n")
    return "\n".join(parts)


def test_the_cli_reference_is_generated_from_the_app() -> None:
    path = REPO / "docs" / "cli.md"
    if os.environ.get("PTRACK_UPDATE_DOCS"):
        path.write_text(cli_reference(), encoding="utf-8")
    assert path.read_text(encoding="utf-8") == cli_reference(), "regenerate: PTRACK_UPDATE_DOCS=1 pytest tests/test_meta.py"


def test_ci_runs_the_readme_test_command_exactly() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    commands = re.findall(r"```sh\n(.+?)\n```", readme)
    run_line, test_line = commands[0], commands[1]
    assert run_line.endswith("ptrack list --goal 2030")
    assert test_line.endswith("pytest")
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert test_line in ci
