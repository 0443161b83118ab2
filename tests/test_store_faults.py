"""The store against hostile or odd files: size limits, special files, links, conflict markers, versions, read-only."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from policy_tracker import store
from policy_tracker.cli import app

from conftest import snapshot


@pytest.fixture(autouse=True)
def user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTRACK_USER", "张三")


def _run(runner: CliRunner, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.stderr and (result.exception is None or isinstance(result.exception, SystemExit))
    return result.exit_code, result.stdout + result.stderr


# ---------------------------------------------------------------------------------------------- item 4: size


def test_a_change_that_would_pass_the_read_limit_is_refused_and_undo_still_works(
    runner: CliRunner, ws_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    biggest_task = max(p.stat().st_size for p in ws_dir.glob("T*.yaml"))
    long_note = "改造" * (biggest_task // 6 + 1)  # the record outgrows every task file (they share the limit)
    assert _run(runner, "update", "T08", "-r", "31", "-s", "in_progress", "-m", long_note)[0] == 0
    path = ws_dir / "records" / "31" / "T08.yaml"
    size = path.stat().st_size
    monkeypatch.setattr(store, "MAX_RECORD_BYTES", size + 2000)  # the record is near its limit
    monkeypatch.setattr(store, "UNDO_RESERVE_BYTES", 1200)
    before = snapshot(ws_dir)
    code, out = _run(runner, "update", "T08", "-r", "31", "-s", "blocked", "-m", "资金" * 300)
    assert code == 1 and "over the" in out and "Nothing was written" in out
    assert snapshot(ws_dir) == before
    code, out = _run(runner, "undo")  # the room kept for it
    assert code == 0, out
    record = store.load_record(ws_dir, "T08", "31")
    assert record is not None and record.status == "not_started"


def test_a_record_beyond_the_old_2_mib_ceiling_still_reads_and_updates(runner: CliRunner, ws_dir: Path) -> None:
    t08 = ws_dir / "T08.yaml"
    t08.write_text(t08.read_text(encoding="utf-8") + ("# 历年记录\n" * 250_000), encoding="utf-8")
    assert t08.stat().st_size > 3 * 1024 * 1024
    code, out = _run(runner, "update", "T08", "-s", "in_progress")
    assert code == 0, out
    assert _run(runner, "undo")[0] == 0


def test_a_configuration_file_is_still_guarded_by_the_small_limit(ws_dir: Path) -> None:
    (ws_dir / "goals.yaml").write_bytes(b"a: " + b"x" * (store.MAX_FILE_BYTES + 1))
    with pytest.raises(store.WorkspaceInvalid) as info:
        store.load_workspace(ws_dir)
    assert "over the 2,097,152 limit" in str(info.value.problems[0])


# ---------------------------------------------------------------------------------------------- item 15


def test_git_conflict_markers_are_reported_as_a_conflict_with_their_line(runner: CliRunner, ws_dir: Path) -> None:
    path = ws_dir / "records" / "31" / "T08.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(
        "schema_version: 1\ntask: T08\nregion: '31'\n<<<<<<< HEAD\nstatus: blocked\n=======\nstatus: completed\n>>>>>>> other\n",
        encoding="utf-8",
    )
    code, out = _run(runner, "validate")
    assert code == 1 and "records/31/T08.yaml:4: unresolved git conflict" in out
    assert "not valid YAML" not in out


@pytest.mark.parametrize("where", ["T08.yaml", "records/31/T08.yaml", "goals.yaml"])
def test_a_file_of_a_newer_format_is_refused_with_a_clear_message(runner: CliRunner, ws_dir: Path, where: str) -> None:
    if where.startswith("records"):
        assert _run(runner, "update", "T08", "-r", "31", "-s", "in_progress")[0] == 0
    path = ws_dir / where
    path.write_text(path.read_text(encoding="utf-8").replace("schema_version: 1", "schema_version: 99", 1), encoding="utf-8")
    code, out = _run(runner, "validate")
    assert code == 1 and f"{where}:" in out and "format version 99 is newer than this ptrack reads (up to 1)" in out


def test_init_makes_a_normal_folder_not_a_private_one(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    try:
        root = store.init_workspace(tmp_path / "new")
    finally:
        os.umask(umask)
    assert stat.S_IMODE(root.stat().st_mode) == 0o755


def _special(path: Path, kind: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "fifo":
        os.mkfifo(path)
        return
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 5))  # /dev/zero: endless
    except PermissionError:
        pytest.skip("making a device node needs root")


@pytest.mark.parametrize("kind", ["fifo", "zero"])
@pytest.mark.parametrize("where", ["records/31/T08.yaml", "T08.yaml"])
def test_special_files_are_reported_without_hanging_or_reading_forever(
    runner: CliRunner, ws_dir: Path, kind: str, where: str
) -> None:
    path = ws_dir / where
    if path.exists():
        path.unlink()
    _special(path, kind)
    code, out = _run(runner, "validate")
    assert code == 1 and f"{where}: not a regular file but" in out
    code, out = _run(runner, "list", "--region", "31", "-f", "csv")
    assert code == 1 and "not a regular file" in out


def test_a_record_that_links_outside_the_workspace_is_neither_read_nor_written_through(
    runner: CliRunner, ws_dir: Path, tmp_path: Path
) -> None:
    assert _run(runner, "update", "T08", "-r", "32", "-s", "in_progress")[0] == 0
    outside = tmp_path / "elsewhere.yaml"
    outside.write_bytes((ws_dir / "records" / "32" / "T08.yaml").read_bytes().replace(b"'32'", b"'31'"))
    link = ws_dir / "records" / "31" / "T08.yaml"
    link.parent.mkdir()
    link.symlink_to(outside)
    original = outside.read_bytes()
    code, out = _run(runner, "validate")
    assert code == 1 and "records/31/T08.yaml: a symbolic link" in out
    code, out = _run(runner, "update", "T08", "-r", "31", "-s", "blocked")
    assert code == 1 and "symbolic link" in out
    assert link.is_symlink() and outside.read_bytes() == original


def test_a_read_only_workspace_accepts_dry_runs_and_reads(
    runner: CliRunner, ws_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def read_only(path: Path) -> None:
        raise OSError(errno.EROFS, "Read-only file system", str(path))

    monkeypatch.setattr(store, "_open_lock", read_only)
    code, out = _run(runner, "update", "T08", "-r", "31", "-s", "in_progress", "--dry-run")
    assert code == 0 and "Would record" in out, out
    assert _run(runner, "log")[0] == 0
    code, out = _run(runner, "update", "T08", "-r", "31", "-s", "in_progress")
    assert code == 1 and "cannot lock the workspace: Read-only file system" in out


def test_a_record_under_the_wrong_path_is_reported_not_used(runner: CliRunner, ws_dir: Path) -> None:
    assert _run(runner, "update", "T08", "-r", "31", "-s", "in_progress")[0] == 0
    (ws_dir / "records" / "32").mkdir()
    (ws_dir / "records" / "31" / "T08.yaml").rename(ws_dir / "records" / "32" / "T08.yaml")  # a bad merge, a copy
    code, out = _run(runner, "list", "--region", "32", "-f", "csv")
    assert code == 1 and "records/32/T08.yaml:2: task: this is the record of T08 in 31" in out
