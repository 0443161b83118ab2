"""Roll-up: several workspaces read as one view, read-only, each record with its origin."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from policy_tracker import store
from policy_tracker.cli import app

from conftest import snapshot


@pytest.fixture
def offices(tmp_path: Path, runner: CliRunner) -> tuple[Path, Path, Path]:
    """A national workspace and two provincial ones, each with its own region record."""
    folders = tmp_path / "national", tmp_path / "shanghai", tmp_path / "jiangsu"
    for folder in folders:
        shutil.copytree(store.bundled_dataset(), folder)
    for folder, region, status in ((folders[1], "31", "in_progress"), (folders[2], "32", "blocked")):
        args = ["update", "T08", "--region", region, "--status", status, "--by", "x", "--data", str(folder)]
        assert runner.invoke(app, args).exit_code == 0
    return folders


def with_args(offices: tuple[Path, Path, Path]) -> list[str]:
    national, shanghai, jiangsu = offices
    return ["--data", str(national), "--with", str(shanghai), "--with", str(jiangsu)]


def test_list_shows_every_workspaces_records_with_their_origin(offices: tuple[Path, Path, Path], runner: CliRunner) -> None:
    result = runner.invoke(app, ["list", "--format", "csv", *with_args(offices)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert {(r["id"], r["region"], r["status"], r["origin"]) for r in rows if r["region"] != "CN"} == {
        ("T08", "31", "in_progress", "shanghai"),
        ("T08", "32", "blocked", "jiangsu"),
    }
    assert {r["origin"] for r in rows if r["region"] == "CN"} == {"national"}
    assert "Rolled up: national, shanghai, jiangsu" in result.stderr


def test_a_region_narrows_the_roll_up(offices: tuple[Path, Path, Path], runner: CliRunner) -> None:
    result = runner.invoke(app, ["list", "--format", "json", "--region", "32", *with_args(offices)])
    assert result.exit_code == 0, result.output
    assert [(r["region"], r["origin"]) for r in json.loads(result.stdout)] == [("32", "jiangsu")]


def test_progress_json_names_each_records_origin(offices: tuple[Path, Path, Path], runner: CliRunner) -> None:
    result = runner.invoke(app, ["progress", "--format", "json", *with_args(offices)])
    assert result.exit_code == 0, result.output
    origins = {(r["task"], r["region"]): r["origin"] for r in json.loads(result.stdout)["records"]}
    assert origins[("T08", "31")] == "shanghai" and origins[("T08", "CN")] == "national"


def test_a_roll_up_export_imports_back_as_no_change(offices: tuple[Path, Path, Path], runner: CliRunner, tmp_path: Path) -> None:
    before = [snapshot(f) for f in offices]
    out = tmp_path / "all.csv"
    result = runner.invoke(app, ["export", "-o", str(out), *with_args(offices)])
    assert result.exit_code == 0, result.output
    assert [snapshot(f) for f in offices] == before  # read-only
    header = out.read_text(encoding="utf-8-sig").splitlines()[0]
    assert header.endswith(",origin")
    back = runner.invoke(app, ["import", str(out), "--by", "x", "--data", str(offices[1]), "--dry-run"])
    assert back.exit_code == 0, back.output
    assert "1 record changed" in back.stdout  # Jiangsu's record would be new in Shanghai's workspace
    assert "32 江苏省" in back.stdout and "31 上海市" not in back.stdout  # Shanghai's own: no change


def test_a_workspace_of_another_document_is_refused(offices: tuple[Path, Path, Path], runner: CliRunner) -> None:
    config = offices[2] / "ptrack.yaml"
    config.write_text(config.read_text(encoding="utf-8").replace("title_zh: ", "title_zh: 另一份文件", 1), encoding="utf-8")
    result = runner.invoke(app, ["list", *with_args(offices)])
    assert result.exit_code == 1
    assert "Roll up only workspaces of the same document" in result.stderr


def test_a_folder_that_is_not_a_workspace_is_refused(offices: tuple[Path, Path, Path], runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["report", "--data", str(offices[0]), "--with", str(tmp_path / "nowhere")])
    assert result.exit_code == 1
    assert "nowhere" in result.stderr
