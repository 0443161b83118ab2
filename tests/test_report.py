"""The progress report and the progress view: golden files, valid GitHub markdown, escaping, as-of dates."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from policy_tracker import store
from policy_tracker.changes import Edit, NewObservation, Stamp, plan_edit
from policy_tracker.cli import app
from policy_tracker.models import RegionRecord, Task

from conftest import REPO, snapshot

GOLDEN = REPO / "tests" / "golden"


def _change(root: Path, task: str, region: str, at: str, by: str, edit: Edit) -> None:
    ws = store.load_workspace(root)
    names = {i.id: i.name_zh for t in ws.tasks if t.id == task for i in t.indicators}
    stamp = Stamp(change=f"{at[:10].replace('-', '')}T000000-{task.lower()}{region.lower()}", at=at, by=by)

    def plan(record: Task | RegionRecord):  # type: ignore[no-untyped-def]
        return plan_edit(record, edit, indicators=names, require_evidence=["completed"], stamp=stamp)

    store.change_records(root, [(task, region)], plan, stamp)


@pytest.fixture
def fixture_ws(ws_dir: Path) -> Path:
    """A few months of updates across several regions, by two people, with ratings; every time fixed."""
    obs = NewObservation
    _change(
        ws_dir,
        "T08",
        "31",
        "2026-02-10T09:00:00.000+08:00",
        "张三",
        Edit(status="in_progress", note="改造计划已批复", source="沪府办〔2026〕12号"),
    )
    _change(
        ws_dir,
        "T08",
        "31",
        "2026-04-15T09:00:00.000+08:00",
        "张三",
        Edit(observations=[obs("old_compound_renovation_starts", 0.12, "2026-03", source="沪住建〔2026〕3号")]),
    )
    _change(
        ws_dir,
        "T08",
        "31",
        "2026-07-20T09:00:00.000+08:00",
        "张三",
        Edit(observations=[obs("old_compound_renovation_starts", 0.31, "2026-06", source="沪住建〔2026〕9号")]),
    )
    _change(
        ws_dir,
        "T09",
        "32",
        "2026-03-01T09:00:00.000+08:00",
        "李四",
        Edit(status="blocked", note="资金未到位 | 待省财政 <b>确认</b>\n下周复核"),
    )
    _change(
        ws_dir, "T08", "320500", "2026-05-05T09:00:00.000+08:00", "李四", Edit(status="completed", source="苏住建〔2026〕5号")
    )
    _change(
        ws_dir,
        "T13",
        "CN",
        "2026-03-20T09:00:00.000+08:00",
        "王芳",
        Edit(status="in_progress", rating="green", rationale="按计划"),
    )
    _change(
        ws_dir,
        "T13",
        "CN",
        "2026-08-01T09:00:00.000+08:00",
        "王芳",
        Edit(observations=[obs("pm25_prefecture_cities", 28.5, "2026-06", source="https://example.org/mee")]),
    )
    _change(
        ws_dir, "T13", "CN", "2026-10-01T09:00:00.000+08:00", "王芳", Edit(rating="red", rationale="冬季反弹风险")
    )  # after the as-of date
    return ws_dir  # fmt: skip


def _report(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(app, ["report", *args])
    assert result.exit_code == 0, result.stderr
    return result.stdout


def _check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("PTRACK_UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"regenerate with PTRACK_UPDATE_GOLDEN=1 pytest {__file__}"


def _tables_are_well_formed(text: str) -> None:
    """Every row of every table has as many cells as its header (GitHub-flavoured markdown)."""
    table: list[str] = []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            table.append(line)
            continue
        if table:
            widths = [len(re.split(r"(?<!\\)\|", row)) for row in table]
            assert len(set(widths)) == 1, table
            assert re.fullmatch(r"\|(---\|)+", table[1])
            table = []


def test_golden_report_of_the_bundled_dataset(runner: CliRunner, ws_dir: Path) -> None:
    text = _report(runner, "--as-of", "2026-06-30")
    _tables_are_well_formed(text)
    _check_golden("report-bundled.md", text)


def test_golden_report_of_a_workspace_with_history_regions_and_ratings(runner: CliRunner, fixture_ws: Path) -> None:
    text = _report(runner, "--region", "CN", "--as-of", "2026-09-30", "--since", "2026-01-01")
    _tables_are_well_formed(text)
    _check_golden("report-fixture.md", text)


def test_the_report_is_deterministic(runner: CliRunner, fixture_ws: Path) -> None:
    args = ("--region", "长三角", "--as-of", "2026-09-30", "--since", "2026-01-01", "--lang", "zh")
    assert _report(runner, *args) == _report(runner, *args)


def test_the_report_answers_where_we_are_lagging_and_why(runner: CliRunner, fixture_ws: Path) -> None:
    text = _report(runner, "--region", "CN", "--as-of", "2026-09-30", "--since", "2026-01-01", "--lang", "en")
    exceptions = text.split("## Issues")[1].split("## ")[0]
    assert "T09" in exceptions and "blocked" in exceptions
    assert "rating disagrees" not in exceptions  # T13 rated green: PM2.5 has no 2030 target and barely moved (issue 10)
    assert "T01" in exceptions and "status contradicts the data" in exceptions  # not started, but ahead
    assert "```mermaid\npie" in text and "xychart-beta" not in text  # no chart draws missing data as 0
    assert "| 2026-08-01 09:00 UTC+8 | 王芳 | T13 CN China |" in text  # changes since, newest first
    assert "冬季反弹风险" not in text  # recorded after the as-of date


def test_user_text_cannot_break_or_inject_into_the_report(runner: CliRunner, fixture_ws: Path) -> None:
    text = _report(runner, "--region", "江苏", "--as-of", "2026-09-30", "--since", "2026-01-01")
    _tables_are_well_formed(text)
    assert "资金未到位 \\| 待省财政 &lt;b&gt;确认&lt;/b&gt;<br>下周复核" in text
    assert "<b>" not in text


def test_a_report_for_a_past_date_is_reproducible_after_later_changes(runner: CliRunner, fixture_ws: Path) -> None:
    before = _report(runner, "--region", "CN", "--as-of", "2026-06-30", "--since", "2026-01-01")
    _change(fixture_ws, "T08", "31", "2026-11-01T09:00:00.000+08:00", "张三", Edit(status="completed", note="done"))
    _change(fixture_ws, "T22", "33", "2026-11-02T09:00:00.000+08:00", "张三", Edit(status="in_progress"))
    assert _report(runner, "--region", "CN", "--as-of", "2026-06-30", "--since", "2026-01-01") == before


def test_report_to_a_file(runner: CliRunner, ws_dir: Path, tmp_path: Path) -> None:
    target = tmp_path / "r.md"
    result = runner.invoke(app, ["report", "--as-of", "2026-06-30", "--lang", "zh", "-o", str(target)])
    assert result.exit_code == 0
    assert target.read_text(encoding="utf-8").startswith("# 中共中央 国务院关于推动城市高质量发展的意见 落实进展报告")
    assert "Wrote the report as of 2026-06-30" in result.stderr


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--as-of", "2026-13-01"], "'2026-13-01' is not a real date"),
        (["--since", "yesterday"], "'yesterday' is not a date"),
        (["--method", "magic"], "unknown method 'magic'"),
        (["--region", "Atlantis"], "unknown region 'Atlantis'"),
        (["--goal", "2040"], "unknown goal '2040'"),
    ],
)
def test_bad_report_options(runner: CliRunner, ws_dir: Path, args: list[str], expected: str) -> None:
    before = snapshot(ws_dir)
    result = runner.invoke(app, ["report", *args])
    assert result.exit_code == 1
    assert expected in result.stderr and "Traceback" not in result.stderr
    assert snapshot(ws_dir) == before


def test_progress_json(runner: CliRunner, fixture_ws: Path) -> None:
    result = runner.invoke(app, ["progress", "--region", "CN", "--as-of", "2026-09-30", "-f", "json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["as_of"] == "2026-09-30"
    by_key = {(r["task"], r["region"]): r for r in data["records"]}
    assert (by_key[("T09", "32")]["status"], by_key[("T09", "32")]["data"]) == ("blocked", "no_data")
    assert by_key[("T08", "320500")]["status"] == "completed"
    assert by_key[("T13", "CN")]["disagreement"] is None  # rated green; its data are not lagging for 2030
    pm25 = {i["horizon"]: i for i in by_key[("T13", "CN")]["indicators"] if i["id"] == "pm25_prefecture_cities"}
    assert pm25[2030]["label"] == "no_change" and pm25[2030]["target"] is None  # the 2035 target is not borrowed
    assert pm25[2035]["label"] == "lagging" and pm25[2035]["progress"] < pm25[2035]["expected"]
    urbanisation = by_key[("T01", "CN")]["indicators"][0]
    assert urbanisation["label"] == "ahead" and urbanisation["target"]["period"].startswith("经过5年的努力")
    assert urbanisation["data_date"] == "2025-12-31" and urbanisation["progress"] > urbanisation["expected"]
    goal = data["goals"][0]
    assert goal["goal"] == "2030" and goal["headline_en"].startswith("2030 goal")


def test_progress_view_on_a_terminal(runner: CliRunner, fixture_ws: Path) -> None:
    result = runner.invoke(app, ["progress", "--region", "CN", "--as-of", "2026-09-30", "-f", "table", "--lang", "en"])
    assert result.exit_code == 0
    out = result.stdout
    assert out.startswith("2030 goal")  # the words to quote come first
    assert "2030 coverage and counts" in out and "Records: status and data side by side" in out
    assert "Needs attention" in out and "T09" in out and "资金未到位" in out
    words = " ".join(out.split())
    assert "at the observed rate" in words and "reached 2027.4" in words  # anticipated progress on the terminal


def test_a_markdown_renderer_sees_every_table_and_no_injected_html(runner: CliRunner, fixture_ws: Path) -> None:
    from markdown_it import MarkdownIt  # Rich's own markdown parser

    text = _report(runner, "--region", "CN", "--as-of", "2026-09-30", "--since", "2026-01-01")
    html = MarkdownIt("commonmark").enable("table").render(text)
    tables_in_text = len(re.findall(r"^\|---", text, flags=re.M))
    assert html.count("<table>") == tables_in_text > 10
    assert "<b>" not in html and "&lt;b&gt;" in html
    assert html.count('<code class="language-mermaid">') == 1
