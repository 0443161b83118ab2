"""The read commands through the CLI: list, show, goals, regions, validate, schema, init, where, --version."""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from pathlib import Path

import pytest
from typer.testing import CliRunner

from policy_tracker import __version__
from policy_tracker.cli import app

ANSI = re.compile(r"\x1b\[")


def _width(line: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)


def _ok(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.stderr
    return result.stdout


def test_version(runner: CliRunner) -> None:
    assert _ok(runner, "--version").strip() == f"ptrack {__version__}"


def test_list_json_prints_every_field(runner: CliRunner, ws_dir: Path) -> None:
    tasks = json.loads(_ok(runner, "list", "--goal", "2030", "--format", "json"))
    assert [t["id"] for t in tasks] == [f"T{n:02d}" for n in range(1, 24)]
    t13 = tasks[12]
    assert {"measures", "indicators", "history", "notes", "serves", "lead_units", "sources"} <= set(t13)
    pm25 = next(i for i in t13["indicators"] if i["id"] == "pm25_prefecture_cities")
    assert all(o["source"] for o in pm25["observations"])


def test_list_filters_reach_the_output(runner: CliRunner, ws_dir: Path) -> None:
    ids = [row["id"] for row in csv.DictReader(io.StringIO(_ok(runner, "list", "-g", "2030", "-c", "culture", "-f", "csv")))]
    assert ids == ["T18", "T19", "T20"]
    ids = [t["id"] for t in json.loads(_ok(runner, "list", "--chapter", "八", "--search", "数字", "-f", "json"))]
    assert ids == ["T22"]
    assert json.loads(_ok(runner, "list", "--region", "长三角", "-f", "json")) == []
    assert len(json.loads(_ok(runner, "list", "--region", "CN", "--status", "未开始", "-f", "json"))) == 23


def test_list_csv_has_both_titles(runner: CliRunner, ws_dir: Path) -> None:
    rows = list(csv.DictReader(io.StringIO(_ok(runner, "list", "-f", "csv"))))
    assert rows[7]["title_zh"] == "系统推进“好房子”和完整社区建设"
    assert rows[7]["title_en"].startswith("Systematically advance")
    assert rows[7]["serves"] == "2030.living 2035"


def test_piped_output_defaults_to_csv_without_colour(runner: CliRunner, ws_dir: Path) -> None:
    out = _ok(runner, "list", "--goal", "2030")
    assert out.startswith("id,region,label,chapter,")
    assert not ANSI.search(out)


def test_markdown_table_rows_match_the_header(runner: CliRunner, ws_dir: Path) -> None:
    lines = _ok(runner, "list", "-f", "markdown").strip().splitlines()
    cells = [len(re.split(r"(?<!\\)\|", line)) for line in lines]
    assert len(lines) == 25
    assert len(set(cells)) == 1


@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize("lang", ["zh", "en", "both"])
def test_the_table_fits_the_terminal(runner: CliRunner, ws_dir: Path, width: int, lang: str) -> None:
    result = runner.invoke(app, ["list", "--goal", "2030", "--format", "table", "--lang", lang], env={"COLUMNS": str(width)})
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert max(_width(line.rstrip()) for line in lines) <= width
    assert not ANSI.search(result.stdout)
    for n in range(1, 24):
        assert any(line.lstrip().startswith(f"T{n:02d} ") for line in lines)
    if lang != "en":
        assert "增强超大特大城市综合竞争力" in result.stdout
    if lang != "zh":
        assert "Boost the overall competitiveness" in " ".join(line.strip() for line in lines)


@pytest.mark.parametrize("ref", ["T08", "t8", "8", "08"])
def test_show_accepts_every_spelling(runner: CliRunner, ws_dir: Path, ref: str) -> None:
    record = json.loads(_ok(runner, "show", ref, "-f", "json"))
    assert record["id"] == "T08"
    assert record["label"] == "（八）"


def test_show_panel_has_provenance_indicators_and_history(runner: CliRunner, ws_dir: Path) -> None:
    out = _ok(runner, "show", "T13", "-f", "table")
    assert "加强城市生态环境治理" in out
    assert "Measures not yet encoded" in out  # title-only task: nothing invented
    assert "PM2.5" in out
    assert "no changes recorded yet" in out
    out = _ok(runner, "show", "T18", "-f", "table")
    assert "原文 verbatim" in out
    assert "http://m.law-lib.com" in out


def test_show_markdown(runner: CliRunner, ws_dir: Path) -> None:
    out = _ok(runner, "show", "2")
    assert out.startswith("# T02 （二）增强超大特大城市综合竞争力")
    assert "## Measures" in out


@pytest.mark.parametrize("fmt", ["markdown", "table"])
def test_show_gives_each_figure_as_published_and_its_publisher_before_the_address(
    runner: CliRunner, ws_dir: Path, fmt: str
) -> None:
    out = " ".join(_ok(runner, "show", "T13", "-f", fmt).split())  # a terminal panel wraps long lines
    assert "88.1 (2025); 89.3 (2025; 扣除沙尘异常超标天)" in out  # both 2025 figures, each with its basis
    assert "生态环境部 (2026-01-28 release, via 中新网) — https://us.usy7.cc/usy0129oYR3Go0a.html" in out
    out = " ".join(_ok(runner, "show", "T15", "-f", fmt).split())
    assert "18261 人 (2025)" in out  # in persons, as published, under an indicator in 万人


def test_goals_json_counts_and_mapping(runner: CliRunner, ws_dir: Path) -> None:
    goals = json.loads(_ok(runner, "goals", "-f", "json"))
    g2030, g2035 = goals
    assert g2030["headline_zh"] == "现代化人民城市建设取得重要进展"
    assert [c["key"] for c in g2030["components"]] == [
        "institutions",
        "drivers",
        "living",
        "green",
        "safety",
        "culture",
        "governance",
    ]
    assert g2030["components"][3]["tasks"] == ["T11", "T12", "T13"]
    assert g2030["tasks_whole_goal"] == ["T01", "T02", "T03"]
    assert g2030["status_counts"]["not_started"] == 23
    assert len(g2035["tasks_whole_goal"]) == 23


def test_goals_table(runner: CliRunner, ws_dir: Path) -> None:
    out = _ok(runner, "goals", "-f", "table", "--lang", "zh")
    assert "人居品质明显提升" in out
    assert "T08 T09 T10" in out


def test_regions_tree_and_csv(runner: CliRunner, ws_dir: Path) -> None:
    tree = _ok(runner, "regions", "-f", "table")
    assert "── 320500 苏州市 Suzhou" in tree
    assert "2975 county-level divisions" in tree
    assert "└── 320282 宜兴市 Yixing City" in _ok(runner, "regions", "-f", "table", "--region", "无锡")
    assert "YRD 长三角城市群" in tree
    rows = list(csv.DictReader(io.StringIO(_ok(runner, "regions", "-f", "csv"))))
    assert len(rows) == 1 + 31 + 333 + 2975 + 19
    assert rows[0]["code"] == "CN"
    assert next(r for r in rows if r["zh"] == "北京市")["code"] == "11"
    regions = json.loads(_ok(runner, "regions", "-f", "json"))
    assert next(r for r in regions if r["code"] == "31")["class"] == "super_large"


def test_validate_clean_and_broken(runner: CliRunner, ws_dir: Path) -> None:
    assert "no problems" in _ok(runner, "validate")
    t08 = ws_dir / "T08.yaml"
    t08.write_text(t08.read_text(encoding="utf-8").replace("status: not_started", "status: finished"), encoding="utf-8")
    t09 = ws_dir / "T09.yaml"
    t09.write_text(t09.read_text(encoding="utf-8").replace("owner: CN", "owner: XX"), encoding="utf-8")
    result = runner.invoke(app, ["validate"])
    assert result.exit_code == 1
    problems = result.stdout.strip().splitlines()
    assert len(problems) == 2
    assert re.match(r"^.*T08\.yaml:\d+: status: ", problems[0])
    assert re.match(r"^.*T09\.yaml:\d+: owner: unknown region XX", problems[1])
    assert "2 problems" in result.stderr


@pytest.mark.parametrize("kind", ["task", "goals", "chapters", "regions", "workspace"])
def test_schema_is_json_schema_of_the_files(runner: CliRunner, kind: str) -> None:
    schema = json.loads(_ok(runner, "schema", kind))
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    if kind == "task":
        assert schema["properties"]["status"]["enum"] == ["not_started", "in_progress", "completed", "blocked", "deferred"]


def test_init_then_use_without_data(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = runner.invoke(app, ["init", "team"])
    assert result.exit_code == 0, result.stderr
    assert "Created a ptrack workspace" in result.stderr
    monkeypatch.chdir(tmp_path / "team")
    assert _ok(runner, "where").splitlines()[0] == str((tmp_path / "team").resolve())
    assert len(json.loads(_ok(runner, "list", "-f", "json"))) == 23


def test_first_use_creates_the_per_user_workspace_and_says_where(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["list", "-f", "json"])
    assert result.exit_code == 0
    assert "Created your workspace at" in result.stderr
    assert str(tmp_path / "home") in result.stderr
    again = runner.invoke(app, ["list", "-f", "json"])
    assert again.stderr == ""
    assert again.stdout == result.stdout


def test_the_entry_point_answers_version_without_loading_the_cli() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from policy_tracker.launch import main; sys.argv = ['ptrack', '--version']; main(); "
        "print('typer' in sys.modules)"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.split("\n")[:2] == [f"ptrack {__version__}", "False"]
