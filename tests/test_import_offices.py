"""Importing spreadsheets as offices write them: Chinese headers, every date form, units, progress and summary."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from policy_tracker import cells, store
from policy_tracker.cli import app
from policy_tracker.regions import RETIRED

from conftest import REPO, snapshot

ZH_HEADER = "任务,地区,状态,指标,数值,日期,来源,说明,填报人\n"
IND = "old_compound_renovation_starts"  # T08, in 万个 (10,000 compounds)


def _ok(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.stderr
    return result.stdout


def _fails(runner: CliRunner, ws_dir: Path, args: list[str], *expected: str) -> str:
    before = snapshot(ws_dir)
    result = runner.invoke(app, args)
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    for text in expected:
        assert text in result.stderr
    assert "?." not in result.stderr and ".." not in result.stderr  # every message reads as a sentence
    assert snapshot(ws_dir) == before
    return result.stderr


def _observations(ws_dir: Path, region: str, task: str = "T08") -> list[dict[str, object]]:
    record = store.load_record(ws_dir, task, region)
    assert record is not None
    return [o.model_dump(exclude_none=True, exclude_defaults=True) for i in record.indicators for o in i.observations]


# ---------------------------------------------------------------------------------------------- cells


@pytest.mark.parametrize(
    ("text", "date", "period"),
    [
        ("2026-09-30", "2026-09-30", None),
        ("2026/9/30", "2026-09-30", None),
        ("2026.9.30", "2026-09-30", None),
        ("2026年9月30日", "2026-09-30", None),
        ("２０２６年９月３０日", "2026-09-30", None),
        ("2026-09-30 00:00:00", "2026-09-30", None),
        ("2026年9月", "2026-09", None),
        ("2026/9", "2026-09", None),
        ("2026年", "2026", None),
        ("2026", "2026", None),
        ("2026Q3", "2026-09-30", "2026Q3"),
        ("2026 q1", "2026-03-31", "2026Q1"),
        ("2026年第三季度", "2026-09-30", "2026Q3"),
        ("2026年第4季度", "2026-12-31", "2026Q4"),
    ],
)
def test_every_date_form_keeps_its_precision(text: str, date: str, period: str | None) -> None:
    assert cells.parse_date(text) == cells.CellDate(date, period)


@pytest.mark.parametrize("text", ["2026-02-30", "2026年13月", "九月", "2026Q5", "30/9/2026", ""])
def test_what_is_not_a_date_says_the_forms(text: str) -> None:
    with pytest.raises(ValueError, match="not a"):
        cells.parse_date(text)


@pytest.mark.parametrize(
    ("text", "unit", "value"),
    [
        ("68.2", "%", 68.2),
        ("68.2%", "%", 68.2),
        ("６８．２％", "%", 68.2),
        ("3.5 %", "% per year", 3.5),
        ("12,345.6", "万人 (10,000 persons)", 12345.6),
        ("１２，３４５万人", "万人 (10,000 persons)", 12345.0),
        ("1,250部", "部 (units)", 1250.0),
        ("1,250 units", "部 (units)", 1250.0),
        ("-0.5", "万个 (10,000 compounds)", -0.5),
        ("1e3", "km", 1000.0),
    ],
)
def test_numbers_as_written(text: str, unit: str, value: float) -> None:
    assert cells.parse_value(text, unit) == value


def test_a_value_in_another_unit_names_both() -> None:
    with pytest.raises(ValueError) as info:
        cells.parse_value("27412人", "万人 (10,000 persons)")
    assert "'27412人' is in 人, but the indicator is in 万人 (10,000 persons)" in str(info.value)
    for text in ("1,23", "12,34,5", "abc", "1.2.3"):
        with pytest.raises(ValueError, match="is not a number"):
            cells.parse_value(text, "%")


@given(st.integers(min_value=0, max_value=10**12), st.integers(min_value=0, max_value=99))
def test_thousands_separators_round_trip(whole: int, cents: int) -> None:
    assert cells.parse_value(f"{whole:,}.{cents:02d}", "%") == float(f"{whole}.{cents:02d}")


@pytest.mark.parametrize(
    ("header", "key"),
    [("任务", "task"), (" Task ", "task"), ("ＴＡＳＫ", "task"), ("地　区", "region"), ("\ufeff填报人", "by"), ("备注", "note")],
)
def test_headers_in_either_language(header: str, key: str) -> None:
    assert cells.column_key(header) == key


# ---------------------------------------------------------------------------------------------- the command


def test_an_office_spreadsheet_with_chinese_headers_and_every_date_form(
    runner: CliRunner, ws_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PTRACK_USER", raising=False)
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "no-gitconfig"))  # nobody is named but the rows
    dates = ["2026-09-30", "2026/8/31", "2026.7.31", "2026年6月30日", "2026年5月", "2025年", "2024Q3", "2023年第二季度"]
    lines = [" 任务 ,地区,状态,指标,数值,日期,来源,说明,填报人\n", "Ｔ０８,南京市,进行中,,,,,计划已批复,王芳\n"]
    lines += [f'T08,南京,,{IND},"1,{k}00",{d},宁建〔2026〕{k}号,,王芳\n' for k, d in enumerate(dates, 1)]
    lines.append(f"8,320115,,{IND},0.5万个,2026-09,江宁〔2026〕1号,,赵敏\n")
    sheet = tmp_path / "江苏.csv"
    sheet.write_bytes("".join(lines).encode("gb18030"))

    out = _ok(runner, "import", str(sheet), "--dry-run")  # every row names its reporter: no --by needed
    assert "Would import 江苏.csv" in out and "2 records changed, 9 observations added, 0 rows unchanged." in out
    out = _ok(runner, "import", str(sheet))
    assert "320100 南京市" in out and "320115 江宁区" in out and "by 王芳、赵敏: 2 records changed" in out

    stored = _observations(ws_dir, "320100")
    assert [(o["date"], o.get("period"), o["value"]) for o in stored] == [
        ("2023-06-30", "2023Q2", 1800.0),
        ("2024-09-30", "2024Q3", 1700.0),
        ("2025", None, 1600.0),
        ("2026-05", None, 1500.0),
        ("2026-06-30", None, 1400.0),
        ("2026-07-31", None, 1300.0),
        ("2026-08-31", None, 1200.0),
        ("2026-09-30", None, 1100.0),
    ]
    assert store.load_record(ws_dir, "T08", "320100").status == "in_progress"  # type: ignore[union-attr]
    assert [o["value"] for o in _observations(ws_dir, "320115")] == [0.5]
    entries = json.loads(_ok(runner, "log", "-f", "json"))
    assert {e["by"] for e in entries} == {"王芳", "赵敏"}
    # The same file again: nothing new (its note is not recorded twice), and it says so.
    result = runner.invoke(app, ["import", str(sheet)])
    assert result.exit_code == 0 and "Nothing to change" in result.stderr and "(10 rows unchanged)" in result.stderr


def test_problems_in_an_office_spreadsheet_are_listed_and_nothing_changes(
    runner: CliRunner, ws_dir: Path, tmp_path: Path
) -> None:
    sheet = tmp_path / "bad.csv"
    sheet.write_text(
        ZH_HEADER
        + f"T08,南京市,,{IND},27412个,2026,来源,,王芳\n"
        + f"T08,朝阳区,,{IND},1,2026,来源,,王芳\n"
        + f"T08,南京市,,{IND},1,2026年第五季度,来源,,王芳\n",
        encoding="utf-8",
    )
    stderr = _fails(
        runner,
        ws_dir,
        ["import", str(sheet), "--by", "张三"],
        "row 2, column value: '27412个' is in 个, but the indicator is in 万个 (10,000 compounds)",
        "row 3, column region: '朝阳区' matches several regions: 110105 朝阳区 (北京市); 220104 朝阳区 (长春市、吉林省)",
        "row 4, column date: '2026年第五季度' is not a date",
        "3 problems in",
    )
    assert "Give the region's code" in stderr


def test_without_a_reporter_a_name_is_asked_for_in_a_sentence(
    runner: CliRunner, ws_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PTRACK_USER", raising=False)
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "no-gitconfig"))
    sheet = tmp_path / "s.csv"
    sheet.write_text(ZH_HEADER + "T08,上海,进行中,,,,,,王芳\nT09,北京,进行中,,,,,,\n", encoding="utf-8")
    for args in (["import", str(sheet)], ["import", str(sheet), "--dry-run"]):
        _fails(runner, ws_dir, args, "no name is given for who reported rows 3. Fill the by (填报人) column")
    out = _ok(runner, "import", str(sheet), "--by", "张三", "--dry-run")
    assert "Would import s.csv as change" in out and "by 张三 (rows reported by 王芳)" in out


def test_a_code_excel_stripped_of_its_leading_zero_is_restored(runner: CliRunner, ws_dir: Path, tmp_path: Path) -> None:
    with open(ws_dir / "regions.yaml", "a", encoding="utf-8") as f:
        f.write("- {code: '0101', zh: 示范区, en: Pilot Zone, kind: other, parent: '32'}\n")
    sheet = tmp_path / "s.csv"
    sheet.write_text(ZH_HEADER + "T08,101,进行中,,,,,,王芳\n", encoding="utf-8")
    assert "0101 示范区" in _ok(runner, "import", str(sheet))
    assert store.load_record(ws_dir, "T08", "0101") is not None


def _big_sheet(path: Path, n_regions: int = 250, per_region: int = 20) -> list[str]:
    """`n_regions` × `per_region` rows: a status row and monthly observations for each county of the registry."""
    from policy_tracker.regions import Registry

    counties = [r.code for r in Registry([]) if r.kind == "county"][:n_regions]
    lines = [ZH_HEADER]
    for code in counties:
        lines.append(f"T08,{code},进行中,,,,,,王芳\n")
        for k in range(1, per_region):
            lines.append(f"T08,{code},,{IND},{k / 10},{2020 + k // 12}年{k % 12 + 1}月,统计月报{k},,王芳\n")
    path.write_text("".join(lines), encoding="utf-8")
    return counties


def test_an_import_of_5000_rows_ends_with_a_summary_per_region(runner: CliRunner, ws_dir: Path, tmp_path: Path) -> None:
    sheet = tmp_path / "big.csv"
    counties = _big_sheet(sheet)
    result = runner.invoke(app, ["import", str(sheet)])
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "250 records changed, 4,750 observations added, 0 rows unchanged." in lines[0]
    assert len(lines) == 1 + 1 + 250  # the totals, the header and one line per region: no per-record detail
    assert lines[2].split()[:4] == [counties[0], "东城区", "1", "19"]
    assert "━" not in result.stderr  # no terminal, no progress bar
    verbose = runner.invoke(app, ["import", str(sheet), "--verbose"])
    assert verbose.exit_code == 0 and "Nothing to change" in verbose.stderr and "5,000 rows unchanged" in verbose.stderr


def test_a_long_import_shows_a_progress_bar_on_a_terminal_only(ws_dir: Path, tmp_path: Path) -> None:
    sheet = tmp_path / "big.csv"
    _big_sheet(sheet, n_regions=60)
    env = {**os.environ, "PTRACK_USER": "张三", "TERM": "xterm-256color", "COLUMNS": "100", "PYTHONPATH": str(REPO)}
    env.pop("NO_COLOR", None)
    command = [sys.executable, "-m", "policy_tracker", "import", str(sheet), "--dry-run"]
    controller, terminal = pty.openpty()
    process = subprocess.Popen(command, stdin=terminal, stdout=terminal, stderr=terminal, env=env, close_fds=True)
    os.close(terminal)
    seen = b""
    while True:  # read until the process closes the terminal: no timing involved
        select.select([controller], [], [])
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # EIO: the other end is closed
            break
        if not chunk:
            break
        seen += chunk
    os.close(controller)
    assert process.wait() == 0
    text = seen.decode("utf-8", errors="replace")
    assert "Checking rows" in text and "━" in text  # the bar, drawn on the terminal
    assert "Would import big.csv" in text and "60 records changed, 1,140 observations added" in text

    piped = subprocess.run(command, capture_output=True, env=env, check=True)
    assert b"Checking rows" not in piped.stderr and b"\x1b[" not in piped.stderr + piped.stdout


# ---------------------------------------------------------------------------------------------- migration


def _old_style_record(ws_dir: Path, runner: CliRunner, code: str = "310000") -> Path:
    """A record as ptrack kept it before the registry had every division: 上海 as the city 310000."""
    _ok(runner, "update", "T08", "--region", "31", "--status", "in_progress", "--note", "计划已批复", "--by", "张三")
    new = ws_dir / "records" / "31" / "T08.yaml"
    old = ws_dir / "records" / code / "T08.yaml"
    old.parent.mkdir()
    old.write_text(new.read_text(encoding="utf-8").replace("region: '31'", f"region: '{code}'"), encoding="utf-8")
    new.unlink()
    new.parent.rmdir()
    with open(ws_dir / "regions.yaml", "a", encoding="utf-8") as f:
        f.write(f"- {{code: '{code}', zh: 上海, en: Shanghai, kind: city, parent: '31', class: super_large}}\n")
    return old


def test_a_workspace_with_a_310000_record_is_migrated_with_its_history(runner: CliRunner, ws_dir: Path) -> None:
    old = _old_style_record(ws_dir, runner)
    result = runner.invoke(app, ["validate"])
    assert result.exit_code == 1 and "region 310000 is now 31: run `ptrack migrate-regions`" in result.stdout
    before = snapshot(ws_dir)
    dry = _ok(runner, "migrate-regions", "--dry-run", "--by", "张三")
    assert "records/310000/T08.yaml → " in dry and "records/31/T08.yaml" in dry
    assert snapshot(ws_dir) == before

    out = _ok(runner, "migrate-regions", "--by", "张三")
    assert "Moved 1 record" in out and "regions.yaml: retired entries 310000 removed" in out
    assert not old.exists() and not old.parent.exists()
    record = store.load_record(ws_dir, "T08", "31")
    assert record is not None and record.region == "31" and record.status == "in_progress"
    first, moved = record.history
    assert first.note == "计划已批复"  # the history before the move is kept
    assert [(c.field, c.old, c.new) for c in moved.changes] == [("region", "310000", "31")]
    assert record.revision == 2
    assert "310000" not in (ws_dir / "regions.yaml").read_text(encoding="utf-8")
    assert "no problems" in _ok(runner, "validate")
    for name in ("上海", "上海市", "Shanghai", "沪", "310000", "31"):
        listed = json.loads(_ok(runner, "list", "--region", name, "-f", "json"))
        assert [(r["task"], r.get("region", "CN")) for r in listed if r.get("region")] == [("T08", "31")], name
    _fails(runner, ws_dir, ["undo", "--by", "张三"], "cannot be undone")
    assert "Nothing to migrate" in runner.invoke(app, ["migrate-regions", "--by", "张三"]).stderr


def test_a_place_recorded_under_both_codes_is_not_migrated(runner: CliRunner, ws_dir: Path) -> None:
    _old_style_record(ws_dir, runner, "110000")
    _ok(runner, "update", "T08", "--region", "北京", "--status", "blocked", "--by", "张三")
    _fails(runner, ws_dir, ["migrate-regions", "--by", "张三"], "records/110000/T08.yaml and ", "records/11/T08.yaml are records")
    assert RETIRED["110000"] == "11"
