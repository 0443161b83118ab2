"""Bad input: one clear line on stderr, a non-zero exit code, no traceback, and every file as it was."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from policy_tracker.cli import app

from conftest import snapshot


def _fails(runner: CliRunner, ws_dir: Path, args: list[str], *expected: str) -> str:
    before = snapshot(ws_dir)
    result = runner.invoke(app, args)
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: ")
    for text in expected:
        assert text in result.stderr
    assert snapshot(ws_dir) == before
    return result.stderr


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["show", "T24"], ["there is no task T24", "T01 to T23"]),
        (["show", "../x"], ["'../x' is not a task ID", "T01 ... T23"]),
        (["show", "T08/../../etc"], ["not a task ID"]),
        (["list", "--status", "complete"], ["unknown status 'complete'", "did you mean completed", "in_progress"]),
        (["list", "--region", "Shangai"], ["unknown region 'Shangai'", "Shanghai"]),
        (["list", "--region", "朝阳区"], ["matches several regions", "110105 朝阳区 (北京市)", "220104 朝阳区 (长春市、吉林省)"]),
        (["list", "--goal", "2040"], ["unknown goal '2040'", "2030, 2035"]),
        (["list", "--component", "housing"], ["unknown component 'housing'", "3 living"]),
        (["list", "--chapter", "十"], ["unknown chapter '十'"]),
        (["list", "--sort", "colour"], ["cannot sort by 'colour'"]),
        (["show", "8", "--format", "csv"], ["--format csv is not available here"]),
    ],
)
def test_bad_arguments(runner: CliRunner, ws_dir: Path, args: list[str], expected: list[str]) -> None:
    stderr = _fails(runner, ws_dir, args, *expected)
    assert len(stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("status: [\n", "T08.yaml:2: not valid YAML"),
        ("", "T08.yaml: file is empty"),
        ("- a\n- b\n", "T08.yaml:1: expected fields (name: value), got a list"),
        ("a: &x 1\nb: *x\n", "T08.yaml:1: not valid YAML: anchors and aliases"),
        ("id: T08\nid: T08\n", "T08.yaml:2: not valid YAML: duplicate key 'id'"),
    ],
)
def test_broken_files_are_reported_by_file_and_line(runner: CliRunner, ws_dir: Path, content: str, expected: str) -> None:
    (ws_dir / "T08.yaml").write_text(content, encoding="utf-8")
    stderr = _fails(runner, ws_dir, ["list"], expected, "ptrack validate")
    assert stderr.count("\n") == 2  # the problem, then the summary


def test_an_unknown_field_or_wrong_type_names_file_line_and_field(runner: CliRunner, ws_dir: Path) -> None:
    t08 = ws_dir / "T08.yaml"
    text = t08.read_text(encoding="utf-8")
    t08.write_text(
        text.replace("owner: CN", "owner: CN\nowner_name: 全国").replace("number: 8", "number: eight"), encoding="utf-8"
    )
    stderr = _fails(runner, ws_dir, ["show", "8"], "owner_name: unknown field", "number: ")
    assert all(line.startswith("ws/T08.yaml:") for line in stderr.splitlines()[:-1])


@pytest.mark.parametrize("make", ["missing", "not-a-workspace"])
def test_a_bad_data_folder(runner: CliRunner, ws_dir: Path, tmp_path: Path, make: str) -> None:
    target = tmp_path / make
    if make == "not-a-workspace":
        target.mkdir()
    _fails(runner, ws_dir, ["list", "--data", str(target)], str(target), "ptrack init")


def test_a_bad_ptrack_data_variable(runner: CliRunner, ws_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTRACK_DATA", str(tmp_path / "nowhere"))
    _fails(runner, ws_dir, ["goals"], "from $PTRACK_DATA")


def test_init_over_a_workspace(runner: CliRunner, ws_dir: Path) -> None:
    _fails(runner, ws_dir, ["init", str(ws_dir)], "already a ptrack workspace")


def test_user_text_with_markup_is_printed_as_written(runner: CliRunner, ws_dir: Path) -> None:
    _fails(runner, ws_dir, ["list", "--region", "[bold]x[/bold]"], "'[bold]x[/bold]'")


def test_usage_errors_keep_typer_exit_code_2(runner: CliRunner, ws_dir: Path) -> None:
    result = runner.invoke(app, ["list", "--colour", "red"])
    assert result.exit_code == 2
    result = runner.invoke(app, ["list", "--lang", "fr"])
    assert result.exit_code == 2
