"""Issue 8, input and output: numbers keep their digits, broken CSV is refused, user text is text, one clock."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from policy_tracker import exchange, store
from policy_tracker.cli import app
from policy_tracker.errors import PtrackError
from policy_tracker.models import RegionRecord, Workspace

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


# ---------------------------------------------------------------------------------------------- 3. broken CSV


@pytest.fixture(scope="module")
def ws() -> Workspace:
    return store.load_workspace(store.bundled_dataset())


HEADER = "task,region,status,indicator,value,date,source,note,by\n"


def test_an_unterminated_quote_is_refused_where_it_opens() -> None:
    text = HEADER + "T08,31,in_progress,,,,,,\n" + 'T08,32,,,,,,"starts here,\n' + "T09,32,blocked,,,,,,\nT10,33,blocked,,,,,,\n"
    with pytest.raises(PtrackError, match=r"f\.csv: line 3, column note: a quote .* is never closed"):
        exchange.read_rows(text, "f.csv")


def test_text_after_a_closing_quote_is_refused() -> None:
    with pytest.raises(PtrackError, match=r"line 2"):
        exchange.read_rows(HEADER + 'T08,31,,,,,,"a"b,\n', "f.csv")


@pytest.mark.parametrize("row", ["T08,31,in_progress\n", "T08,31,in_progress,,,,,,,\n"], ids=["too-few", "too-many"])
def test_a_row_with_the_wrong_number_of_cells_is_an_error(row: str, ws: Workspace) -> None:
    rows = exchange.read_rows(HEADER + row, "f.csv")
    _, problems = exchange.plan_import(rows, ws, lambda task, region: RegionRecord(schema_version=1, task=task, region=region))
    assert len(problems) == 1 and re.match(r"row 2: \d+ cells; the header has 9", problems[0])


UTF8_ROW = "T08,上海市,进行中,,,,,改造计划已批复,张三\n".encode()


@pytest.mark.parametrize(
    "data",
    [
        HEADER.encode() + b"T08,31,in_progress,,,,,caf\xe9s " + "张三,王芳\n".encode(),  # all of it decodes as GB18030
        HEADER.encode() + UTF8_ROW + b"T09,32,blocked,,,,,caf\xe9s,\n" + UTF8_ROW,
        HEADER.encode() + UTF8_ROW[:-8] + b"\xd5" + UTF8_ROW[-8:],
        HEADER.encode() + b"T09,32,blocked,,,,,caf\xe9s ok,\n",
    ],
    ids=["mojibake-as-gb18030", "latin-1-byte", "stray-byte-in-chinese", "ascii-file"],
)
def test_a_stray_byte_in_a_utf8_file_is_refused_not_read_as_gb18030(data: bytes) -> None:
    with pytest.raises(PtrackError, match=r"f\.csv: byte \d+ \(line [23]\) is not UTF-8") as e:
        exchange.decode(data, "f.csv")
    assert "--encoding gb18030" in str(e.value)


def test_a_gb18030_file_is_read_as_gb18030_and_utf8_can_be_insisted_on() -> None:
    text = HEADER + "T08,上海市,进行中,,,,,改造计划已批复,王芳\nT09,苏州,blocked,,,,,资金未到位,\n"
    assert exchange.decode(text.encode("gb18030"), "f.csv") == text
    assert exchange.decode(text.encode("gb18030"), "f.csv", encoding="gb18030") == text
    with pytest.raises(PtrackError, match=r"byte \d+ \(line 2\) is not UTF-8"):
        exchange.decode(text.encode("gb18030"), "f.csv", encoding="utf-8")
    with pytest.raises(PtrackError, match="unknown encoding 'klingon'"):
        exchange.decode(b"task\n", "f.csv", encoding="klingon")


def test_import_refuses_a_broken_file_and_takes_an_encoding(runner: CliRunner, ws_dir: Path, tmp_path: Path) -> None:
    sheet = tmp_path / "s.csv"
    sheet.write_bytes(HEADER.encode() + b'T08,31,in_progress,,,,,"never closed,\nT09,32,blocked,,,,,,\n')
    _fails(runner, ws_dir, ["import", str(sheet)], "line 2, column note")
    sheet.write_bytes(HEADER.encode() + b"T08,31,in_progress,,,,,caf\xe9s,\n")
    _fails(runner, ws_dir, ["import", str(sheet)], "is not UTF-8")
    sheet.write_bytes((HEADER + "T08,31,in_progress,,,,,一,\n").encode("gb18030"))
    assert "Imported s.csv" in _ok(runner, "import", str(sheet), "--encoding", "gb18030")


# ---------------------------------------------------------------------------------------------- 6. user text is text

HOSTILE = "[/] closing tag [draft] [link=https://evil.example]click[/link] :smile: \x1b[31mred\x1b[0m \x9b2J \u202eabc \x07"


@pytest.mark.parametrize(
    "args",
    [
        ["log", "-f", "table"],
        ["show", "T08", "-r", "31", "-f", "table"],
        ["progress", "-r", "31", "-f", "table"],
        ["list", "-r", "31", "-f", "table"],
        ["report", "-r", "31", "--since", "2026-01-01"],
        ["show", "T08", "-r", "31", "-f", "markdown"],
    ],
    ids=lambda a: "-".join(a[:3]),
)
def test_user_text_is_shown_as_text_never_as_markup_or_terminal_codes(
    runner: CliRunner, ws_dir: Path, args: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "400")  # the note on one line
    _ok(runner, "update", "T08", "-r", "31", "-s", "blocked", "-m", HOSTILE, "--source", HOSTILE, "--by", HOSTILE)
    out = _ok(runner, *args)
    if args[0] != "list":
        assert "[draft]" in out and "[link=https://evil.example]click[/link]" in out and ":smile:" in out
        assert "\\x1b[31mred" in out and "\\u202eabc" in out  # made visible
    assert not any(c in out for c in "\x1b\x9b\u202e\x07")


def test_control_characters_in_an_error_message_are_made_visible(runner: CliRunner, ws_dir: Path) -> None:
    stderr = _fails(runner, ws_dir, ["list", "--region", "\x1b[2J\u202e"], "\\x1b[2J\\u202e")
    assert not any(c in stderr for c in "\x1b\u202e")


# ---------------------------------------------------------------------------------------------- 7. one CSV writer

FORMULA = '=HYPERLINK("http://evil","x")'


@pytest.mark.parametrize("args", [["log", "-f", "csv"], ["list", "-r", "31", "-f", "csv"], ["regions", "-f", "csv"], ["export"]])
def test_no_csv_ptrack_writes_holds_a_formula(runner: CliRunner, ws_dir: Path, args: list[str]) -> None:
    _ok(runner, "update", "T08", "-r", "31", "-s", "blocked", "-m", FORMULA, "--source", "+cmd", "--by", "@me")
    text = _ok(runner, *args).lstrip("\ufeff")
    cells = [c for row in csv.reader(io.StringIO(text)) for c in row]
    assert not [c for c in cells if c.startswith(("=", "+", "@", "\t", "\r")) or (c.startswith("-") and not _number(c))]
    if args[0] == "log":
        assert "'" + FORMULA in cells


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


# ---------------------------------------------------------------------------------------------- 12. a note alone


def test_a_note_alone_is_recorded_as_a_change(runner: CliRunner, ws_dir: Path) -> None:
    out = _ok(runner, "update", "T02", "--note", "市政府常务会议审议通过", "--by", "王")
    assert "Recorded" in out and "note only" in out
    (entry,) = json.loads(_ok(runner, "log", "-f", "json"))
    assert (entry["task"], entry["by"], entry["note"], entry["changes"]) == ("T02", "王", "市政府常务会议审议通过", [])
    _ok(runner, "validate")
    _ok(runner, "update", "T08", "-r", "31", "-s", "in_progress")
    _ok(runner, "update", "T08", "-r", "31", "-m", "a note after it")
    assert "status: in_progress → not_started" in _ok(runner, "undo")  # the newest change with something to revert


def test_a_note_only_row_of_an_import_is_recorded(runner: CliRunner, ws_dir: Path, tmp_path: Path) -> None:
    sheet = tmp_path / "notes.csv"
    sheet.write_text(HEADER + "T08,31,,,,,,市政府常务会议审议通过,王\n", encoding="utf-8")
    _ok(runner, "import", str(sheet))
    (entry,) = json.loads(_ok(runner, "log", "-f", "json"))
    assert entry["note"] == "import of notes.csv: 市政府常务会议审议通过" and entry["by"] == "王"
    before = snapshot(ws_dir)
    sheet.write_bytes(_ok_bytes(runner, "export"))
    _ok(runner, "import", str(sheet))  # an export reads back as no change, not as a note
    assert snapshot(ws_dir) == before


def _ok_bytes(runner: CliRunner, *args: str) -> bytes:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.stderr
    return result.stdout_bytes


# ---------------------------------------------------------------------------------------------- 13. a value that is an option


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["update", "T08", "-m", "--dry-run", "-s", "in_progress"], "--note"),
        (["update", "T08", "-s", "in_progress", "--source", "-m"], "--source"),
        (["update", "T08", "-i", "--dry-run"], "--indicator"),
        (["export", "-o", "--region"], "--output"),
        (["log", "--by", "--since"], "--by"),
        (["list", "--region", "-f"], "--region"),
    ],
)
def test_a_value_that_is_one_of_the_commands_options_is_refused(
    runner: CliRunner, ws_dir: Path, tmp_path: Path, args: list[str], option: str
) -> None:
    before = snapshot(ws_dir)
    result = runner.invoke(app, args)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert option in result.stderr and "is one of this command's options" in result.stderr
    assert snapshot(ws_dir) == before
    assert not (tmp_path / "--region").exists()


# ---------------------------------------------------------------------------------------------- 9. one clock

# UTC-12 and UTC+14 span 26 hours: at any moment one of them is on another day than China
ZONES = ["America/Los_Angeles", "UTC", "Asia/Shanghai", "Pacific/Kiritimati", "Etc/GMT+12"]
CST = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture(params=ZONES)
def local_zone(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The machine's local time zone set to each of several, west and east of China."""
    monkeypatch.setenv("TZ", request.param)
    time.tzset()
    yield request.param
    monkeypatch.undo()
    time.tzset()


