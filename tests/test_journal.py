"""Change sets are all or nothing: the write-ahead journal, crashes at every point, signals, full disks."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from policy_tracker import journal, store
from policy_tracker.cli import app

from conftest import REPO, snapshot

TARGETS = [("T08", "31"), ("T08", "32"), ("T08", "33"), ("T08", "34"), ("T09", "CN")]
POINTS = ["journal", "commit", "replace:1", "replace:3", "replace:5", "done"]


@pytest.fixture(autouse=True)
def user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTRACK_USER", "张三")


@pytest.fixture
def sheet(tmp_path: Path) -> Path:
    rows = "".join(f"{task},{region},in_progress,,,,,季度更新,\n" for task, region in TARGETS)
    path = tmp_path / "q3.csv"
    path.write_text("task,region,status,indicator,value,date,source,note,by\n" + rows, encoding="utf-8")
    return path


def _statuses(ws_dir: Path) -> list[str | None]:
    """Each target's status (None: no record), after checking that the record loads and its history adds up."""
    out = []
    for task, region in TARGETS:
        record = store.load_record(ws_dir, task, region)
        if record is not None:
            assert record.revision == len(record.history)
        out.append(record.status if record is not None else None)
    return out


BEFORE = [None, None, None, None, "not_started"]
AFTER = ["in_progress"] * 5


def _start(ws_dir: Path, sheet: Path, pause: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO), journal.ENV_PAUSE: pause}
    command = [sys.executable, "-m", "policy_tracker", "import", str(sheet), "--data", str(ws_dir)]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_until_paused(proc: subprocess.Popen[bytes], point: str) -> None:
    """Block until the writer says it stopped at `point` (an event, not a time)."""
    assert proc.stderr is not None
    for line in proc.stderr:
        if line.startswith(b"ptrack paused at"):
            assert line.decode().strip() == f"ptrack paused at {point}"
            _, status = os.waitpid(proc.pid, os.WUNTRACED)  # the line comes just before the stop: wait for the stop
            assert os.WIFSTOPPED(status)
            return
    _, err = proc.communicate()
    pytest.fail(f"the writer ended without reaching {point}: exit {proc.returncode}: {err.decode()}")


@pytest.mark.skipif(not hasattr(signal, "SIGSTOP"), reason="needs POSIX signals")
@pytest.mark.parametrize("point", POINTS)
def test_an_import_killed_at_any_point_leaves_the_workspace_wholly_before_or_after(
    runner: CliRunner, ws_dir: Path, sheet: Path, point: str
) -> None:
    proc = _start(ws_dir, sheet, point)
    _wait_until_paused(proc, point)
    proc.kill()
    proc.communicate()
    assert journal.pending(ws_dir)
    result = runner.invoke(app, ["log", "-f", "json"])  # any command: it completes or rolls back first
    assert result.exit_code == 0, result.stderr
    if point == "journal":
        assert result.stderr == "Rolled back an interrupted change that had not been committed: no record was changed.\n"
        assert _statuses(ws_dir) == BEFORE
    else:
        assert result.stderr.startswith("Completed an interrupted change ")
        assert result.stderr.endswith(": it had been committed; all 5 records written.\n")
        assert _statuses(ws_dir) == AFTER
    assert not journal.pending(ws_dir)
    store.validate_workspace(ws_dir)
    again = runner.invoke(app, ["log", "-f", "json"])
    assert again.exit_code == 0 and again.stderr == ""


