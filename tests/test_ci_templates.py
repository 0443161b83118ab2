"""The CI templates and the pre-commit hook parse, and every ptrack command they run exists with those options."""

from __future__ import annotations

import re
import shlex
from typing import Any

import pytest
import typer.main
import yaml

from policy_tracker.cli import app

from conftest import REPO

GROUP = typer.main.get_command(app)
TEMPLATES = {
    "gitlab": REPO / "docs" / "ci" / "gitlab-ci.yml",
    "github": REPO / "docs" / "ci" / "github-actions.yml",
}


def shell_lines(node: Any) -> list[str]:
    """Every shell line of a CI file: GitLab's script lists, GitHub's run blocks."""
    out: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("script", "before_script", "after_script") and isinstance(value, list):
                out += [str(v) for v in value]
            elif key == "run" and isinstance(value, str):
                out += value.splitlines()
            else:
                out += shell_lines(value)
    elif isinstance(node, list):
        for item in node:
            out += shell_lines(item)
    return out


def ptrack_commands(lines: list[str]) -> list[list[str]]:
    commands = []
    for line in lines:
        for part in re.split(r"&&|\|\||;", line):
            words = shlex.split(part, comments=True)
            cut = next((i for i, w in enumerate(words) if w in (">", ">>", "|")), len(words))
            if words[:1] == ["ptrack"]:
                commands.append(words[1:cut])
    return commands


def parses(words: list[str]) -> None:
    assert words[0] in GROUP.commands, f"ptrack {words[0]} is not a command"  # type: ignore[attr-defined]
    GROUP.commands[words[0]].make_context(words[0], words[1:])  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_a_ci_template_parses_and_runs_only_real_commands(name: str) -> None:
    config = yaml.safe_load(TEMPLATES[name].read_text(encoding="utf-8"))
    commands = ptrack_commands(shell_lines(config))
    assert ["validate"] in commands
    assert any(c[:2] == ["validate", "--changed"] and "--by" in c for c in commands)  # the merge request's check
    assert any(c[0] == "report" and "-o" in c for c in commands)  # the published report
    for words in commands:
        parses(words)


def test_the_gitlab_template_publishes_pages_and_checks_merge_requests() -> None:
    config = yaml.safe_load(TEMPLATES["gitlab"].read_text(encoding="utf-8"))
    assert config["pages"]["artifacts"]["paths"] == ["public"]
    assert "merge_request_event" in config["validate-merge-request"]["rules"][0]["if"]
    assert config["validate-merge-request"]["variables"]["GIT_DEPTH"] == 0


def test_the_github_template_fetches_the_history_it_compares() -> None:
    config = yaml.safe_load(TEMPLATES["github"].read_text(encoding="utf-8"))
    steps = config["jobs"]["check"]["steps"]
    assert steps[0]["with"]["fetch-depth"] == 0
    assert set(config[True]) == {"pull_request", "push"}  # YAML 1.1 reads the key `on` as true


def test_the_pre_commit_hook_runs_validate_on_the_repository() -> None:
    (hook,) = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert hook["id"] == "ptrack-validate"
    assert hook["language"] == "python" and hook["pass_filenames"] is False
    assert re.search(hook["files"], "records/31/T08.yaml")
    parses(shlex.split(hook["entry"])[1:])