def test_changes_are_stamped_in_china_time_whatever_the_local_zone(runner: CliRunner, ws_dir: Path, local_zone: str) -> None:
    _ok(runner, "update", "T08", "-r", "31", "-s", "in_progress")
    (entry,) = json.loads(_ok(runner, "log", "-f", "json"))
    at = dt.datetime.fromisoformat(entry["at"])
    assert at.utcoffset() == dt.timedelta(hours=8)
    assert entry["change"].startswith(at.strftime("%Y%m%dT%H%M%S"))  # ids sort the same for writers in any zone


def test_the_default_as_of_is_today_in_china(runner: CliRunner, ws_dir: Path, local_zone: str) -> None:
    before = dt.datetime.now(CST).date()
    as_of = json.loads(_ok(runner, "progress", "-f", "json"))["as_of"]
    assert as_of in {before.isoformat(), dt.datetime.now(CST).date().isoformat()}


# (written at, in the change set since 2026-06-01 China time?)
MOMENTS = [
    ("2026-05-31T10:00:00-07:00", True),  # 2026-06-01 01:00 in China
    ("2026-05-31T16:30:00+00:00", True),  # 2026-06-01 00:30 in China
    ("2026-06-01T00:30:00+09:00", False),  # 2026-05-31 23:30 in China
    ("2026-05-31T23:59:00+08:00", False),
]