@pytest.mark.skipif(not hasattr(signal, "SIGSTOP"), reason="needs POSIX signals")
@pytest.mark.parametrize(
    ("point", "signum", "message", "expected"),
    [
        ("prepare:1", signal.SIGINT, "Interrupted: nothing was written", BEFORE),
        ("journal", signal.SIGINT, "Interrupted: nothing was written", BEFORE),
        ("journal", signal.SIGTERM, "Interrupted: nothing was written", BEFORE),
        ("commit", signal.SIGINT, "Interrupted after the change was committed: all 5 records written", AFTER),
        ("replace:2", signal.SIGTERM, "Interrupted after the change was committed: all 5 records written", AFTER),
    ],
)
def test_ctrl_c_or_sigterm_during_an_import_finishes_or_rolls_back_and_says_which(
    ws_dir: Path, sheet: Path, point: str, signum: int, message: str, expected: list[str | None]
) -> None:
    before = snapshot(ws_dir)
    proc = _start(ws_dir, sheet, point)
    _wait_until_paused(proc, point)
    proc.send_signal(signum)  # held by the stopped process until it continues
    proc.send_signal(signal.SIGCONT)
    _, err = proc.communicate()
    assert proc.returncode == 128 + signum, err.decode()
    assert err.decode().strip().splitlines()[-1] == message
    assert not journal.pending(ws_dir)
    assert _statuses(ws_dir) == expected
    if expected == BEFORE:
        assert snapshot(ws_dir) == before


