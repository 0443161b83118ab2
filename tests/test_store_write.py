"""Writing: atomic, locked, validated first, and faithful to what a person wrote in the file."""

from __future__ import annotations

import difflib
import errno
import os
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policy_tracker import store
from policy_tracker.changes import Edit, NewObservation, Stamp, plan_edit
from policy_tracker.errors import PtrackError, WorkspaceInvalid
from policy_tracker.models import Change, HistoryEntry, RegionRecord, Task

from conftest import snapshot

STAMP = Stamp(change="20261128T120000-abcdef", at="2026-11-28T12:00:00+08:00", by="王芳")


def _edit(root: Path, task: str, region: str, edit: Edit, *, dry_run: bool = False) -> list[store.Written]:
    ws = store.load_workspace(root)
    names = {i.id: i.name_zh for t in ws.tasks if t.id == task for i in t.indicators}

    def plan(record: Task | RegionRecord):  # type: ignore[no-untyped-def]
        return plan_edit(record, edit, indicators=names, require_evidence=["completed"], stamp=STAMP)

    return store.change_records(root, [(task, region)], plan, STAMP, dry_run=dry_run)


# ---------------------------------------------------------------------------------------------- atomic_write


def test_atomic_write_keeps_permissions_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    tmp_path = tmp_path / "w"
    tmp_path.mkdir()
    f = tmp_path / "T08.yaml"
    f.write_text("old\n", encoding="utf-8")
    f.chmod(0o640)
    store.atomic_write(f, "new\n", b"old\n")
    assert f.read_text(encoding="utf-8") == "new\n"
    assert f.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["T08.yaml"]


def test_a_full_disk_leaves_the_old_file_and_no_temporary_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tmp_path = tmp_path / "w"
    tmp_path.mkdir()
    f = tmp_path / "T08.yaml"
    f.write_bytes(b"old content\n")

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store.os, "fsync", full)
    with pytest.raises(PtrackError, match="No space left on device") as info:
        store.atomic_write(f, "new content\n", b"old content\n")
    assert "as it was" in str(info.value)
    assert f.read_bytes() == b"old content\n"
    assert [p.name for p in tmp_path.iterdir()] == ["T08.yaml"]


def test_a_file_changed_behind_ptracks_back_is_not_overwritten(tmp_path: Path) -> None:
    tmp_path = tmp_path / "w"
    tmp_path.mkdir()
    f = tmp_path / "T08.yaml"
    f.write_bytes(b"edited by hand meanwhile\n")
    with pytest.raises(PtrackError, match="changed by another program"):
        store.atomic_write(f, "new\n", b"what ptrack read\n")
    assert f.read_bytes() == b"edited by hand meanwhile\n"
    assert [p.name for p in tmp_path.iterdir()] == ["T08.yaml"]


# ---------------------------------------------------------------------------------------------- change_records


def test_an_update_changes_only_the_lines_it_must_and_keeps_comments(ws_dir: Path) -> None:
    t08 = ws_dir / "T08.yaml"
    text = t08.read_text(encoding="utf-8").replace("status: not_started", "status: not_started  # 待住建部确认")
    text = text.replace("lead_units: []", "# 牵头单位待定\nlead_units: []")
    t08.write_text(text, encoding="utf-8")
    _edit(ws_dir, "T08", "CN", Edit(status="in_progress", note="started"))
    after = t08.read_text(encoding="utf-8")
    diff = [
        line
        for line in difflib.unified_diff(text.splitlines(), after.splitlines(), lineterm="", n=0)
        if line.startswith(("+", "-")) and not line.startswith(("+++", "---"))
    ]
    removed = [line[1:] for line in diff if line.startswith("-")]
    added = [line[1:] for line in diff if line.startswith("+")]
    assert removed == ["status: not_started  # 待住建部确认", "history: []"]
    assert added[:3] == ["revision: 1", "status: in_progress  # 待住建部确认", "history:"]
    assert added[3].startswith("- change: ") and len(added) == 11  # the new history entry, nothing else
    assert "# 牵头单位待定\nlead_units: []" in after


def test_a_change_that_would_break_the_record_is_refused_before_writing(ws_dir: Path) -> None:
    before = snapshot(ws_dir)
    with pytest.raises(WorkspaceInvalid):
        _edit(ws_dir, "T08", "CN", Edit(owner="bad code!"))
    assert snapshot(ws_dir) == before


def test_a_hand_broken_record_is_reported_and_left_alone(ws_dir: Path) -> None:
    t08 = ws_dir / "T08.yaml"
    t08.write_text(t08.read_text(encoding="utf-8").replace("status: not_started", "status: half-done"), encoding="utf-8")
    before = snapshot(ws_dir)
    with pytest.raises(WorkspaceInvalid) as info:
        store.change_records(ws_dir, [("T08", "CN")], lambda r: pytest.fail("must not plan"), STAMP)  # type: ignore[arg-type,return-value]
    assert "status" in str(info.value.problems[0])
    assert snapshot(ws_dir) == before