def test_since_counts_days_in_china_time(runner: CliRunner, ws_dir: Path, local_zone: str) -> None:
    for i, (at, _) in enumerate(MOMENTS):
        _ok(runner, "update", f"T{i + 1:02d}", "-r", "31", "-m", f"note {i}")
        path = ws_dir / "records" / "31" / f"T{i + 1:02d}.yaml"
        text = path.read_text(encoding="utf-8")
        path.write_text(re.sub(r"at: ['\"]?[0-9T:.+-]+['\"]?", f"at: '{at}'", text, count=1), encoding="utf-8")
    wanted = {f"note {i}" for i, (_, inside) in enumerate(MOMENTS) if inside}
    assert {e["note"] for e in json.loads(_ok(runner, "log", "--since", "2026-06-01", "-f", "json"))} == wanted
    report = _ok(runner, "report", "-r", "31", "--since", "2026-06-01", "--as-of", "2026-06-30")
    assert {n for n in ("note 0", "note 1", "note 2", "note 3") if n in report} == wanted
    assert "2026-06-01 01:00 UTC+8" in report and "2026-06-01 00:30 UTC+8" in report  # times carry their zone


# ---------------------------------------------------------------------------------------------- 14. any terminal

HEADLINE_2030 = "现代化人民城市建设取得重要进展"


