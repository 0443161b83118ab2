"""`--json FIELDS` on list, show, log and progress, as `gh` does; a bare `--json` lists the fields."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from policy_tracker.cli import app
from policy_tracker.jsonfields import HISTORY_FIELDS, PROGRESS_FIELDS, RECORD_FIELDS
from policy_tracker.launch import bare_json


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["list", "--json"], ["list", "--json", "?"]),
        (["list", "--json", "--region", "31"], ["list", "--json", "?", "--region", "31"]),
        (["list", "--json", "id,status"], ["list", "--json", "id,status"]),
        (["update", "T08", "--", "--json"], ["update", "T08", "--", "--json"]),
    ],
)
def test_a_bare_json_asks_for_the_list(args: list[str], expected: list[str]) -> None:
    assert bare_json(args) == expected


def test_a_bare_json_lists_the_fields_from_the_command_line(ws_dir: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "policy_tracker", "list", "--json"],
        capture_output=True,
        text=True,
        env={**os.environ, "PTRACK_DATA": str(ws_dir)},
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[0] == "Specify one or more comma-separated fields for --json:"
    assert [line.strip() for line in run.stdout.splitlines()[1:]] == list(RECORD_FIELDS)


@pytest.mark.parametrize(
    ("command", "fields"),
    [(["list"], RECORD_FIELDS), (["show", "T08"], RECORD_FIELDS), (["log"], HISTORY_FIELDS), (["progress"], PROGRESS_FIELDS)],
)
def test_each_command_lists_its_fields(ws_dir: Path, runner: CliRunner, command: list[str], fields: tuple[str, ...]) -> None:
    result = runner.invoke(app, [*command, "--json", "?"])
    assert result.exit_code == 0, result.output
    assert [line.strip() for line in result.stdout.splitlines()[1:]] == list(fields)


def test_list_prints_only_the_fields_asked_for_in_that_order(ws_dir: Path, runner: CliRunner) -> None:
    assert runner.invoke(app, ["update", "T08", "--region", "31", "--status", "in_progress", "--by", "x"]).exit_code == 0
    result = runner.invoke(app, ["list", "--region", "31", "--json", "status,id,region"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert {"status": "in_progress", "id": "T08", "region": "31"} in rows
    assert all(list(r) == ["status", "id", "region"] for r in rows)


def test_show_prints_one_object(ws_dir: Path, runner: CliRunner) -> None:
    result = runner.invoke(app, ["show", "T13", "--json", "id,title_en,owner"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["id"] == "T13" and shown["owner"] == "CN" and set(shown) == {"id", "title_en", "owner"}


def test_log_and_progress_select_fields(ws_dir: Path, runner: CliRunner) -> None:
    assert runner.invoke(app, ["update", "T08", "--region", "31", "--status", "in_progress", "--by", "王芳"]).exit_code == 0
    log = json.loads(runner.invoke(app, ["log", "--json", "by,task,region"]).stdout)
    assert log == [{"by": "王芳", "task": "T08", "region": "31"}]
    progress = json.loads(runner.invoke(app, ["progress", "--json", "task,assessment"]).stdout)
    assert len(progress) == 23 and set(progress[0]) == {"task", "assessment"}


def test_an_unknown_field_names_the_available_ones(ws_dir: Path, runner: CliRunner) -> None:
    result = runner.invoke(app, ["list", "--json", "id,colour"])
    assert result.exit_code == 1
    assert "unknown JSON field colour" in result.stderr and "title_zh" in result.stderr
