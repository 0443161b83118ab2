"""The Excel workbook, opened with openpyxl: sheets, types, frozen headers, drop-downs; and the import of .xlsx."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from policy_tracker.cli import app

from conftest import snapshot

FORMULA_NOTE = '=HYPERLINK("http://evil.example","点此")'


@pytest.fixture
def office_ws(ws_dir: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Jiangsu with a district whose code starts with 0, a formula-looking note, and one observation."""
    regions = ws_dir / "regions.yaml"
    regions.write_text(
        regions.read_text(encoding="utf-8") + "- {code: '010100', zh: 测试区, en: Test District, kind: other, parent: '32'}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("PTRACK_USER", "张三")
    for args in (
        ["update", "T08", "--region", "江苏省", "--status", "in_progress", "--note", FORMULA_NOTE],
        ["update", "T09", "--region", "010100", "--status", "blocked", "--note", "资金未到位"],
        ["update", "T08", "--region", "南京", "--status", "completed", "--source", "宁住建〔2026〕1号"],
        [
            "update", "T08", "--region", "苏州", "-i", "old_compound_renovation_starts=0.31", "--date", "2026-06",
            "--source", "苏住建〔2026〕9号",
        ],
    ):  # fmt: skip
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.stderr
    return ws_dir


def _export(runner: CliRunner, target: Path, *args: str) -> openpyxl.Workbook:
    result = runner.invoke(app, ["export", "--region", "江苏省", *args, "-o", str(target)])
    assert result.exit_code == 0, result.stderr
    return openpyxl.load_workbook(target)


def test_the_workbook_has_typed_sheets_frozen_headers_and_a_status_dropdown(
    runner: CliRunner, office_ws: Path, tmp_path: Path
) -> None:
    book = _export(runner, tmp_path / "js.xlsx")
    assert book.sheetnames == ["tasks", "records", "observations", "assessments", "matrix"]
    for sheet in book.worksheets:
        assert sheet.freeze_panes in ("A2", "C2")
    records = book["records"]
    assert [c.value for c in records[1]] == ["task", "region", "status", "indicator", "value", "date", "source", "note", "by"]
    rows = [[c for c in row] for row in records.iter_rows(min_row=2)]
    district = next(r for r in rows if r[1].value == "010100")
    assert district[1].data_type == "s"  # a code stays text, its leading zero kept
    value = next(r for r in rows if r[3].value == "old_compound_renovation_starts")
    assert value[4].value == 0.31 and value[4].data_type == "n"  # a number stays a number
    assert value[5].value == "2026-06" and value[5].data_type == "s"
    formula = next(r for r in rows if r[0].value == "T08" and r[1].value == "32")
    assert formula[2].value == "in_progress"
    notes = [c.value for c in book["assessments"]["H"]]
    assert FORMULA_NOTE in notes  # user text is shown as it is ...
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            assert all(c.data_type != "f" for c in row)  # ... and never becomes a formula
    rules = records.data_validations.dataValidation
    assert len(rules) == 1 and rules[0].type == "list" and "C2:C1048576" in str(rules[0].sqref)
    assert rules[0].formula1 == '"not_started,in_progress,completed,blocked,deferred"'
    observations = book["observations"]
    assert isinstance(observations["H2"].value, float)
    progress = [c for c in book["assessments"]["F"][1:] if c.value is not None]
    assert all(isinstance(c.value, int | float) and c.number_format == "0%" for c in progress)
    nanjing = next(r for r in book["assessments"].iter_rows(min_row=2, values_only=True) if r[:2] == ("T08", "320100"))
    assert "completed" in str(nanjing[3]) and nanjing[5] is None  # completed is a status, never 100 % progress (issue 10)


def test_chinese_headers_widths_and_the_matrix_sheet(runner: CliRunner, office_ws: Path, tmp_path: Path) -> None:
    book = _export(runner, tmp_path / "js.xlsx", "--lang", "zh")
    assert book.sheetnames == ["任务", "地区记录", "观测值", "评估", "任务×地区"]
    records = book["地区记录"]
    assert [c.value for c in records[1]][:3] == ["任务", "地区", "状态"]
    assert "进行中" in [c.value for c in records["C"]]
    assert records.data_validations.dataValidation[0].formula1 == '"未开始,进行中,已完成,受阻,暂缓"'
    tasks = book["任务"]
    title_width = tasks.column_dimensions["D"].width
    longest = max(len(str(c.value)) for c in tasks["D"][1:])
    assert title_width >= min(60, 2 * longest)  # a CJK character takes two columns
    matrix = book["任务×地区"]
    header = [c.value for c in matrix[1]]
    assert header[:3] == ["任务", "标题", "江苏省"] and "测试区" in header and "苏州市" in header
    assert matrix.max_row == 24  # the 23 tasks
    column = header.index("测试区") + 1
    cells = [matrix.cell(row=r, column=column).value for r in range(2, 25)]
    assert cells.count("未报送") == 22 and any(str(c).startswith("受阻") for c in cells)


@pytest.mark.parametrize("lang", ["en", "zh", "both"])
def test_the_records_sheet_reads_back_as_nothing_to_change(runner: CliRunner, office_ws: Path, tmp_path: Path, lang: str) -> None:
    target = tmp_path / "back.xlsx"
    _export(runner, target, "--lang", lang)
    before = snapshot(office_ws)
    result = runner.invoke(app, ["import", str(target), "--by", "李四"])
    assert result.exit_code == 0, result.stderr
    assert "Nothing to change" in result.stdout + result.stderr
    assert snapshot(office_ws) == before


def test_a_workbook_an_office_filled_in_is_imported(runner: CliRunner, office_ws: Path, tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["task", "region", "status", "indicator", "value", "date", "source", "note", "by"])
    sheet.append(["T08", 320500, None, "old_compound_renovation_starts", 0.45, "2026-09", "苏住建〔2026〕12号", None, "王五"])
    sheet.append(["T10", "江苏省", "进行中", None, None, None, None, "=SUM(A1)", "王五"])
    sheet["H3"].data_type = "s"  # typed as text in Excel: '=SUM(A1)
    sheet.append([None] * 9)  # an empty row is skipped
    target = tmp_path / "q3.xlsx"
    book.save(target)
    result = runner.invoke(app, ["import", str(target)])
    assert result.exit_code == 0, result.stderr
    text = (office_ws / "records" / "32" / "T10.yaml").read_text(encoding="utf-8")
    assert "in_progress" in text and "=SUM(A1)" in text
    assert "0.45" in (office_ws / "records" / "320500" / "T08.yaml").read_text(encoding="utf-8")


def test_a_bad_row_in_a_workbook_is_named_by_its_sheet_row(runner: CliRunner, office_ws: Path, tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["task", "region", "note"])
    sheet.append(["T08", "江苏省", "第一行\n有两行"])  # a line break inside a cell
    sheet.append(["T99", "江苏省", None])
    sheet.append(["T08", "江苏省", dt.date(2026, 9, 30)])
    target = tmp_path / "bad.xlsx"
    book.save(target)
    before = snapshot(office_ws)
    result = runner.invoke(app, ["import", str(target), "--by", "王五"])
    assert result.exit_code == 1
    assert "row 3, column task" in result.stderr and "Traceback" not in result.stderr
    assert snapshot(office_ws) == before


def test_a_file_named_xlsx_that_is_not_a_workbook_is_one_clear_error(runner: CliRunner, office_ws: Path, tmp_path: Path) -> None:
    target = tmp_path / "fake.xlsx"
    target.write_bytes(b"PK\x03\x04 not really a zip")
    result = runner.invoke(app, ["import", str(target), "--by", "王五"])
    assert result.exit_code == 1
    assert "is not an Excel workbook" in result.stderr and "Traceback" not in result.stderr


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(note=st.text(max_size=40))
def test_any_note_leaves_and_comes_back_as_the_same_text_never_a_formula(note: str) -> None:
    import io

    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    from policy_tracker.models import RegionRecord
    from policy_tracker.workbook import export_workbook, read_workbook_rows

    record = RegionRecord.model_validate(
        {"schema_version": 1, "task": "T08", "region": "32", "indicators": [{"id": "old_compound_renovation_starts",
         "observations": [{"date": "2026-06", "value": 0.31, "source": "苏住建〔2026〕9号", "note": note}]}]},
    )  # fmt: skip
    data = export_workbook([("32", record)], [], [], [], None, "en")
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert all(c.data_type != "f" for row in book["records"].iter_rows() for c in row)
    rows = read_workbook_rows(data, "n.xlsx")
    expected = ILLEGAL_CHARACTERS_RE.sub("\ufffd", note).strip()  # import reads a cell without its outer spaces
    assert [r.get("note") for r in rows if r.get("indicator")] == [expected]
