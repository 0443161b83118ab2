"""The write commands through the CLI: update, log, undo, import, export."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from policy_tracker import store
from policy_tracker.cli import app

from conftest import snapshot

HEADER = "task,region,status,indicator,value,date,source,note,by\n"


@pytest.fixture(autouse=True)
def user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTRACK_USER", "张三")


def _ok(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.stderr
    return result.stdout


def _fails(runner: CliRunner, ws_dir: Path, args: list[str], expected: str) -> str:
    before = snapshot(ws_dir)
    result = runner.invoke(app, args)
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("Error: ")
    assert expected in result.stderr
    assert snapshot(ws_dir) == before
    return result.stderr


def _record(ws_dir: Path, task: str, region: str) -> dict[str, object]:
    record = store.load_record(ws_dir, task, region)
    assert record is not None
    return record.model_dump(mode="json")


def _state(ws_dir: Path, task: str, region: str) -> dict[str, object]:
    """A record without its history and revision: what undo must restore exactly."""
    record = store.load_record(ws_dir, task, region)
    if record is None:
        return {}
    return record.model_dump(mode="json", exclude={"history", "revision"})


# ---------------------------------------------------------------------------------------------- update


def test_update_records_who_when_what_why_and_evidence(runner: CliRunner, ws_dir: Path) -> None:
    out = _ok(
        runner,
        "update",
        "T08",
        "--region",
        "上海市",
        "--status",
        "进行中",
        "--note",
        "计划已批复",
        "--source",
        "沪府办〔2026〕12号",
    )
    assert "records/31/T08.yaml" in out
    assert "status: not_started → in_progress" in out
    record = _record(ws_dir, "T08", "31")
    (entry,) = record["history"]  # type: ignore[misc]
    assert entry["by"] == "张三"
    assert entry["note"] == "计划已批复" and entry["source"] == "沪府办〔2026〕12号"
    assert entry["changes"] == [{"field": "status", "old": "not_started", "new": "in_progress"}]
    assert entry["at"][10] == "T" and entry["at"][-6] in "+-"  # ISO 8601 with its time zone
    assert record["revision"] == 1


def test_several_changes_in_one_call_are_one_change_set(runner: CliRunner, ws_dir: Path) -> None:
    _ok(
        runner, "update", "8", "--status", "in_progress", "--owner", "YRD",
        "-i", "old_compound_renovation_starts=3.1", "-i", "existing_residential_elevator_retrofits=15000",
        "--date", "2026", "--source", "https://example.org/mohurd-2026",
        "--rating", "green", "--rationale", "on plan", "--by", "王芳",
    )  # fmt: skip
    record = _record(ws_dir, "T08", "CN")
    (entry,) = record["history"]  # type: ignore[misc]
    assert entry["by"] == "王芳"
    assert [c["field"] for c in entry["changes"]] == [
        "status",
        "owner",
        "observation:old_compound_renovation_starts:2026",
        "observation:existing_residential_elevator_retrofits:2026",
        "rating",
    ]
    assert record["rating"]["level"] == "green"  # type: ignore[index]
    assert record["owner"] == "YRD"


def test_dry_run_shows_the_diff_and_writes_nothing(runner: CliRunner, ws_dir: Path) -> None:
    before = snapshot(ws_dir)
    result = runner.invoke(app, ["update", "T13", "--status", "blocked", "--note", "budget", "--dry-run"])
    assert result.exit_code == 0
    assert "-status: not_started" in result.stdout and "+status: blocked" in result.stdout
    assert "nothing was written" in result.stderr
    assert snapshot(ws_dir) == before


def test_correcting_an_observation_is_explicit_and_kept_in_history(runner: CliRunner, ws_dir: Path) -> None:
    args = ["update", "T08", "-i", "old_compound_renovation_starts=2.8", "--date", "2025", "--source", "https://example.org/c"]
    _fails(runner, ws_dir, args, "already has old_compound_renovation_starts = 2.71 for 2025")
    _ok(runner, *args, "--correct", "--note", "final figure")
    (entry,) = _record(ws_dir, "T08", "CN")["history"]  # type: ignore[misc]
    (change,) = entry["changes"]
    assert change["old"]["value"] == 2.71 and change["new"]["value"] == 2.8


def test_nothing_to_change_says_so(runner: CliRunner, ws_dir: Path) -> None:
    before = snapshot(ws_dir)
    result = runner.invoke(app, ["update", "T08", "--status", "not_started"])
    assert result.exit_code == 0
    assert "Nothing to change" in result.stderr
    assert snapshot(ws_dir) == before


def test_without_a_terminal_and_without_changes_it_says_what_is_missing(runner: CliRunner, ws_dir: Path) -> None:
    _fails(runner, ws_dir, ["update", "T08"], "nothing to change for T08 CN")


def test_by_defaults_to_gits_user_name(runner: CliRunner, ws_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("PTRACK_USER")
    (tmp_path / "home" / ".gitconfig").write_text("[user]\n\tname = Li Lei\n", encoding="utf-8")
    _ok(runner, "update", "T08", "--status", "in_progress")
    assert _record(ws_dir, "T08", "CN")["history"][0]["by"] == "Li Lei"  # type: ignore[index]


def test_without_any_name_it_asks_who(runner: CliRunner, ws_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PTRACK_USER")
    _fails(runner, ws_dir, ["update", "T08", "--status", "in_progress"], "no name is given for who makes this change. Give --by")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["T24", "--status", "in_progress"], "there is no task T24"),
        (["../x", "--status", "in_progress"], "not a task ID"),
        (["T08", "--region", "Atlantis", "--status", "in_progress"], "unknown region 'Atlantis'"),
        (["T08", "--status", "finished"], "unknown status 'finished'"),
        (["T08", "--owner", "Nowhere", "--status", "in_progress"], "unknown region 'Nowhere'"),
        (["T08", "-i", "pm25=3", "--date", "2026", "--source", "s"], "has no indicator 'pm25'"),
        (["T08", "-i", "old_compound_renovation_starts=three", "--date", "2026", "--source", "s"], "'three' is not a number"),
        (["T08", "-i", "old_compound_renovation_starts", "--date", "2026", "--source", "s"], "is not ID=VALUE"),
        (
            ["T08", "-i", "old_compound_renovation_starts=3", "--date", "2026-13-01", "--source", "s"],
            "'2026-13-01' is not a real date",
        ),
        (["T08", "-i", "old_compound_renovation_starts=3", "--source", "s"], "needs the date it refers to"),
        (["T08", "-i", "old_compound_renovation_starts=3", "--date", "2026"], "needs its source"),
        (["T08", "-i", "old_compound_renovation_starts=nan", "--date", "2026", "--source", "s"], "not a usable number"),
        (["T08", "--status", "completed"], "needs evidence"),
        (["T08", "--rating", "amber"], "needs its rationale"),
        (["T08", "--rationale", "why"], "--rationale goes with --rating"),
        (["T08", "--date", "2026", "--status", "in_progress"], "--date goes with --indicator"),
    ],
)
def test_bad_updates_change_nothing(runner: CliRunner, ws_dir: Path, args: list[str], expected: str) -> None:
    _fails(runner, ws_dir, ["update", *args], expected)


def test_a_record_edited_by_hand_into_an_invalid_state_is_not_updated(runner: CliRunner, ws_dir: Path) -> None:
    _ok(runner, "update", "T08", "--region", "31", "--status", "in_progress")
    path = ws_dir / "records" / "31" / "T08.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("revision: 1", "revision: one"), encoding="utf-8")
    _fails(runner, ws_dir, ["update", "T08", "--region", "31", "--status", "blocked"], "revision")


# ---------------------------------------------------------------------------------------------- log and undo


def _some_history(runner: CliRunner) -> None:
    _ok(runner, "update", "T08", "-r", "31", "-s", "in_progress", "-m", "started", "--by", "张三")
    _ok(runner, "update", "T08", "-r", "320500", "-s", "blocked", "-m", "land", "--by", "李四")
    _ok(runner, "update", "T13", "-s", "in_progress", "--by", "李四")


def test_log_is_newest_first_and_filters(runner: CliRunner, ws_dir: Path) -> None:
    _some_history(runner)
    entries = json.loads(_ok(runner, "log", "-f", "json"))
    assert [(e["task"], e["region"]) for e in entries] == [("T13", "CN"), ("T08", "320500"), ("T08", "31")]
    assert [e["region"] for e in json.loads(_ok(runner, "log", "T08", "--region", "长三角", "-f", "json"))] == ["320500", "31"]
    assert [e["task"] for e in json.loads(_ok(runner, "log", "--by", "李四", "-f", "json"))] == ["T13", "T08"]
    assert json.loads(_ok(runner, "log", "--since", "2999-01-01", "-f", "json")) == []
    rows = list(csv.DictReader(io.StringIO(_ok(runner, "log"))))
    assert rows[2]["what"] == "status: not_started → in_progress" and rows[2]["note"] == "started"
    assert "T08 31 上海市" in _ok(runner, "log", "-f", "table")


def test_undo_restores_the_exact_previous_state(runner: CliRunner, ws_dir: Path) -> None:
    _ok(runner, "update", "T08", "-s", "in_progress")
    before = _state(ws_dir, "T08", "CN")
    _ok(runner, "update", "T08", "-s", "blocked", "--owner", "31", "-i", "old_compound_renovation_starts=3", "--date", "2026",
        "--source", "s", "--rating", "red", "--rationale", "stalled")  # fmt: skip
    assert _state(ws_dir, "T08", "CN") != before
    out = _ok(runner, "undo")
    assert "status: blocked → in_progress" in out
    assert _state(ws_dir, "T08", "CN") == before
    history = _record(ws_dir, "T08", "CN")["history"]
    assert len(history) == 3 and history[-1]["undoes"] == history[-2]["change"]  # type: ignore[index]


def test_undo_of_a_named_change_and_refusal_when_moved_on(runner: CliRunner, ws_dir: Path) -> None:
    _some_history(runner)
    first = json.loads(_ok(runner, "log", "-f", "json"))[-1]["change"]
    _ok(runner, "update", "T08", "-r", "31", "-s", "completed", "-m", "done")
    _fails(runner, ws_dir, ["undo", first], "has changed since")
    _fails(runner, ws_dir, ["undo", "20990101T000000-000000"], "no change set 20990101T000000-000000")


def test_undo_dry_run_and_nothing_to_undo(runner: CliRunner, ws_dir: Path) -> None:
    _fails(runner, ws_dir, ["undo"], "nothing to undo")
    _ok(runner, "update", "T08", "-s", "in_progress")
    before = snapshot(ws_dir)
    assert "status: in_progress → not_started" in _ok(runner, "undo", "--dry-run")
    assert snapshot(ws_dir) == before


# ---------------------------------------------------------------------------------------------- import and export


def _write_csv(path: Path, text: str, encoding: str = "utf-8-sig") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_import_from_excel_in_a_chinese_locale_is_one_change_set(runner: CliRunner, ws_dir: Path, tmp_path: Path) -> None:
    sheet = _write_csv(
        tmp_path / "上海.csv",
        HEADER
        + "T08,上海市,进行中,,,,,改造计划已批复,王芳\n"
        + "T08,上海市,,old_compound_renovation_starts,0.12,2026-03,沪住建〔2026〕3号,一季度,王芳\n"
        + "T09,苏州,blocked,,,,,资金未到位,\n",
        encoding="gb18030",
    )
    out = _ok(runner, "import", str(sheet))
    assert "2 records" in out
    changes = {e["change"] for e in json.loads(_ok(runner, "log", "-f", "json"))}
    assert len(changes) == 1
    entries = json.loads(_ok(runner, "log", "-f", "json"))
    assert {(e["task"], e["region"], e["by"]) for e in entries} == {("T08", "31", "王芳"), ("T09", "320500", "张三")}
    assert all(e["note"].startswith("import of 上海.csv") for e in entries)
    _ok(runner, "undo")
    assert _state(ws_dir, "T08", "31")["status"] == "not_started"
    assert _state(ws_dir, "T09", "320500")["status"] == "not_started"


def test_one_bad_row_means_no_change_at_all(runner: CliRunner, ws_dir: Path, tmp_path: Path) -> None:
    sheet = _write_csv(
        tmp_path / "bad.csv",
        HEADER
        + "T08,31,in_progress,,,,,,\n"
        + "T08,31,,old_compound_renovation_starts,lots,2026,s,,\n"
        + "T09,32,blocked,,,,,x,\n",
    )
    stderr = _fails(runner, ws_dir, ["import", str(sheet)], "row 3, column value: 'lots' is not a number")
    assert "1 problem in" in stderr and "nothing was imported" in stderr


def test_a_csv_in_an_unexpected_encoding_changes_nothing(runner: CliRunner, ws_dir: Path, tmp_path: Path) -> None:
    sheet = _write_csv(tmp_path / "u16.csv", HEADER + "T08,31,in_progress,,,,,,\n", encoding="utf-16")
    _fails(runner, ws_dir, ["import", str(sheet)], "UTF-16")
    _fails(runner, ws_dir, ["import", str(tmp_path / "missing.csv")], "cannot read")


def test_import_dry_run_writes_nothing(runner: CliRunner, ws_dir: Path, tmp_path: Path) -> None:
    sheet = _write_csv(tmp_path / "s.csv", HEADER + "T08,31,in_progress,,,,,,\n")
    before = snapshot(ws_dir)
    assert "Would import s.csv as change" in _ok(runner, "import", str(sheet), "--dry-run")
    assert snapshot(ws_dir) == before


def test_export_round_trips_through_import_unchanged(runner: CliRunner, ws_dir: Path, tmp_path: Path) -> None:
    _ok(runner, "update", "T08", "-r", "31", "-s", "in_progress", "-m", "=cmd|' /C calc'!A0",
        "-i", "old_compound_renovation_starts=-0.5", "--date", "2026", "--source", "@SUM(1+1)")  # fmt: skip
    target = tmp_path / "all.csv"
    _ok(runner, "export", "-o", str(target))
    data = target.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    mine = [r for r in rows if r["region"] == "31"]
    assert mine[1]["value"] == "-0.5" and mine[1]["source"] == "'@SUM(1+1)"
    assert all(not cell.startswith(("=", "+", "@")) for r in rows for cell in r.values())
    assert len([r for r in rows if r["indicator"] == "" and r["region"] == "CN"]) == 23
    before = snapshot(ws_dir)
    result = runner.invoke(app, ["import", str(target)])
    assert result.exit_code == 0, result.stderr
    assert "Nothing to change" in result.stderr
    assert snapshot(ws_dir) == before


def test_export_json_has_every_field(runner: CliRunner, ws_dir: Path) -> None:
    _ok(runner, "update", "T08", "-r", "31", "-s", "in_progress")
    records = json.loads(_ok(runner, "export", "-f", "json", "--region", "长三角"))
    assert [(r["region"], r["record"]["task"]) for r in records] == [("31", "T08")]
    assert records[0]["record"]["history"][0]["by"] == "张三"
    everything = json.loads(_ok(runner, "export", "-f", "json"))
    assert len(everything) == 24


def test_a_full_disk_fails_cleanly_and_changes_nothing(runner: CliRunner, ws_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store.os, "fsync", full)
    _fails(runner, ws_dir, ["update", "T08", "--status", "in_progress"], "No space left on device")
    assert not list(ws_dir.rglob("*.tmp"))


def test_a_district_added_by_the_workspace_is_tracked_inside_its_city(runner: CliRunner, ws_dir: Path) -> None:
    regions = ws_dir / "regions.yaml"
    text = regions.read_text(encoding="utf-8")
    regions.write_text(text + "- {code: '31-LG', zh: 临港新片区, en: Lingang, kind: other, parent: '310115'}\n", encoding="utf-8")
    _ok(runner, "update", "T08", "--region", "临港新片区", "--status", "in_progress")
    _ok(runner, "update", "T08", "--region", "徐汇区", "--status", "in_progress")
    listed = json.loads(_ok(runner, "list", "--region", "上海市", "-f", "json"))
    assert sorted((r["task"], r["region"]) for r in listed) == [("T08", "31-LG"), ("T08", "310104")]
    assert "No problems" in _ok(runner, "validate").replace("no problems", "No problems")


@pytest.mark.parametrize("command", [["export"], ["report"]])
def test_output_to_a_folder_is_refused_cleanly(runner: CliRunner, ws_dir: Path, tmp_path: Path, command: list[str]) -> None:
    _fails(runner, ws_dir, [*command, "-o", str(tmp_path)], "is a folder")