def test_a_record_that_cannot_be_replaced_midway_leaves_every_file_as_it_was(
    runner: CliRunner, ws_dir: Path, sheet: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert runner.invoke(app, ["update", "T08", "-r", "31", "-s", "blocked"]).exit_code == 0
    before = snapshot(ws_dir)
    real_replace = os.replace
    calls: list[str] = []

    def the_last_fails(src: str | Path, dst: str | Path) -> None:
        calls.append(Path(dst).name)
        if Path(dst) == ws_dir / "T09.yaml":
            raise PermissionError(errno.EACCES, "Permission denied", str(dst))
        real_replace(src, dst)

    monkeypatch.setattr(journal.os, "replace", the_last_fails)
    result = runner.invoke(app, ["import", str(sheet)])
    monkeypatch.setattr(journal.os, "replace", real_replace)
    assert result.exit_code == 1
    assert "Permission denied" in result.stderr and "Nothing was written: every record is as it was" in result.stderr
    # the manifest, four records, the failing one, then records/31 put back as it was
    assert calls == [journal.MANIFEST, "T08.yaml", "T08.yaml", "T08.yaml", "T08.yaml", "T09.yaml", "T08.yaml"]
    assert snapshot(ws_dir) == before and not journal.pending(ws_dir)


@pytest.mark.parametrize("failing_write", [1, 3, 6])  # 6: the manifest, the commit itself
def test_a_full_disk_while_writing_the_journal_writes_nothing(
    runner: CliRunner, ws_dir: Path, sheet: Path, monkeypatch: pytest.MonkeyPatch, failing_write: int
) -> None:
    before = snapshot(ws_dir)
    count = []

    def full_disk(real: Callable[..., None]) -> Callable[..., None]:
        def write(path: Path, data: bytes, *mode: int) -> None:
            count.append(path)
            if len(count) == failing_write:
                raise OSError(errno.ENOSPC, "No space left on device", str(path))
            real(path, data, *mode)

        return write

    # an import stages its five records (written, then synced at once), then writes the manifest
    monkeypatch.setattr(journal, "_write_synced", full_disk(journal._write_synced))
    monkeypatch.setattr(journal, "_write_unsynced", full_disk(journal._write_unsynced))
    result = runner.invoke(app, ["import", str(sheet)])
    assert result.exit_code == 1
    assert "No space left on device" in result.stderr and "Nothing was written" in result.stderr
    assert snapshot(ws_dir) == before
    assert not (ws_dir / "records").exists()  # not even an empty folder is left


def test_a_record_saved_with_a_bom_in_the_middle_of_an_import_is_updated_and_keeps_its_bom(
    runner: CliRunner, ws_dir: Path, sheet: Path
) -> None:
    t09 = ws_dir / "T09.yaml"
    original = t09.read_bytes()
    t09.write_bytes(b"\xef\xbb\xbf" + original)
    result = runner.invoke(app, ["import", str(sheet)])
    assert result.exit_code == 0, result.stderr
    assert _statuses(ws_dir) == AFTER
    assert t09.read_bytes().startswith(b"\xef\xbb\xbf" + original[:200])


def test_a_record_changed_behind_ptracks_back_before_the_commit_stops_the_whole_set(
    ws_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (ws_dir / "records" / "31").mkdir(parents=True)
    a, b = ws_dir / "records" / "31" / "T08.yaml", ws_dir / "T09.yaml"
    a.write_text("old a\n", encoding="utf-8")
    before = snapshot(ws_dir)
    files = [journal.FileChange(a, b"old a\n", b"new a\n"), journal.FileChange(b, b"what ptrack read\n", b"new b\n")]
    with pytest.raises(store.PtrackError, match="changed by another program") as info:
        journal.apply_change_set(ws_dir, files, change="c1")
    assert "Nothing was written" in str(info.value)
    assert snapshot(ws_dir) == before and not journal.pending(ws_dir)


def test_a_committed_journal_whose_file_was_edited_since_is_kept_and_reported(ws_dir: Path) -> None:
    target = ws_dir / "T09.yaml"
    jdir = ws_dir / journal.JOURNAL_DIR
    jdir.mkdir()
    (jdir / "0.new").write_bytes(b"new\n")
    (jdir / journal.MANIFEST).write_text(
        '{"format": 1, "change": "c1", "files": [{"path": "T09.yaml", "old": null, "old_sha256": "x",'
        ' "new": "0.new", "new_sha256": "y"}]}',
        encoding="utf-8",
    )
    before = target.read_bytes()
    with pytest.raises(store.PtrackError, match=r"T09\.yaml was changed since"):
        store.recover_interrupted(ws_dir)
    assert target.read_bytes() == before and journal.pending(ws_dir)
    with pytest.raises(store.WorkspaceInvalid) as info:
        store.validate_workspace(ws_dir)
    assert "an interrupted change is pending" in str(info.value.problems[-1])


def test_undo_is_a_journaled_change_set_too(runner: CliRunner, ws_dir: Path, sheet: Path) -> None:
    assert runner.invoke(app, ["import", str(sheet)]).exit_code == 0
    result = runner.invoke(app, ["undo"], env={journal.ENV_PAUSE: "never"})
    assert result.exit_code == 0, result.stderr
    assert _statuses(ws_dir) == ["not_started"] * 5
    assert not journal.pending(ws_dir)


def _lock_is_free(ws_dir: Path) -> bool:
    import fcntl

    with open(ws_dir / store.LOCK_FILE, "a+b") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        return True


@pytest.mark.skipif(not hasattr(signal, "SIGSTOP"), reason="needs POSIX signals")
def test_a_second_writer_is_not_blocked_while_an_import_is_prepared_and_both_changes_are_kept(
    runner: CliRunner, ws_dir: Path, sheet: Path
) -> None:
    proc = _start(ws_dir, sheet, "prepare:2")  # records/31/T08 and records/32/T08 staged, no lock held
    _wait_until_paused(proc, "prepare:2")
    try:
        assert _lock_is_free(ws_dir)
        # another writer changes a record the import has already planned, while the import is stopped mid-way
        update = runner.invoke(app, ["update", "T08", "-r", "31", "--note", "现场核查 on-site check", "--by", "王芳"])
        assert update.exit_code == 0, update.stderr
    finally:
        proc.send_signal(signal.SIGCONT)
    _, err = proc.communicate()
    assert proc.returncode == 0, err.decode()
    assert _statuses(ws_dir) == AFTER
    record = store.load_record(ws_dir, "T08", "31")
    assert record is not None
    # the update's entry, then the import's, planned again on the record the update wrote
    assert [e.by for e in record.history] == ["王芳", "张三"]
    assert record.history[0].note == "现场核查 on-site check"
    assert [c.field for c in record.history[1].changes] == ["status"]
    # the import is stamped when it is committed: after the update in time as in place, one id for all its records
    assert record.history[0].at < record.history[1].at
    other = store.load_record(ws_dir, "T08", "32")
    assert other is not None and other.history[-1].change == record.history[1].change
    assert not journal.pending(ws_dir) and not list(ws_dir.glob(".ptrack-staging-*"))
    store.validate_workspace(ws_dir)


@pytest.mark.skipif(not hasattr(signal, "SIGSTOP"), reason="needs POSIX signals")
@pytest.mark.parametrize("point", ["prepare:1", "prepare:4"])
def test_an_import_killed_while_it_is_prepared_leaves_the_workspace_as_it_was(
    runner: CliRunner, ws_dir: Path, sheet: Path, point: str
) -> None:
    before = snapshot(ws_dir)
    proc = _start(ws_dir, sheet, point)
    _wait_until_paused(proc, point)
    proc.kill()
    proc.communicate()
    assert list(ws_dir.glob(".ptrack-staging-*"))  # what it had staged is left behind ...
    result = runner.invoke(app, ["log", "-f", "json"])  # ... and the next command deletes it
    assert result.exit_code == 0 and result.stderr == ""
    assert _statuses(ws_dir) == BEFORE
    assert snapshot(ws_dir) == before
    assert runner.invoke(app, ["import", str(sheet)]).exit_code == 0
    assert _statuses(ws_dir) == AFTER


def test_an_import_reads_each_record_once_and_plans_on_the_indexs_copy(
    runner: CliRunner, ws_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    regions = ["31", "32", "33", "34"]
    lines = [f"T08,{r},in_progress,,,,,季度更新,\n" for r in regions]
    first = tmp_path / "first.csv"
    first.write_text("task,region,status,indicator,value,date,source,note,by\n" + "".join(lines), encoding="utf-8")
    assert runner.invoke(app, ["import", str(first)]).exit_code == 0
    indicator = next(t for t in store.load_workspace(ws_dir).tasks if t.id == "T08").indicators[0].id
    rows = [
        f"T08,{r},,{indicator},{q * 10 + k},2026Q{q},https://example.org/{r},," for k, r in enumerate(regions) for q in (1, 2, 3)
    ]
    second = tmp_path / "second.csv"
    second.write_text("task,region,status,indicator,value,date,source,note,by\n" + "\n".join(rows) + "\n", encoding="utf-8")
    parsed: list[str] = []
    real = store.parse_yaml

    def counting(text: str, shown: str) -> object:
        parsed.append(shown)
        return real(text, shown)

    monkeypatch.setattr(store, "parse_yaml", counting)
    result = runner.invoke(app, ["import", str(second)])
    assert result.exit_code == 0, result.stderr
    # twelve rows, four records: each parsed once, by the index (the first import wrote them), never again to
    # plan or to check the new text; with the index up to date, none at all
    assert sorted(p for p in parsed if "records" in p) == sorted(str(Path("ws", "records", r, "T08.yaml")) for r in regions)
    assert runner.invoke(app, ["validate"]).exit_code == 0
    parsed.clear()
    third = tmp_path / "third.csv"
    third.write_text(second.read_text(encoding="utf-8").replace("2026Q", "2025Q"), encoding="utf-8")
    assert runner.invoke(app, ["import", str(third)]).exit_code == 0
    assert [p for p in parsed if "records" in p] == []
    for k, region in enumerate(regions):
        record = store.load_record(ws_dir, "T08", region)
        assert record is not None and record.revision == len(record.history) == 3
        observations = [(o.date, o.value) for o in next(i for i in record.indicators if i.id == indicator).observations]
        quarters = [("03-31", 10 + k), ("06-30", 20 + k), ("09-30", 30 + k)]
        assert observations == [(f"{year}-{day}", value) for year in (2025, 2026) for day, value in quarters]