def _in_order(needle: str, haystack: str) -> bool:
    """Every character of `needle` appears in `haystack`, in order (a wrapped cell interleaves other cells' text)."""
    found = iter(haystack)
    return all(c in found for c in needle.replace(" ", ""))


@pytest.mark.parametrize("width", [40, 60, 80, 140])
@pytest.mark.parametrize(
    "args",
    [["list"], ["list", "--region", "上海市"], ["progress"], ["show", "T08"], ["log"], ["goals"], ["regions"]],
    ids=lambda a: "-".join(a),
)
def test_chinese_text_wraps_never_truncates_at_any_width(
    runner: CliRunner, ws_dir: Path, monkeypatch: pytest.MonkeyPatch, width: int, args: list[str]
) -> None:
    from policy_tracker import store

    _ok(runner, "update", "T08", "-r", "上海市", "-s", "in_progress", "-m", "市政府常务会议审议通过改造计划")
    monkeypatch.setenv("COLUMNS", str(width))
    out = _ok(runner, *args, "-f", "table")
    assert "…" not in out
    assert max(_cells(line) for line in out.splitlines()) <= width
    ws = store.load_workspace(ws_dir)
    if args[0] == "list":
        shown = [t for t in ws.tasks if t.id in out]
        assert shown and all(_in_order(t.title_zh, out) and t.title_zh[:4] in out for t in shown)  # not squeezed to 2 cells
    if args[0] == "goals":
        assert _in_order(HEADLINE_2030, out)
    if args[0] == "progress":
        assert all(_in_order(c.zh, out) for c in ws.goals[0].components)
    if args[0] == "show":
        assert _in_order(ws.tasks[7].title_zh, out)
    if args[0] == "log":
        assert _in_order("市政府常务会议审议通过改造计划", out)


def _cells(line: str) -> int:
    from unicodedata import east_asian_width

    return sum(2 if east_asian_width(c) in "WF" else 1 for c in line)


@pytest.mark.parametrize("encoding", ["ascii", "cp936"])
def test_no_output_command_crashes_on_a_stream_that_cannot_encode_it(ws_dir: Path, encoding: str) -> None:
    commands = [
        ["list", "-f", "table"], ["show", "T13", "-f", "table"], ["progress", "-f", "table"], ["goals", "-f", "table"],
        ["regions", "-f", "table"], ["log", "-f", "table"], ["list", "-f", "csv"], ["show", "T13", "-f", "markdown"],
        ["report"], ["list", "--region", "Atlantis"],
    ]  # fmt: skip
    driver = (
        "import sys\nfrom policy_tracker.cli import app\n"
        f"for args in {commands!r}:\n"
        "    try:\n        app(args)\n    except SystemExit as e:\n        print('exit', e.code, file=sys.stderr)\n"
    )
    env = {**os.environ, "PYTHONIOENCODING": encoding, "COLUMNS": "80", "PTRACK_DATA": str(ws_dir)}
    result = subprocess.run([sys.executable, "-c", driver], capture_output=True, env=env, check=False)
    stderr = result.stderr.decode(encoding, errors="replace")
    assert result.returncode == 0 and "Traceback" not in stderr, stderr
    assert stderr.count("exit 0") == len(commands) - 1 and "exit 1" in stderr
    assert "Error: unknown region 'Atlantis'" in stderr


