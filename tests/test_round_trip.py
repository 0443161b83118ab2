"""Nothing changes on the way out and back in: update -> export -> import into a fresh workspace (Hypothesis)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from policy_tracker import store
from policy_tracker.cli import _option_names, app, update

IND = "old_compound_renovation_starts"
OPTIONS = set(_option_names(update))

# What a person may type as a note or a source: any Unicode text that says something (blank text is refused,
# and a value that is exactly one of update's options is refused as a slip).
# A command line cannot carry NUL (the OS ends the argument there) nor a lone surrogate (no encoding holds it), so a
# person can never type them.
words = st.text(st.characters(exclude_characters="\x00", exclude_categories=("Cs",)), min_size=1, max_size=40).filter(
    lambda s: s.strip() != "" and s.strip() not in OPTIONS
)
numbers = st.floats(allow_nan=False, allow_infinity=False)
periods = st.dates(min_value=dt.date(1949, 1, 1), max_value=dt.date(2100, 12, 31)).flatmap(
    lambda d: st.sampled_from([f"{d:%Y}", f"{d:%Y-%m}", d.isoformat()])
)


@pytest.fixture(autouse=True)
def user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTRACK_USER", "张三")


def _run(*args: str) -> bytes:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, (args, result.stdout, result.stderr)
    return result.stdout_bytes


def _state(ws: Path) -> dict[str, object]:
    """Status and observations of T08 in Shanghai: what an export carries."""
    (record,) = [r["record"] for r in json.loads(_run("export", "-f", "json", "-d", str(ws))) if r["region"] == "31"]
    return {"status": record["status"], "indicators": record["indicators"]}


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=numbers, date=periods, source=words, note=words)
@example(value=12345678.0, date="2026-03", source=" 沪住建〔2026〕3号", note="=cmd|' /C calc'!A0 [/] 张三\xa0")
@example(value=0.30000000000000004, date="1949-10-01", source="'@SUM(1)", note="第一行\r\n第二行\u2028\x1b[2J")
def test_update_export_import_into_a_fresh_workspace_changes_nothing(value: float, date: str, source: str, note: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ours, theirs = Path(tmp) / "ours", Path(tmp) / "theirs"
        shutil.copytree(store.bundled_dataset(), ours)
        shutil.copytree(store.bundled_dataset(), theirs)
        _run("update", "T08", "-r", "31", "-s", "in_progress", "-i", f"{IND}={value!r}", "--date", date,
             "--source", source, "--note", note, "-d", str(ours))  # fmt: skip
        sheet = Path(tmp) / "export.csv"
        sheet.write_bytes(_run("export", "-d", str(ours)))
        _run("import", str(sheet), "-d", str(theirs))
        assert _state(theirs) == _state(ours)
        (obs,) = _state(theirs)["indicators"][0]["observations"]  # type: ignore[index]
        assert (obs["value"], obs["date"], obs["source"], obs["note"]) == (value, date, source.strip(), note.strip())
        before = sorted(p.read_bytes() for p in (ours / "records").rglob("*.yaml"))
        _run("import", str(sheet), "-d", str(ours))  # an export read back into its own workspace is no change
        assert sorted(p.read_bytes() for p in (ours / "records").rglob("*.yaml")) == before
