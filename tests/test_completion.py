"""Shell completion, through Typer's own machinery: what bash, zsh, fish and PowerShell are offered."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from policy_tracker.cli import app


def _bash(runner: CliRunner, line: str) -> list[str]:
    """What bash is offered for the last word of `line` (a trailing space: a new, empty word)."""
    words = line.split(" ")
    env = {"_PTRACK_COMPLETE": "complete_bash", "COMP_WORDS": line, "COMP_CWORD": str(len(words) - 1)}
    result = runner.invoke(app, [], env=env, prog_name="ptrack")
    assert result.exit_code == 0, result.output
    return [item for item in result.stdout.splitlines() if item]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("ptrack show T0", ["T01", "T02", "T09"]),
        ("ptrack show 2", ["2", "20", "23"]),
        ("ptrack update T08 --status in", ["in_progress"]),
        ("ptrack list --status ", ["not_started", "in_progress", "completed", "blocked", "deferred"]),
        ("ptrack progress --method ", ["linear", "cagr"]),
        ("ptrack list --format ", ["table", "json", "csv", "markdown"]),
        ("ptrack list --goal 20", ["2030", "2035"]),
        ("ptrack list --region 无锡", ["无锡市"]),
        ("ptrack list --region 3201", ["320100", "320115"]),
        ("ptrack list --region Wux", ["Wuxi"]),
        ("ptrack list --region 长三", ["长三角城市群"]),
        ("ptrack update T08 -i ", ["old_compound_renovation_starts=", "existing_residential_elevator_retrofits="]),
        ("ptrack update T13 -i pm", ["pm25_prefecture_cities="]),
        ("ptrack update T08 --owner 江苏", ["江苏省"]),
    ],
)
def test_bash_is_offered_task_ids_regions_statuses_indicators_methods_and_formats(
    runner: CliRunner, ws_dir: Path, line: str, expected: list[str]
) -> None:
    offered = _bash(runner, line)
    assert all(item in offered for item in expected), offered
    assert not any(item.endswith(".yaml") for item in offered)  # never file names (T01.yaml)


def test_no_region_typed_offers_the_provinces_and_the_workspaces_own(runner: CliRunner, ws_dir: Path) -> None:
    offered = _bash(runner, "ptrack list --region ")
    assert {"11", "31", "65", "CN", "YRD"} <= set(offered)
    assert "320115" not in offered  # 2,975 counties would bury the rest


def test_zsh_fish_and_powershell_get_the_same_with_their_help(runner: CliRunner, ws_dir: Path) -> None:
    zsh = runner.invoke(
        app, [], env={"_PTRACK_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": "ptrack list --region Nanj"}, prog_name="ptrack"
    )
    assert zsh.exit_code == 0 and '"Nanjing":"320100 南京市"' in zsh.stdout
    fish = runner.invoke(
        app,
        [],
        env={
            "_PTRACK_COMPLETE": "complete_fish",
            "_TYPER_COMPLETE_FISH_ACTION": "get-args",
            "_TYPER_COMPLETE_ARGS": "ptrack update T08 --status ",
        },
        prog_name="ptrack",
    )
    assert fish.exit_code == 0 and "blocked\t受阻 blocked" in fish.stdout.splitlines()
    powershell = runner.invoke(
        app,
        [],
        env={
            "_PTRACK_COMPLETE": "complete_powershell",
            "_TYPER_COMPLETE_ARGS": "ptrack show T1",
            "_TYPER_COMPLETE_WORD_TO_COMPLETE": "T1",
        },
        prog_name="ptrack",
    )
    assert powershell.exit_code == 0
    assert [line.split(":::")[0] for line in powershell.stdout.splitlines()] == [f"T{n}" for n in range(10, 20)]


def test_a_broken_or_missing_workspace_offers_nothing_and_does_not_fail(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTRACK_DATA", str(tmp_path / "nowhere"))
    assert _bash(runner, "ptrack update T08 -i ") == []
    assert "310000" not in _bash(runner, "ptrack list --region 3100")  # the national registry still answers