# ---------------------------------------------------------------------------------------------- 15. the rest (CLI)


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["update", "T08", "-s", "completed", "--source", "   "], "--source"),
        (["update", "T08", "-s", "completed", "--note", " \t "], "--note"),
        (["update", "T08", "--rating", "red", "--rationale", "  "], "--rationale"),
        (["undo", ""], "CHANGE"),
        (["undo", "  "], "CHANGE"),
    ],
)
def test_a_blank_value_is_refused_not_taken_as_evidence(runner: CliRunner, ws_dir: Path, args: list[str], option: str) -> None:
    _ok(runner, "update", "T09", "-s", "in_progress")
    before = snapshot(ws_dir)
    result = runner.invoke(app, args)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert option in result.stderr and "is blank" in result.stderr
    assert snapshot(ws_dir) == before


def test_correct_can_fix_a_wrong_source(runner: CliRunner, ws_dir: Path) -> None:
    _ok(runner, "update", "T08", "-r", "31", "-i", f"{IND}=0.12", "--date", "2026", "--source", "wrong.example")
    right = ["--source", "沪住建〔2026〕3号", "--correct"]
    out = _ok(runner, "update", "T08", "-r", "31", "-i", f"{IND}=0.12", "--date", "2026", *right)
    assert "Recorded" in out
    (record,) = [r for r in json.loads(_ok(runner, "export", "-f", "json")) if r["region"] == "31"]
    (obs,) = record["record"]["indicators"][0]["observations"]
    assert (obs["value"], obs["source"]) == (0.12, "沪住建〔2026〕3号")
    assert "wrong.example" in json.dumps(record["record"]["history"], ensure_ascii=False)  # the old one stays in the history


def test_an_import_is_never_told_to_use_a_flag_it_lacks(runner: CliRunner, ws_dir: Path, tmp_path: Path) -> None:
    sheet = tmp_path / "done.csv"
    sheet.write_text(HEADER + "T08,31,completed,,,,,,\n", encoding="utf-8")
    stderr = _fails(runner, ws_dir, ["import", str(sheet)], "needs evidence")
    assert "--" not in stderr.split("needs evidence", 1)[1]


@pytest.mark.parametrize(
    ("line", "replacement", "expected"),
    [
        ("task: T08", "task: T8", "task: must be a task ID such as T08"),
        ("region: '31'", "region: '3 1'", "region: must be a region code"),
        ("status: in_progress", "status: [in_progress]", "status: "),
    ],
)
def test_validation_messages_name_no_regular_expression_or_python_type(
    runner: CliRunner, ws_dir: Path, line: str, replacement: str, expected: str
) -> None:
    _ok(runner, "update", "T08", "-r", "31", "-s", "in_progress")
    path = ws_dir / "records" / "31" / "T08.yaml"
    text = path.read_text(encoding="utf-8").replace('region: "31"', "region: '31'")
    assert line in text
    path.write_text(text.replace(line, replacement), encoding="utf-8")
    result = runner.invoke(app, ["validate"])
    assert result.exit_code == 1 and expected in result.stdout, result.stdout
    assert not re.search(r"\^|\$'|\\d|should match pattern|\b(list|dict|str|NoneType)\b", result.stdout), result.stdout


@pytest.mark.parametrize(
    ("extra", "expected"), [([], "needs a year or a period"), (["--year", "2030", "--comparator", "=>"], "--comparator: ")]
)
def test_a_bad_target_is_explained_without_pydantic_internals(
    runner: CliRunner, ws_dir: Path, extra: list[str], expected: str
) -> None:
    args = ["target", "T01", "-r", "江苏", "-i", "urbanisation_rate_resident", "--value", "1", "--from", "p", "--source", "s"]
    stderr = _fails(runner, ws_dir, [*args, "-m", "why", *extra], expected)
    assert not re.search(r"pydantic|\[type=|input_value|input_type", stderr), stderr
