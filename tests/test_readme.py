"""The README's commands run as written: each `ptrack …` in its code blocks runs, in order, in a fresh home."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from policy_tracker.cli import app

from conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")
GROUP = typer.main.get_command(app)
GLOBAL = {"--version", "-V", "--install-completion", "--show-completion", "--help", "-h"}


def _words(text: str) -> list[str]:
    """The words of one shell command, without its comment and without what a pipe or a redirection adds."""
    words = shlex.split(text, comments=True)
    cut = next((i for i, w in enumerate(words) if w in ("|", ">", ">>", "2>", "<")), len(words))
    return words[:cut]


def block_commands() -> list[tuple[list[str], bool]]:
    """Every shell step of the sh and console blocks, in order: (words, the README shows an error after it)."""
    steps: list[tuple[list[str], bool]] = []
    for lang, body in re.findall(r"```(sh|console)\n(.*?)```", README, flags=re.S):
        lines = body.splitlines()
        for i, line in enumerate(lines):
            if lang == "console":
                if not line.startswith("$ "):
                    continue
                shown_error = i + 1 < len(lines) and lines[i + 1].startswith("Error:")
                steps += [(_words(part), shown_error) for part in line[2:].split("&&")]
            else:
                steps += [(_words(part), False) for part in line.split("&&")]
    return [s for s in steps if s[0]]


def inline_commands() -> list[str]:
    """Every `ptrack …` written in backticks, in the text or in a plain block."""
    return re.findall(r"`(ptrack(?: [^`]*)?)`", README)


def test_readme_shows_commands() -> None:
    ptrack_steps = [w for w, _ in block_commands() if w[0] == "ptrack"]
    assert len(ptrack_steps) >= 15
    assert len(inline_commands()) >= 15


@pytest.mark.parametrize("text", inline_commands())
def test_every_inline_command_parses(text: str) -> None:
    words = _words(text)[1:]
    if not words or words[0] in GLOBAL:
        return
    assert words[0] in GROUP.commands, f"`{text}`: {words[0]} is not a command (options come after the command)"  # type: ignore[attr-defined]
    if len(words) > 1:  # a command named in prose (`ptrack target`) needs no arguments; one shown with some must parse
        command = GROUP.commands[words[0]]  # type: ignore[attr-defined]
        command.make_context(words[0], words[1:])  # raises a usage error for an unknown option or a missing argument


def test_every_block_command_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTRACK_USER", "张三")
    runner = CliRunner()
    ran = 0
    for words, shown_error in block_commands():
        if words[0] == "cd":
            monkeypatch.chdir(Path.cwd() / words[1])
        if words[0] != "ptrack":
            continue  # git, pip, python: not ptrack's to test here
        result = runner.invoke(app, words[1:])
        expected = 1 if shown_error else 0
        assert result.exit_code == expected, f"{shlex.join(words)} exited {result.exit_code}: {result.output}"
        ran += 1
    assert ran >= 15
