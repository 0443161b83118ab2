"""The report as a web page and a Word file, opened with a reader: the same content as the model, nothing external."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from policy_tracker.cli import app

NOTE = "资金未到位 | 待省财政 <b>确认</b>\n下周复核"


@pytest.fixture
def office_ws(ws_dir: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A province and two of its cities, with a blocked record whose note holds markup, and a rating."""
    monkeypatch.setenv("PTRACK_USER", "张三")
    for args in (
        ["update", "T08", "--region", "江苏省", "--status", "in_progress", "--note", "改造计划已批复"],
        ["update", "T09", "--region", "江苏省", "--status", "blocked", "--note", NOTE],
        ["update", "T08", "--region", "苏州", "--status", "completed", "--source", "苏住建〔2026〕5号"],
        ["update", "T01", "--rating", "green", "--rationale", "按计划"],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.stderr
    return ws_dir


class PageReader(HTMLParser):
    """What a browser would load and show: tables, SVG charts, text, and every reference to another resource."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[str]]] = []
        self.svgs = 0
        self.svg_texts: list[str] = []
        self.headings: list[str] = []
        self.external: list[str] = []
        self.tags: list[str] = []
        self.anchors: set[str] = set()
        self.links: list[str] = []
        self._cell: list[str] | None = None
        self._heading: list[str] | None = None
        self._in_svg_text = False
        self._style: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        values = dict(attrs)
        if values.get("id"):
            self.anchors.add(values["id"] or "")
        for name in ("src", "srcset", "data", "poster", "action"):
            if values.get(name):
                self.external.append(f"{tag} {name}={values[name]}")
        href = values.get("href")
        if href is not None:
            if href.startswith("#"):
                self.links.append(href[1:])
            else:
                self.external.append(f"{tag} href={href}")
        if tag in ("script", "link", "iframe", "img", "object", "embed", "base"):
            self.external.append(tag)
        if tag == "br" and self._cell is not None:
            self._cell.append("\n")
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "svg":
            self.svgs += 1
        elif tag == "text":
            self._in_svg_text = True
            self.svg_texts.append("")
        elif tag in ("h1", "h2", "h3"):
            self._heading = []
        elif tag == "style":
            self._in_style = True

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell))
            self._cell = None
        elif tag == "text":
            self._in_svg_text = False
        elif tag in ("h1", "h2", "h3") and self._heading is not None:
            self.headings.append("".join(self._heading).strip())
            self._heading = None
        elif tag == "style":
            self._in_style = False

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._heading is not None:
            self._heading.append(data)
        if self._in_svg_text:
            self.svg_texts[-1] += data
        if self._in_style:
            self._style.append(data)

    @property
    def style(self) -> str:
        return "".join(self._style)


def _read_page(text: str) -> PageReader:
    page = PageReader()
    page.feed(text)
    page.close()
    return page


def _markdown(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(app, ["report", *args])
    assert result.exit_code == 0, result.stderr
    return result.stdout


def test_the_web_page_holds_every_table_and_chart_and_loads_nothing(runner: CliRunner, office_ws: Path, tmp_path: Path) -> None:
    args = ["--region", "江苏省", "--as-of", "2026-11-30"]
    target = tmp_path / "report.html"
    result = runner.invoke(app, ["report", *args, "-o", str(target)])
    assert result.exit_code == 0, result.stderr
    page = _read_page(target.read_text(encoding="utf-8"))
    markdown = _markdown(runner, *args)

    assert page.external == []
    assert "url(" not in page.style and "@import" not in page.style
    stacked = markdown.count("each)")  # bars of one square per indicator: a table in markdown, a chart here
    assert stacked == 2  # the 2030 and 2035 goals
    assert len(page.tables) == markdown.count("\n|---") - stacked  # the same tables as the markdown report
    assert page.svgs == markdown.count("```mermaid") + stacked == 3  # the status pie (issue 10: no chart draws missing data as 0)
    assert any(t.startswith("受阻 blocked: 1") for t in page.svg_texts)  # chart text stays text
    assert all(link in page.anchors for link in page.links) and len(page.links) >= 8  # the table of contents
    assert "@page" in page.style and "A4" in page.style and "table-layout: fixed" in page.style


def test_user_text_in_the_web_page_is_text(runner: CliRunner, office_ws: Path) -> None:
    text = _markdown(runner, "--region", "江苏省", "--as-of", "2026-11-30", "--format", "html")
    page = _read_page(text)
    assert "b" not in page.tags  # the note's <b> is shown, not obeyed
    cells = [c for table in page.tables for row in table for c in row]
    assert NOTE in cells


def test_the_word_file_reads_back_with_its_headings_and_tables(runner: CliRunner, office_ws: Path, tmp_path: Path) -> None:
    import docx
    from docx.oxml.ns import qn
    from docx.shared import Mm

    args = ["--region", "江苏省", "--as-of", "2026-11-30", "--lang", "zh"]
    target = tmp_path / "进展报告.docx"
    result = runner.invoke(app, ["report", *args, "--format", "docx", "-o", str(target)])
    assert result.exit_code == 0, result.stderr
    document = docx.Document(str(target))
    markdown = _markdown(runner, *args)

    section = document.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
    body = section.page_width - section.left_margin - section.right_margin
    for table in document.tables:
        assert sum(cell.width for cell in table.rows[0].cells) <= body + Mm(1)  # fits the page width

    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    expected = [line.lstrip("#").strip() for line in markdown.splitlines() if line.startswith(("## ", "### "))]
    assert [h.split(" — ")[0] for h in headings] == [h.split(" — ")[0] for h in expected]
    assert document.paragraphs[0].style.name == "Title" and document.paragraphs[0].text.endswith("落实进展报告")

    # one Word table per markdown table, and one per chart (its values)
    assert len(document.tables) == markdown.count("\n|---") + markdown.count("```mermaid")
    cells = [c.text for table in document.tables for row in table.rows for c in row.cells]
    assert NOTE in cells  # a line break in a note is a break in its cell

    fonts = document.styles["Normal"].element.rPr.rFonts
    assert fonts.get(qn("w:eastAsia")) == "SimSun"
    assert document.styles["Heading 1"].element.rPr.rFonts.get(qn("w:eastAsia")) == "SimHei"


def test_the_format_follows_the_output_file(runner: CliRunner, office_ws: Path, tmp_path: Path) -> None:
    for name, start in (("r.docx", b"PK"), ("r.html", b"<!DOCTYPE html>"), ("r.md", b"# ")):
        result = runner.invoke(app, ["report", "--as-of", "2026-11-30", "-o", str(tmp_path / name)])
        assert result.exit_code == 0, result.stderr
        assert (tmp_path / name).read_bytes().startswith(start)


def test_the_matrix_shows_every_task_for_a_province_and_its_cities(runner: CliRunner, office_ws: Path) -> None:
    result = runner.invoke(app, ["matrix", "--region", "江苏省", "--format", "json", "--as-of", "2026-11-30"])
    assert result.exit_code == 0, result.stderr
    import json

    data = json.loads(result.stdout)
    cells = {(r["task"], r["region"]): r for r in data["records"]}
    assert data["scope"] == "32"
    columns = {r for _, r in cells}  # the province and its 13 cities in the registry
    assert {"32", "320100", "320200", "320500"} <= columns and len(columns) == 1 + 13
    assert len(cells) == 23 * 14
    assert cells[("T09", "32")]["status"] == "blocked"
    assert cells[("T08", "320500")]["status"] == "completed"  # the status beside the data, never instead (issue 10)
    assert cells[("T08", "320500")]["assessment"] == "no_data"
    assert cells[("T01", "320100")]["status"] == "not_reported"

    table = runner.invoke(app, ["matrix", "--region", "江苏省", "--format", "table", "--lang", "zh", "--as-of", "2026-11-30"])
    assert table.exit_code == 0, table.stderr
    assert "未报送" in table.stdout and "受阻" in table.stdout and "南京" in table.stdout
    assert "T23" in table.stdout


def test_a_cluster_matrix_has_its_member_provinces(runner: CliRunner, office_ws: Path) -> None:
    result = runner.invoke(app, ["matrix", "--region", "长三角", "--format", "csv"])
    assert result.exit_code == 0, result.stderr
    regions = {line.split(",")[1] for line in result.stdout.splitlines()[1:]}
    assert regions == {"YRD", "31", "32", "33", "34"}


def test_chinese_is_chinese_throughout(runner: CliRunner, office_ws: Path) -> None:
    text = _markdown(runner, "--region", "江苏省", "--as-of", "2026-11-30", "--since", "2026-01-01", "--lang", "zh")
    changes = text.split("## 变更记录")[1].split("\n## ")[0]
    assert "状态：未开始 → 受阻" in changes and "status:" not in changes
    for english in ("rating", "green", "amber", "not started", "blocked", "no numeric target", "linear", "stale"):
        assert english not in text, english
    assert "Promoting High-Quality" not in text and " pp" not in text  # the workspace's name and the tolerance too
    progress = runner.invoke(app, ["progress", "--goal", "2030", "--lang", "zh", "--format", "table"])
    show = runner.invoke(app, ["show", "T01", "--lang", "zh", "--format", "table"])
    for out in (progress, show):
        assert out.exit_code == 0, out.stderr
        for english in ("adopted", "not started", "baseline", "latest ", "· target", "Task", "Status", "Owner", "ahead"):
            assert english not in out.stdout, english
    assert "基期 67 (2024)" in show.stdout and "常住人口城镇化率" in show.stdout


def test_english_is_english_throughout(runner: CliRunner, office_ws: Path) -> None:
    import re

    text = _markdown(runner, "--region", "江苏省", "--as-of", "2026-11-30", "--since", "2026-01-01", "--lang", "en")
    user_text = (
        "改造计划已批复",
        "资金未到位",
        "下周复核",
        "待省财政",
        "确认",
        "苏住建〔2026〕5号",
        "张三",
        "推动城市高质量发展",
    )
    for words in user_text:
        text = text.replace(words, "")
    assert re.findall(r"[\u4e00-\u9fff]+", text) == []  # task titles, region names and labels all in English
    assert "Jiangsu" in text and "Nanjing" in text and "Suzhou" in text
    progress = runner.invoke(app, ["progress", "--region", "江苏省", "--lang", "en", "--format", "table"])
    national = runner.invoke(app, ["progress", "--goal", "2030", "--lang", "en", "--format", "table"])
    show = runner.invoke(app, ["show", "T01", "--lang", "en", "--format", "table"])
    for out in (progress, national, show):
        assert out.exit_code == 0, out.stderr
        labels = ("全国", "江苏", "南京", "未开始", "基期", "最新 ", "· 目标", "任务 ", "状态 ", "牵头地区", "快于预期")
        for chinese in (*labels, "常住人口城镇化率"):  # labels, region and indicator names; data text stays as published
            assert chinese not in out.stdout, chinese
    assert "CN China" in national.stdout and "Jiangsu" in progress.stdout
    assert "baseline 67 (2024)" in show.stdout and "Urbanisation rate (resident population)" in show.stdout


def test_sources_read_as_sources(runner: CliRunner, ws_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTRACK_USER", "张三")
    address = "https://jsszfhcxjst.jiangsu.gov.cn/art/2026/7/20/art_8639_%E6%94%B9%E9%80%A0.html"
    update = ["update", "T13", "-i", "pm25_prefecture_cities=26.5", "--date", "2026-06", "--source", address]
    assert runner.invoke(app, update).exit_code == 0
    text = _markdown(runner, "--since", "2026-01-01", "--format", "html")
    assert "jsszfhcxjst.jiangsu.gov.cn/art/2026/7/20/art_8639_改造.html" in text  # decoded, without the scheme
    page = _read_page(text)
    cells = [c for table in page.tables for row in table for c in row]
    assert not [c for c in cells if "%E" in c or "http://" in c or "https://" in c]  # no raw or percent-encoded address
    listed = [row for table in page.tables for row in table if row and row[0].startswith("[")]
    assert len(listed) > 20 and all(re.match(r"\[\d+\]$", row[0]) for row in listed)
    assert any(row[1].startswith("国家统计局") for row in listed)  # the publisher first


def test_next_steps_are_recorded_and_reported_as_of_their_date(
    runner: CliRunner, office_ws: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import docx

    args = ["update", "T09", "--region", "江苏省", "--next", "四季度完成管网改造资金拨付", "--by", "李四"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    assert "next_steps: — → 四季度完成管网改造资金拨付" in result.stdout
    target = tmp_path / "r.docx"
    result = runner.invoke(app, ["report", "--region", "江苏省", "--lang", "zh", "-o", str(target)])
    assert result.exit_code == 0, result.stderr
    document = docx.Document(str(target))
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    assert "下一步" in headings
    rows = [[c.text for c in row.cells] for table in document.tables for row in table.rows]
    assert ["T09 完善城市基础设施", "32 江苏省", "四季度完成管网改造资金拨付"] in rows

    before = _markdown(runner, "--region", "江苏省", "--lang", "zh", "--as-of", "2026-01-01")
    assert "## 下一步" not in before  # set today: not known on an earlier date
    assert runner.invoke(app, ["undo"]).exit_code == 0
    assert "## 下一步" not in _markdown(runner, "--region", "江苏省", "--lang", "zh")


def test_the_format_libraries_are_not_loaded_at_start_up() -> None:
    import subprocess
    import sys

    code = "import sys, policy_tracker.cli, policy_tracker.report; print(sorted({'docx', 'openpyxl', 'lxml'} & set(sys.modules)))"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "[]"  # python-docx and openpyxl load only in the commands that write those formats