def test_a_region_record_is_created_on_its_first_change(ws_dir: Path) -> None:
    obs = NewObservation("old_compound_renovation_starts", 0.12, "2026-03", source="沪住建〔2026〕3号")
    (written,) = _edit(ws_dir, "T08", "31", Edit(status="in_progress", observations=[obs], note="一季度"))
    assert written.path == ws_dir / "records" / "31" / "T08.yaml"
    assert written.before is None
    (record,) = store.load_region_records(ws_dir, {"31"})
    assert (record.task, record.region, record.status, record.revision) == ("T08", "31", "in_progress", 1)
    assert record.indicators[0].observations[0].value == 0.12
    assert record.history[0].note == "一季度"
    assert written.path.read_text(encoding="utf-8").startswith("schema_version: 1\ntask: T08\nregion: '31'\n")


def test_observations_stay_in_date_order(ws_dir: Path) -> None:
    for date in ("2024", "2026", "2025"):
        obs = NewObservation("old_compound_renovation_starts", 1.0, date, source="s")
        _edit(ws_dir, "T08", "32", Edit(observations=[obs]))
    (record,) = store.load_region_records(ws_dir, {"32"})
    assert [o.date for o in record.indicators[0].observations] == ["2024", "2025", "2026"]
    assert record.revision == 3


def test_dry_run_writes_nothing(ws_dir: Path) -> None:
    before = snapshot(ws_dir)
    (written,) = _edit(ws_dir, "T08", "31", Edit(status="blocked", note="funding"), dry_run=True)
    assert "status: blocked" in written.after
    assert snapshot(ws_dir) == before


def test_no_change_writes_nothing(ws_dir: Path) -> None:
    before = snapshot(ws_dir)
    assert _edit(ws_dir, "T08", "CN", Edit(status="not_started")) == []
    assert snapshot(ws_dir) == before


# ---------------------------------------------------------------------------------------------- lock


def test_the_lock_makes_a_second_writer_wait(ws_dir: Path) -> None:
    order: list[str] = []
    with store.locked(ws_dir):
        worker = threading.Thread(target=lambda: _locked_append(ws_dir, order))
        worker.start()
        time.sleep(0.2)
        order.append("first done")
    worker.join(5)
    assert order == ["first done", "second"]


def _locked_append(root: Path, order: list[str]) -> None:
    with store.locked(root):
        order.append("second")


def test_a_lock_held_too_long_gives_a_clear_error(ws_dir: Path) -> None:
    # flock locks belong to open files, so a second open file in this process contends like another process
    with (
        store.locked(ws_dir),
        pytest.raises(PtrackError, match="another ptrack has been writing"),
        store.locked(ws_dir, timeout=0.1),
    ):
        pass


# ---------------------------------------------------------------------------------------------- validate


