"""Meta-tests: every command explains itself, and the reference in docs/ matches the app."""

from __future__ import annotations

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


def test_the_cli_reference_documents_every_command_and_option() -> None:
    doc = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    sections = dict(re.findall(r"^## ptrack (\S+)\n(.*?)(?=^## |\Z)", doc, flags=re.M | re.S))
    assert sorted(sections) == sorted(COMMANDS)
    for name, command in COMMANDS.items():
        for param in command.params:
            names = param.opts if param.param_type_name == "option" else [param.name.upper()]
            for opt in names:
                assert f"`{opt}`" in sections[name], f"{opt} of ptrack {name} is not in docs/cli.md"


def test_ci_runs_the_readme_test_command_exactly() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    commands = re.findall(r"```sh\n(.+?)\n```", readme)
    run_line, test_line = commands[0], commands[1]
    assert run_line.endswith("ptrack list --goal 2030")
    assert test_line.endswith("pytest")
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert test_line in ci
