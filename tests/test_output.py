"""`-o` writes only where it may: never a workspace's own files, never a device or a FIFO, never through a link into records."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from policy_tracker.cli import app

from conftest import snapshot

COMMANDS = [["export"], ["report"]]


@pytest.fixture(autouse=True)
def user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTRACK_USER", "张三")


def _refused(runner: CliRunner, ws_dir: Path, args: list[str], expected: str) -> None:
    before = snapshot(ws_dir)
    result = runner.invoke(app, args)
    assert result.exit_code == 1, (result.stdout, result.stderr)
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: ") and expected in last, result.stderr
    assert snapshot(ws_dir) == before


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("name", ["T08.yaml", "ptrack.yaml", "regions.yaml", "records/31/T08.yaml", ".gitignore"])
def test_output_never_overwrites_a_workspace_file(
    runner: CliRunner, ws_dir: Path, monkeypatch: pytest.MonkeyPatch, command: list[str], name: str
) -> None:
    assert runner.invoke(app, ["update", "T08", "-r", "31", "-s", "in_progress"]).exit_code == 0
    (ws_dir / ".gitignore").write_text(".ptrack.lock\n", encoding="utf-8")
    monkeypatch.chdir(ws_dir)  # `report -o T08.yaml` typed inside the workspace
    _refused(runner, ws_dir, [*command, "-o", name], "is a file of the ptrack workspace")


@pytest.mark.parametrize("command", COMMANDS)
def test_output_through_a_link_into_the_records_is_refused(
    runner: CliRunner, ws_dir: Path, tmp_path: Path, command: list[str]
) -> None:
    assert runner.invoke(app, ["update", "T08", "-r", "31", "-s", "in_progress"]).exit_code == 0
    link = tmp_path / "out.csv"
    link.symlink_to(ws_dir / "records" / "31" / "T08.yaml")
    _refused(runner, ws_dir, [*command, "-o", str(link)], "is a file of the ptrack workspace")
    assert link.is_symlink()


def test_output_through_a_link_to_an_ordinary_file_writes_the_file(runner: CliRunner, ws_dir: Path, tmp_path: Path) -> None:
    target = tmp_path / "reports" / "latest.csv"
    target.parent.mkdir()
    target.write_text("old\n", encoding="utf-8")
    link = tmp_path / "latest.csv"
    link.symlink_to(target)
    result = runner.invoke(app, ["export", "-o", str(link)])
    assert result.exit_code == 0, result.stderr
    assert link.is_symlink() and target.read_bytes().startswith(b"\xef\xbb\xbftask,")


def test_a_new_file_inside_the_workspace_folder_is_fine(runner: CliRunner, ws_dir: Path) -> None:
    result = runner.invoke(app, ["report", "-o", str(ws_dir / "report-2026.md")])
    assert result.exit_code == 0, result.stderr
    assert (ws_dir / "report-2026.md").read_text(encoding="utf-8").startswith("# ")


@pytest.mark.parametrize("command", COMMANDS)
def test_output_to_a_fifo_is_refused_without_hanging(runner: CliRunner, ws_dir: Path, tmp_path: Path, command: list[str]) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    _refused(runner, ws_dir, [*command, "-o", str(fifo)], "is not a regular file but a FIFO")
    assert stat.S_ISFIFO(fifo.stat().st_mode)


@pytest.mark.parametrize("command", COMMANDS)
def test_output_to_a_device_is_refused_and_the_device_kept(
    runner: CliRunner, ws_dir: Path, tmp_path: Path, command: list[str]
) -> None:
    device = tmp_path / "null"  # a /dev/null of the test's own: run as root, ptrack once replaced the real one
    try:
        os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("making a device node needs root")
    _refused(runner, ws_dir, [*command, "-o", str(device)], "is not a regular file but a device")
    assert stat.S_ISCHR(device.stat().st_mode)


@pytest.mark.parametrize("command", COMMANDS)
def test_output_into_a_folder_that_does_not_exist_is_refused_not_created(
    runner: CliRunner, ws_dir: Path, tmp_path: Path, command: list[str]
) -> None:
    """A typo in a path must not quietly make folders: say the folder is missing."""
    target = tmp_path / "no-such-folder" / "out.txt"
    _refused(runner, ws_dir, [*command, "-o", str(target)], "does not exist")
    assert not target.parent.exists()


@pytest.mark.parametrize(("command", "name"), [(["export"], "out.pdf"), (["report"], "out.pdf"), (["export"], "out.docx")])
def test_an_extension_the_command_cannot_write_is_refused(
    runner: CliRunner, ws_dir: Path, tmp_path: Path, command: list[str], name: str
) -> None:
    """`-o out.pdf` wrote CSV or markdown into a .pdf; the extension names a format, so an unknown one is an error."""
    target = tmp_path / name
    _refused(runner, ws_dir, [*command, "-o", str(target)], "--format")
    assert not target.exists()
