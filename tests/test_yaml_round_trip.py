"""What ptrack writes reads back the same in any YAML reader, and keeps the file's own conventions."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from policy_tracker import store
from policy_tracker.cli import app

AMBIGUOUS = ["NO", "on", "yes", "off", "Y", "n", "~", "null", "1e3", "0o12", "2026-01-01", "12:30", "1:30:00", "<<", "="]


@pytest.fixture(autouse=True)
def user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTRACK_USER", "张三")


def _ok(runner: CliRunner, *args: str) -> None:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.stderr


@pytest.mark.parametrize("text", AMBIGUOUS)
def test_written_text_reads_back_as_text_in_a_yaml_1_1_reader(text: str) -> None:
    out = store.dump_yaml({"note": text})
    assert yaml.safe_load(out) == {"note": text}  # PyYAML's default loader: YAML 1.1
    assert store.parse_yaml(out, "x.yaml") == {"note": text}  # ptrack's own: YAML 1.2


def test_an_update_with_words_yaml_1_1_reads_as_booleans_keeps_them_words(runner: CliRunner, ws_dir: Path) -> None:
    _ok(runner, "update", "T08", "-r", "31", "-s", "in_progress", "-m", "NO", "--source", "on", "--by", "yes")
    data = yaml.safe_load((ws_dir / "records" / "31" / "T08.yaml").read_text(encoding="utf-8"))
    (entry,) = data["history"]
    assert (entry["note"], entry["source"], entry["by"]) == ("NO", "on", "yes")
    assert isinstance(entry["at"], str)  # not turned into a datetime either


def test_a_record_saved_with_a_bom_can_be_updated_and_keeps_it(runner: CliRunner, ws_dir: Path) -> None:
    t08 = ws_dir / "T08.yaml"
    t08.write_bytes(b"\xef\xbb\xbf" + t08.read_bytes())
    _ok(runner, "update", "T08", "-s", "in_progress")
    _ok(runner, "update", "T08", "-s", "blocked")
    raw = t08.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and raw.count(b"\xef\xbb\xbf") == 1
    record = store.load_record(ws_dir, "T08", "CN")
    assert record is not None and record.status == "blocked" and record.revision == 2


def test_a_crlf_record_keeps_crlf_and_only_the_changed_lines_change(runner: CliRunner, ws_dir: Path) -> None:
    t08 = ws_dir / "T08.yaml"
    original = t08.read_bytes().replace(b"\n", b"\r\n")
    t08.write_bytes(original)
    _ok(runner, "update", "T08", "-s", "in_progress", "-m", "开工")
    raw = t08.read_bytes()
    assert raw.count(b"\r\n") == raw.count(b"\n")  # every line still ends CRLF
    before, after = original.split(b"\r\n"), raw.split(b"\r\n")
    removed = [line for line in before if line not in after]
    assert removed == [b"status: not_started", b"history: []"]


def test_a_comment_above_history_stays_above_history(runner: CliRunner, ws_dir: Path) -> None:
    path = ws_dir / "records" / "31" / "T08.yaml"
    _ok(runner, "update", "T08", "-r", "31", "-s", "in_progress")
    text = path.read_text(encoding="utf-8").replace("\nhistory:", "\n# 变更记录：由 ptrack 维护\nhistory:")
    path.write_text(text, encoding="utf-8")
    _ok(runner, "update", "T08", "-r", "31", "-i", "old_compound_renovation_starts=0.12", "--date", "2026", "--source", "s")
    after = path.read_text(encoding="utf-8")
    assert "# 变更记录：由 ptrack 维护\nhistory:\n" in after
    assert after.index("indicators:") < after.index("# 变更记录")


def test_an_empty_history_keeps_its_comment(runner: CliRunner, ws_dir: Path) -> None:
    t08 = ws_dir / "T08.yaml"
    t08.write_text(t08.read_text(encoding="utf-8").replace("history: []", "history: []  # 由 ptrack 写入"), encoding="utf-8")
    _ok(runner, "update", "T08", "-s", "in_progress")
    assert "\nhistory:  # 由 ptrack 写入\n- change: " in t08.read_text(encoding="utf-8")