def test_validate_catches_what_a_merge_can_break(ws_dir: Path) -> None:
    _edit(ws_dir, "T08", "31", Edit(status="in_progress"))
    moved = ws_dir / "records" / "32" / "T08.yaml"
    moved.parent.mkdir()
    moved.write_text((ws_dir / "records" / "31" / "T08.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    dangling = ws_dir / "records" / "99" / "T09.yaml"
    dangling.parent.mkdir()
    dangling.write_text("schema_version: 1\ntask: T09\nregion: '99'\n", encoding="utf-8")
    conflict = ws_dir / "records" / "33" / "T08.yaml"
    conflict.parent.mkdir()
    conflict.write_text("<<<<<<< HEAD\nstatus: blocked\n=======\nstatus: completed\n>>>>>>> other\n", encoding="utf-8")
    (ws_dir / ".T08.yaml.abc.tmp").write_text("half", encoding="utf-8")
    with pytest.raises(WorkspaceInvalid) as info:
        store.validate_workspace(ws_dir)
    problems = "\n".join(str(p) for p in info.value.problems)
    assert "records/32/T08.yaml:2: task: this is the record of T08 in 31" in problems
    assert "records/99/T09.yaml:3: region: unknown region 99" in problems
    assert "records/33/T08.yaml:1: unresolved git conflict" in problems
    assert ".T08.yaml.abc.tmp: left over from an interrupted write" in problems


def test_files_written_by_ptrack_are_readable_by_others(ws_dir: Path) -> None:
    _edit(ws_dir, "T08", "31", Edit(status="in_progress"))
    mode = (ws_dir / "records" / "31" / "T08.yaml").stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask


def test_a_history_that_is_not_last_in_the_file_is_still_extended(ws_dir: Path) -> None:
    t08 = ws_dir / "T08.yaml"
    text = t08.read_text(encoding="utf-8").replace("history: []\n", "")
    t08.write_text(text.replace("indicators:\n", "history: []\nindicators:\n"), encoding="utf-8")
    _edit(ws_dir, "T08", "CN", Edit(status="in_progress"))
    _edit(ws_dir, "T08", "CN", Edit(status="blocked"))
    record = store.load_record(ws_dir, "T08", "CN")
    assert record is not None
    assert [h.changes[0].new for h in record.history] == ["in_progress", "blocked"]
    assert record.indicators and record.revision == 2


def test_the_history_is_appended_as_text_when_it_comes_last(ws_dir: Path) -> None:
    for status in ("in_progress", "blocked", "in_progress"):
        _edit(ws_dir, "T08", "31", Edit(status=status))
    text = (ws_dir / "records" / "31" / "T08.yaml").read_text(encoding="utf-8")
    assert text.count("- change: ") == 3
    assert store._split_history(text) is not None
    assert store._split_history("a: 1\nhistory:\n- x: 1\nb: 2\n") is None


# ---------------------------------------------------------------------------------------------- new records


_OBS = {"date": "2026", "value": 27.5, "source": "https://x.org/a?b=1#c", "note": "true"}
_NEW_RECORD_CHANGES = [
    [Change(field="status", old="not_started", new="in_progress")],
    [Change(field="owner", old=None, new="31"), Change(field="status", old="not_started", new="blocked")],
    [
        Change(
            field="rating",
            old=None,
            new={"level": "amber", "rationale": "慢: 1e3", "by": "王芳", "at": "2026-01-01T00:00:00+08:00"},
        ),
        Change(field="owner", old=None, new="310000"),
    ],
    [
        Change(field="observation:pm25:2026", old=None, new=_OBS),
        Change(
            field="observation:pm25:2025-06-30",
            old=None,
            new={"date": "2025-06-30", "value": None, "value_text": "约 30", "source": "沪府办〔2026〕12号"},
        ),
    ],
]


@pytest.mark.parametrize("changes", _NEW_RECORD_CHANGES)
def test_a_new_record_is_written_without_the_round_trip_writer_as_it_would_write_it(changes: list[Change]) -> None:
    entry = HistoryEntry(change="c1", at="2026-11-28T12:00:00+08:00", by="王芳", changes=changes, note="why: this", source="1e3")
    plain = store._new_record_text("T08", "31", changes, entry)
    assert plain == store._rewrite(store.dump_yaml(store._new_region_record("T08", "31")), changes, entry)
    assert store._parse_record(Path("T08.yaml"), plain, "T08", "31").history == [entry]


@given(st.text(min_size=1), st.text(), st.floats(allow_nan=False, allow_infinity=False))
@settings(max_examples=200, deadline=None)
def test_a_new_record_reads_back_as_written_whatever_the_text(note: str, source: str, value: float) -> None:
    obs = {"date": "2026", "value": value, "source": source or "-", "note": note}
    changes = [Change(field="observation:pm25:2026", old=None, new=obs), Change(field="status", old="not_started", new="blocked")]
    entry = HistoryEntry(change="c1", at="2026-11-28T12:00:00+08:00", by=note, changes=changes, note=note, source=source or None)
    plain = store._new_record_text("T08", "31", changes, entry)
    record = store.parse_yaml(plain, "T08.yaml")
    assert record == store.parse_yaml(store._rewrite(store.dump_yaml(store._new_region_record("T08", "31")), changes, entry), "x")
    assert record["indicators"][0]["observations"][0] == obs
    assert record["history"][0]["note"] == note


def test_a_target_set_on_a_record_in_ptracks_layout_is_placed_as_the_round_trip_writer_places_it(
    ws_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from policy_tracker.cli import app

    runner = CliRunner()
    base = ["--by", "王芳", "-r", "31"]
    result = runner.invoke(app, ["update", "T13", "-i", "pm25_prefecture_cities=30", "--date", "2025", "--source", "s1", *base])
    assert result.exit_code == 0, result.stderr
    path = ws_dir / "records" / "31" / "T13.yaml"
    before = path.read_text(encoding="utf-8")
    assert store._plain_head(store._split_history(before)[0]) is not None  # type: ignore[index]  # ptrack's own layout
    target = ["target", "T13", "--indicator", "pm25_prefecture_cities", "--from", "上海市规划", "--value", "25", "--year", "2030"]
    result = runner.invoke(app, [*target, "--source", "s2", "-m", "why", *base])
    assert result.exit_code == 0, result.stderr
    after = path.read_text(encoding="utf-8")
    head = after[: after.index("\nhistory:") + 1]
    assert head.index("targets:") < head.index("observations:")
    entry = store.load_record(ws_dir, "T13", "31").history[-1]  # type: ignore[union-attr]
    monkeypatch.setattr(store, "_plain_head", lambda head, read=None: None)  # the round-trip writer, as for a file with comments
    assert store._rewrite(before, entry.changes, entry) == after
