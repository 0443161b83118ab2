"""History that validate accepts is history every command can read; undo steps back through it like an editor."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from policy_tracker import store
from policy_tracker.cli import app
from policy_tracker.models import parse_instant

from conftest import snapshot


@pytest.fixture(autouse=True)
def user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTRACK_USER", "张三")


def _ok(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.stderr
    return result.stdout


def _refused(runner: CliRunner, ws_dir: Path, args: list[str], expected: str) -> str:
    before = snapshot(ws_dir)
    result = runner.invoke(app, args)
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert ("Traceback" not in result.stderr and result.exception is None) or isinstance(result.exception, SystemExit)
    assert expected in result.stderr + result.stdout, result.stderr + result.stdout
    assert snapshot(ws_dir) == before
    return result.stderr + result.stdout


def _status(ws_dir: Path, task: str = "T08", region: str = "31") -> str:
    record = store.load_record(ws_dir, task, region)
    assert record is not None
    return record.status


# ---------------------------------------------------------------------------------------------- undo (item 11)


def test_undo_twice_steps_further_back_instead_of_undoing_the_undo(runner: CliRunner, ws_dir: Path) -> None:
    _ok(runner, "update", "T08", "-r", "31", "-s", "in_progress", "-m", "一")
    _ok(runner, "update", "T08", "-r", "31", "-s", "blocked", "-m", "二")
    _ok(runner, "undo")
    assert _status(ws_dir) == "in_progress"
    _ok(runner, "undo")
    assert _status(ws_dir) == "not_started"
    _refused(runner, ws_dir, ["undo"], "nothing to undo")


# ---------------------------------------------------------------------------------------------- times (item 8)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-28T04:00:00Z", dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))),
        ("2026-11-28T12:00:00.1+08:00", dt.datetime(2026, 11, 28, 4, 0, 0, 100000, tzinfo=dt.timezone.utc)),
        ("2026-11-28 12:00+0800", dt.datetime(2026, 11, 28, 4, 0, tzinfo=dt.timezone.utc)),
        ("2026-11-28T04:00:00", dt.datetime(2026, 11, 28, 4, 0, tzinfo=dt.timezone.utc)),  # no zone: UTC
        ("2026-11-28T12:00:00.123456789-05:30", dt.datetime(2026, 11, 28, 17, 30, 0, 123456, tzinfo=dt.timezone.utc)),
    ],
)
def test_history_times_read_the_same_on_every_python(text: str, expected: dt.datetime) -> None:
    # Python 3.10's datetime.fromisoformat refuses Z and a 1- or 9-digit fraction: ptrack parses them itself
    assert parse_instant(text) == expected


@pytest.mark.parametrize("text", ["yesterday", "2026-11-28", "2026-13-01T00:00:00Z", "2026-11-28T25:00:00+08:00", ""])
def test_a_time_that_is_not_a_time_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a"):
        parse_instant(text)


def _write_history(ws_dir: Path, *, revision: int, status: str, entries: str) -> Path:
    path = ws_dir / "records" / "31" / "T08.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"schema_version: 1\ntask: T08\nregion: '31'\nrevision: {revision}\nstatus: {status}\nhistory:\n{entries}",
        encoding="utf-8",
    )
    return path


def _entry(change: str, at: str, old: str, new: str) -> str:
    return f"- change: {change}\n  at: '{at}'\n  by: 王芳\n  changes:\n  - field: status\n    old: {old}\n    new: {new}\n"


def test_a_history_time_that_is_not_a_time_fails_validate_with_its_line(runner: CliRunner, ws_dir: Path) -> None:
    _write_history(ws_dir, revision=1, status="in_progress", entries=_entry("a", "yesterday", "not_started", "in_progress"))
    out = _refused(runner, ws_dir, ["validate"], "records/31/T08.yaml:8: history[0].at: 'yesterday' is not a time")
    assert "ISO 8601" in out
    _refused(runner, ws_dir, ["progress", "--region", "31", "--as-of", "2026-06-30"], "'yesterday' is not a time")
    _refused(runner, ws_dir, ["log"], "'yesterday' is not a time")


def test_a_history_in_utc_with_z_works_in_every_command(runner: CliRunner, ws_dir: Path) -> None:
    _write_history(
        ws_dir, revision=1, status="in_progress", entries=_entry("a", "2026-05-01T02:00:00Z", "not_started", "in_progress")
    )
    assert "OK" in _ok(runner, "validate")
    (entry,) = json.loads(_ok(runner, "log", "-f", "json"))
    assert entry["change"] == "a"
    before = json.loads(_ok(runner, "progress", "--region", "31", "--as-of", "2026-04-30", "-f", "json"))
    after = json.loads(_ok(runner, "progress", "--region", "31", "--as-of", "2026-05-01", "-f", "json"))
    assert before != after


# ---------------------------------------------------------------------------------------------- merges (item 8)


def test_a_merge_that_kept_both_sides_is_reported_and_crashes_nothing(runner: CliRunner, ws_dir: Path) -> None:
    # Shanghai and the province both moved T08 on from not_started; resolving the conflict by hand kept both entries
    entries = _entry("20260501T100000-aaaaaa", "2026-05-01T10:00:00+08:00", "not_started", "in_progress") + _entry(
        "20260502T100000-bbbbbb", "2026-05-02T10:00:00+08:00", "not_started", "blocked"
    )
    path = _write_history(ws_dir, revision=1, status="blocked", entries=entries)
    _refused(runner, ws_dir, ["validate"], "records/31/T08.yaml:4: revision: revision is 1 but the history has 2 entries")
    # every command that reads the record refuses it cleanly, instead of computing a revision of -1
    _refused(runner, ws_dir, ["progress", "--region", "31", "--as-of", "2026-05-01"], "revision is 1 but the history has 2")
    path.write_text(path.read_text(encoding="utf-8").replace("revision: 1", "revision: 2"), encoding="utf-8")
    assert "OK" in _ok(runner, "validate")
    _ok(runner, "progress", "--region", "31", "--as-of", "2026-05-01")
    # undo must not revert B's change to not_started: that would silently drop A's in_progress
    out = _refused(runner, ws_dir, ["undo"], "20260501T100000-aaaaaa by 王芳 had set it to something else before")
    assert "a merge kept both?" in out


def test_a_record_edited_by_hand_behind_its_history_is_reported_and_undo_does_not_drop_it(
    runner: CliRunner, ws_dir: Path
) -> None:
    _ok(runner, "update", "T08", "-r", "31", "-s", "in_progress", "-m", "启动")
    path = ws_dir / "records" / "31" / "T08.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("status: in_progress", "status: completed"), encoding="utf-8")
    _refused(runner, ws_dir, ["validate"], "the history ends with status = in_progress but the record holds completed")
    _refused(runner, ws_dir, ["undo"], "the history ends with status = in_progress but the record holds completed")
    assert "status: completed" in path.read_text(encoding="utf-8")


def test_a_history_with_a_revision_gap_has_a_valid_as_of_view(runner: CliRunner, ws_dir: Path) -> None:
    from policy_tracker.progress import as_of_record

    _ok(runner, "update", "T08", "-r", "31", "-s", "in_progress")
    _ok(runner, "update", "T08", "-r", "31", "-s", "blocked")
    record = store.load_record(ws_dir, "T08", "31")
    assert record is not None
    moment = parse_instant(record.history[0].at)
    then = as_of_record(record, moment)
    assert then is not None and then.revision == len(then.history) == 1 and then.status == "in_progress"
