"""A planning office's first day: the defects a new user met, each as the kind of fault it is."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from policy_tracker import query, store
from policy_tracker.cli import app
from policy_tracker.errors import PtrackError

ZH_HEADER = "任务,地区,状态,指标,数值,日期,来源,说明,填报人\n"


def _import(runner: CliRunner, tmp_path: Path, text: str, *args: str) -> tuple[int, str]:
    path = tmp_path / "office.csv"
    path.write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["import", str(path), *args])
    return result.exit_code, result.stderr


def test_import_names_the_indicator_by_its_chinese_or_english_name(runner: CliRunner, ws_dir: Path, tmp_path: Path) -> None:
    rows = (
        ZH_HEADER
        + "T08,南京市,in_progress,城镇老旧小区新开工改造数量,0.12,2026/9/30,http://x.gov/1,,张三\n"
        + "T08,南京市,in_progress,elevators retrofitted into existing residential buildings (per year),120,2026,http://x.gov/2,,张三\n"
    )
    code, err = _import(runner, tmp_path, rows)
    assert code == 0, err
    record = store.load_record(ws_dir, "T08", "320100")
    assert record is not None
    values = {i.id: [o.value for o in i.observations] for i in record.indicators}
    assert values["old_compound_renovation_starts"] == [0.12]
    assert values["existing_residential_elevator_retrofits"] == [120]


def test_import_accepts_a_date_on_a_status_row(runner: CliRunner, ws_dir: Path, tmp_path: Path) -> None:
    code, err = _import(runner, tmp_path, ZH_HEADER + "T13,江阴市,in_progress,,,2026Q3,,县级报送,李四\n")
    assert code == 0, err
    record = store.load_record(ws_dir, "T13", "320281")
    assert record is not None and record.status == "in_progress"


def test_import_refuses_a_status_row_whose_date_is_not_a_date(runner: CliRunner, ws_dir: Path, tmp_path: Path) -> None:
    code, err = _import(runner, tmp_path, ZH_HEADER + "T13,江阴市,in_progress,,,someday,,,李四\n")
    assert code == 1
    assert "'someday' is not a date" in err


def test_import_finds_the_author_in_the_workspace_git_config_from_any_folder(
    runner: CliRunner, ws_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PTRACK_USER", raising=False)
    subprocess.run(["git", "init", "-q", str(ws_dir)], check=True)
    subprocess.run(["git", "-C", str(ws_dir), "config", "user.name", "王五"], check=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    code, err = _import(runner, tmp_path, ZH_HEADER + "T08,南京市,in_progress,,,,,,\n", "--data", str(ws_dir))
    assert code == 0, err
    record = store.load_record(ws_dir, "T08", "320100")
    assert record is not None and record.history[-1].by == "王五"


IND = "old_compound_renovation_starts"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["target", "T08", "-r", "南京", "-i", IND, "--value", "0.2", "--year", "2026", "--from", "p", "--source", "s"],
         "Missing option '--note' / '-m'. See 'ptrack target -h'"),
        (["baseline", "T08", "-i", IND, "--value", "abc", "--date", "2024", "--source", "s", "-m", "n"],
         "--value: 'abc' is not a number"),
        (["target", "T08", "-i", IND, "--value", "1", "--year", "20x6", "--from", "p", "--source", "s", "-m", "n"],
         "--year: '20x6' is not a whole number"),
        (["--data", "somewhere", "export"], "--data goes after the command name: write ptrack export --data"),
        (["list", "--colour", "red"], "No such option: --colour. See 'ptrack list -h'"),
        (["nosuch"], "No such command 'nosuch'"),
    ],
)  # fmt: skip
def test_a_usage_error_is_one_line(runner: CliRunner, ws_dir: Path, args: list[str], expected: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1, result.stderr
    assert expected in result.stderr
    assert "Input should be" not in result.stderr


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2026-09-30", "2026-09-30", "2026-09-30"),
        ("2026/9/30", "2026-09-30", "2026-09-30"),
        ("2026年9月", "2026-09-01", "2026-09-30"),
        ("2026-02", "2026-02-01", "2026-02-28"),
        ("2026年12月", "2026-12-01", "2026-12-31"),
        ("2026Q3", "2026-07-01", "2026-09-30"),
        ("2026年第一季度", "2026-01-01", "2026-03-31"),
        ("2026年", "2026-01-01", "2026-12-31"),
    ],
)
def test_a_day_a_person_gives_is_read_as_an_import_reads_it(text: str, start: str, end: str) -> None:
    assert query.parse_day(text).isoformat() == start
    assert query.parse_day(text, "--as-of", end=True).isoformat() == end


def test_a_date_that_is_not_one_names_the_option_and_the_forms() -> None:
    with pytest.raises(PtrackError, match=r"--since: '2026/13/1' is not a real date"):
        query.parse_day("2026/13/1")


def test_update_baseline_and_log_take_the_dates_import_takes(
    runner: CliRunner, ws_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTRACK_USER", "王芳")
    result = runner.invoke(app, ["update", "T08", "-r", "南京", "-i", f"{IND}=0.3", "--date", "2026/9/30", "--source", "s"])
    assert result.exit_code == 0, result.stderr
    result = runner.invoke(app, ["update", "T08", "-r", "南京", "-i", f"{IND}=0.1", "--date", "2026Q2", "--source", "s"])
    assert result.exit_code == 0, result.stderr
    baseline = ["baseline", "T08", "-r", "南京", "-i", IND, "--value", "0.2", "--date", "2024年", "--source", "s", "-m", "n"]
    result = runner.invoke(app, baseline)
    assert result.exit_code == 0, result.stderr
    record = store.load_record(ws_dir, "T08", "320100")
    assert record is not None
    data = next(i for i in record.indicators if i.id == IND)
    assert [(o.date, o.period) for o in data.observations] == [("2026-06-30", "2026Q2"), ("2026-09-30", None)]
    assert data.baseline is not None and data.baseline.date == "2024"
    result = runner.invoke(app, ["log", "--since", "2026年11月", "--format", "csv"])
    assert result.exit_code == 0, result.stderr
    assert "320100" in result.stdout


@pytest.mark.parametrize("year", ["1999", "20300"])
def test_a_target_year_outside_2000_to_2100_is_refused(runner: CliRunner, ws_dir: Path, year: str) -> None:
    args = ["target", "T08", "-i", IND, "--value", "0.2", "--year", year, "--from", "p", "--source", "s", "-m", "n", "--by", "王"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert f"--year {year} is not a plausible target year" in result.stderr and "between 2000 and 2100" in result.stderr


def test_a_city_whose_county_reported_is_not_shown_as_silent(
    runner: CliRunner, ws_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = ZH_HEADER + "T13,江阴市,in_progress,,,2026Q3,,县级报送,李四\n" + "T13,江宁区,in_progress,,,2026Q3,,区级报送,李四\n"
    code, err = _import(runner, tmp_path, rows)
    assert code == 0, err
    monkeypatch.setenv("COLUMNS", "400")
    result = runner.invoke(app, ["matrix", "--region", "江苏省", "--format", "table", "--lang", "en"])
    assert result.exit_code == 0, result.stderr
    t13 = next(line for line in result.stdout.splitlines() if line.lstrip().startswith("T13 "))
    assert t13.count("not reported · 1 region inside reported") == 2  # 南京市 (江宁区) and 无锡市 (江阴市)
    assert "Nanjing 1/23" in result.stdout and "Wuxi 1/23" in result.stdout
    result = runner.invoke(app, ["progress", "--region", "江苏省", "--format", "json"])
    assert result.exit_code == 0, result.stderr
    assert "2 of its 13 members reported (Nanjing, Wuxi)" in result.stdout
    assert "已报送2个（南京市、无锡市）" in result.stdout
