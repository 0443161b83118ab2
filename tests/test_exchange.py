"""Spreadsheets: encodings Excel writes, formula neutralising, and all-or-nothing row checks."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policy_tracker import csvfile, exchange, store
from policy_tracker.errors import PtrackError
from policy_tracker.models import RegionRecord, Task, Workspace

HEADER = "task,region,status,indicator,value,date,source,note,by\n"


@pytest.fixture(scope="module")
def ws() -> Workspace:
    return store.load_workspace(store.bundled_dataset())


def _current(ws: Workspace):  # type: ignore[no-untyped-def]
    def current(task: str, region: str) -> Task | RegionRecord:
        if region == "CN":
            return next(t for t in ws.tasks if t.id == task)
        return RegionRecord(schema_version=1, task=task, region=region)

    return current


@pytest.mark.parametrize(
    "encode",
    [lambda s: s.encode("utf-8"), lambda s: ("\ufeff" + s).encode("utf-8"), lambda s: s.encode("gb18030")],
    ids=["utf-8", "utf-8-bom", "gb18030"],
)
def test_the_encodings_excel_writes(encode) -> None:  # type: ignore[no-untyped-def]
    text = HEADER + "T08,上海市,进行中,,,,,改造计划已批复,张三\n"
    assert exchange.decode(encode(text), "f.csv") == text


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("任务\n".encode("utf-16"), "UTF-16"),
        (b"task\n\x00\x01", "not a text file"),
        (b"task\n\xff\xfe\xfa", r"byte 5 \(line 2\) is not UTF-8"),
    ],
)
def test_unexpected_encodings_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(PtrackError, match=message):
        exchange.decode(data, "f.csv")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is empty"),
        ("task,colour\n", "unknown column colour"),
        ("region,status\n", "no 'task' column"),
        ("task,task\n", "appears twice"),
    ],
)
def test_bad_headers(text: str, message: str) -> None:
    with pytest.raises(PtrackError, match=message):
        exchange.read_rows(text, "f.csv")


def test_every_bad_row_is_reported_with_its_row_and_column(ws: Workspace) -> None:
    text = (
        HEADER
        + "T08,31,in_progress,,,,,,\n"  # row 2: fine
        + "T24,31,,,,,,,\n"  # row 3: no such task
        + "T08,Atlantis,,,,,,,\n"  # row 4: no such region
        + "T08,31,done,,,,,,\n"  # row 5: no such status
        + "T08,32,,old_compound_renovation_starts,lots,2026,s,,\n"  # row 6: not a number
        + "T08,32,,old_compound_renovation_starts,1.5,June,s,,\n"  # row 7: not a date
        + "T08,32,,old_compound_renovation_starts,1.5,2026,,,\n"  # row 8: no source
        + "T08,32,,pm25_prefecture_cities,1.5,2026,s,,\n"  # row 9: indicator of another task
        + "T08,33,,,1.5,2026,,,\n"  # row 10: a value without its indicator
        + "T08,,,old_compound_renovation_starts,9,2025,s,,\n"  # row 11: a different value for a recorded date
        + "T08,31,,,,,,,,extra\n"  # row 12: more cells than columns
    )
    _, problems = exchange.plan_import(exchange.read_rows(text, "f.csv"), ws, _current(ws))
    assert [p.split(":")[0] for p in problems] == [
        "row 3, column task",
        "row 4, column region",
        "row 5, column status",
        "row 6, column value",
        "row 7, column date",
        "row 8, column source",
        "row 9, column indicator",
        "row 10, column indicator",
        "row 11, column value",
        "row 12",
    ]
    assert "there is no task T24" in problems[0]
    assert "--correct" in problems[8]


def test_rows_group_by_record(ws: Workspace) -> None:
    text = (
        HEADER
        + "T08,上海市,进行中,,,,,计划已批复,张三\n"
        + "T08,31,,old_compound_renovation_starts,0.12,2026,沪住建〔2026〕3号,一季度,张三\n"
        + "t8,,,,,,,,\n"
    )
    imports, problems = exchange.plan_import(exchange.read_rows(text, "f.csv"), ws, _current(ws))
    assert problems == []
    assert [(i.task, i.region, i.rows, i.by) for i in imports] == [("T08", "31", [2, 3], "张三"), ("T08", "CN", [4], None)]
    edit = imports[0].edit
    assert edit.status == "in_progress" and edit.note == "计划已批复"
    (obs,) = edit.observations
    assert (obs.indicator, obs.value, obs.date, obs.source, obs.note) == (
        "old_compound_renovation_starts",
        0.12,
        "2026",
        "沪住建〔2026〕3号",
        "一季度",
    )


def test_conflicting_rows_for_one_record(ws: Workspace) -> None:
    text = HEADER + "T08,31,in_progress,,,,,,a\nT08,31,blocked,,,,,,b\n"
    _, problems = exchange.plan_import(exchange.read_rows(text, "f.csv"), ws, _current(ws))
    assert "row 3, column status: T08 31 is given two statuses" in problems[0]
    assert "row 3, column by" in problems[1]


@pytest.mark.parametrize("cell", ["=1+1", "+cmd", "-2+3", "@SUM(A1)", "\t=x", '=HYPERLINK("http://x")', "'=already"])
def test_formulas_are_neutralised(cell: str) -> None:
    shown = csvfile.neutralise(cell)
    assert shown.startswith("'")
    assert csvfile.unneutralise(shown) == cell


@pytest.mark.parametrize("cell", ["-3.5", "+2", "1e3", "plain", "上海"])
def test_numbers_and_text_are_left_alone(cell: str) -> None:
    assert csvfile.neutralise(cell) == cell


@given(st.text(alphabet=st.sampled_from("'=+-@\t\r1.a上")) | st.text())
def test_neutralising_round_trips_any_text(cell: str) -> None:
    shown = csvfile.neutralise(cell)
    if shown.startswith(("=", "+", "-", "@", "\t", "\r")):
        float(shown)  # only a plain number may start like a formula
    assert csvfile.unneutralise(shown) == cell


@given(st.text(alphabet=st.sampled_from("'=+-@\t\r1.a上")) | st.text())
def test_a_text_cell_is_neutralised_the_same_by_the_quick_path(cell: str) -> None:
    assert csvfile.cell_text(cell) == csvfile.neutralise(cell)


def test_export_is_excel_friendly_csv(ws: Workspace) -> None:
    data = exchange.export_csv(exchange.export_rows([("CN", ws.tasks[7])]))
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == list(exchange.COLUMNS)
    assert rows[1] == ["T08", "CN", "not_started", "", "", "", "", "", ""]
    assert ["T08", "CN", "", "old_compound_renovation_starts", "2.71", "2025"] in [r[:6] for r in rows]


@given(st.text(alphabet=st.sampled_from(list('ab,"\r\n\u2028 张')), max_size=40))
def test_an_import_file_is_split_into_lines_as_the_csv_reader_expects(text: str) -> None:
    from policy_tracker.exchange import _lines

    # one line at a time (a 20 MB file is not copied), exactly as StringIO(newline="") splits it for csv
    assert list(_lines(text)) == list(io.StringIO(text, newline=""))
