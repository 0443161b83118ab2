"""Issue 8, input and output: numbers keep their digits, broken CSV is refused, user text is text, one clock."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from policy_tracker.cli import app

from conftest import snapshot

IND = "old_compound_renovation_starts"


@pytest.fixture(autouse=True)
def user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTRACK_USER", "张三")


def _ok(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result.stdout


def _fails(runner: CliRunner, ws_dir: Path, args: list[str], expected: str) -> str:
    before = snapshot(ws_dir)
    result = runner.invoke(app, args)
    assert result.exit_code != 0, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert expected in result.stderr, result.stderr
    assert snapshot(ws_dir) == before
    return result.stderr


# ---------------------------------------------------------------------------------------------- 2. numbers


@pytest.mark.parametrize("value", ["12345678", "12345678.9", "0.30000000000000004", "123456789012345.67"])
def test_every_output_writes_a_stored_number_with_all_its_digits(runner: CliRunner, ws_dir: Path, value: str) -> None:
    _ok(runner, "update", "T08", "-r", "31", "-i", f"{IND}={value}", "--date", "2026", "--source", "s")
    rows = list(csv.DictReader(io.StringIO(_ok(runner, "export").lstrip("\ufeff"))))
    assert [r["value"] for r in rows if r["indicator"] == IND and r["region"] == "31"] == [value]
    assert value in _ok(runner, "show", "T08", "-r", "31", "-f", "markdown")
    assert value in _ok(runner, "show", "T08", "-r", "31", "-f", "table")
    assert value in _ok(runner, "log", "-f", "csv")
    assert value in _ok(runner, "log", "-f", "table")
    assert value in _ok(runner, "report", "-r", "31", "--since", "2026-01-01")
    (exported,) = [r for r in json.loads(_ok(runner, "export", "-f", "json")) if r["region"] == "31"]
    (obs,) = exported["record"]["indicators"][0]["observations"]
    assert obs["value"] == float(value)
