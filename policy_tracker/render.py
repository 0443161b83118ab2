"""Output: Rich tables, panels and trees for people; JSON, CSV and markdown for programs. The only Rich code."""

from __future__ import annotations

import itertools
import json
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Literal, TypeVar

from pydantic import BaseModel
from rich import box
from rich.console import Console, ConsoleOptions, Group
from rich.padding import Padding
from rich.panel import Panel
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from policy_tracker.assessment import target_when
from policy_tracker.changes import change_lines
from policy_tracker.clock import ZONE_LABEL, china_day, minute_text
from policy_tracker.csvfile import csv_text
from policy_tracker.figures import figure_text, plan_text, source_text
from policy_tracker.listing import ROW_CSV_HEADER as ROW_CSV_HEADER  # re-exported: callers use render's names
from policy_tracker.listing import row_cells as row_cells
from policy_tracker.listing import rows_csv as rows_csv
from policy_tracker.listing import rows_csv_chunks as rows_csv_chunks
from policy_tracker.markdown import md_cell, md_table
from policy_tracker.matrix import Matrix, cell_lines, cell_tone, region_name
from policy_tracker.models import (
    STATUS_LABELS,
    Indicator,
    IndicatorData,
    Observation,
    Region,
    RegionRecord,
    Task,
    Workspace,
    latest_observation,
)
from policy_tracker.numbers import format_computed, format_number, format_share
from policy_tracker.numbers import round_computed as _r
from policy_tracker.progress import (
    CONTRADICTION_ZH,
    REASON_LABELS,
    TASK_COLOUR,
    TASK_LABELS,
    ComponentSummary,
    GoalSummary,
    Overview,
    RegionSummary,
    TaskProgress,
    exceptions,
)
from policy_tracker.query import HistoryRow, RecordRow, instant, status_counts, tasks_serving
from policy_tracker.visible import visible

Lang = Literal["zh", "en", "both"]
STATUS_STYLE = {
    "not_started": "dim",
    "in_progress": "cyan",
    "completed": "green",
    "blocked": "red",
    "deferred": "yellow",
}
RATING_STYLE = {"green": "green", "amber": "yellow", "red": "red"}
BASIS_LABEL = {"verbatim": ("原文", "verbatim"), "secondary": ("转述", "secondary")}
TEXT_RECOVERED_LABEL = {
    "verbatim_complete_probable": ("原文基本完整", "official text, probably complete"),
    "verbatim_partial": ("部分原文", "official text, in part"),
    "secondary_only": ("仅有转述", "press summaries only"),
    "title_only": ("仅有标题", "title only: text not recovered"),
}


class _TextConsole(Console):
    """A console for which every string is text: never markup (`[/]`, `[link=…]`), emoji codes or control codes."""

    def render_str(self, text: str, **kwargs: Any) -> Text:
        return super().render_str(visible(text), **kwargs)


def make_console(stderr: bool = False) -> Console:
    # No highlighting: numbers and URLs in official titles must not be recoloured at random.
    # No markup, no emoji: a note "[/] done" or ":x:" is shown as written (styles come only from Text objects).
    return _TextConsole(stderr=stderr, highlight=False, soft_wrap=False, markup=False, emoji=False)


def plain(text: str, style: str = "") -> Text:
    """User or dataset text as a Rich Text: shown as written, control characters made visible."""
    return Text(visible(text), style=style)


def pick(zh: str, en: str, lang: Lang, sep: str = "\n") -> str:
    return zh if lang == "zh" else en if lang == "en" else f"{zh}{sep}{en}"


def status_label(status: str, lang: Lang, sep: str = "\n") -> str:
    zh, en = STATUS_LABELS[status]
    return pick(zh, en, lang, sep)


def _status_text(status: str, lang: Lang) -> Text:
    return Text(status_label(status, lang), style=STATUS_STYLE[status])


def region_label(ws: Workspace, code: str, lang: Lang = "both") -> str:
    """'32 江苏省'; '32 Jiangsu' with --lang en."""
    region = ws.regions_by_code.get(code)
    return f"{code} {region.en if lang == 'en' else region.zh}" if region else code


def _counts_line(records: Sequence[Task | RecordRow], lang: Lang) -> str:
    counts = status_counts(records)
    return " · ".join(f"{status_label(s, lang, ' ')} {n}" for s, n in counts.items() if n)


# ---------------------------------------------------------------------------------------------- data formats


def dump_json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def models_json(records: Sequence[BaseModel]) -> str:
    return dump_json([r.model_dump(mode="json", by_alias=True) for r in records])


def _csv(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    return csv_text(header, rows)


_Row = TypeVar("_Row")


def rows_markdown(ws: Workspace, rows: Sequence[RecordRow], lang: Lang) -> str:
    out = [
        (r.task.id, region_label(ws, r.region), r.task.chapter, pick(r.task.title_zh, r.task.title_en, lang, " / "),
         status_label(r.status, lang, " "), region_label(ws, r.owner))
        for r in rows
    ]  # fmt: skip
    if any(r.origin for r in rows):
        with_origin = [(*o, r.origin or "") for o, r in zip(out, rows, strict=True)]
        return md_table(("ID", "Region", "章 Ch.", "Title", "Status", "Owner", "Origin"), with_origin)
    return md_table(("ID", "Region", "章 Ch.", "Title", "Status", "Owner"), out)


# ---------------------------------------------------------------------------------------------- tables


# Below this width the side-by-side columns leave a title too little room: each record becomes a short block.
NARROW = 80


def rows_table(ws: Workspace, rows: Sequence[RecordRow], lang: Lang, title: str | None = None, width: int = NARROW) -> Table:
    """The records as a table; on a terminal narrower than NARROW, the ID beside a block of title and details."""
    regional = any(r.region != "CN" for r in rows)
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, expand=False, title_justify="left")
    table.add_column("ID", no_wrap=True, style="bold")
    narrow = width < NARROW
    if regional and not narrow:
        table.add_column(pick("地区", "Region", lang, " "), overflow="fold")
    if not narrow:
        table.add_column("章", no_wrap=True)
    table.add_column(pick("任务", "Task", lang, " "), overflow="fold", ratio=1, min_width=20)
    if not narrow:
        table.add_column(pick("状态", "Status", lang, " "), overflow="fold")
        table.add_column(pick("牵头地区", "Owner", lang, " "), overflow="fold")
    origins = any(r.origin for r in rows)
    if origins and not narrow:
        table.add_column(pick("来源", "Origin", lang, " "), overflow="fold")
    for r in rows:
        t = r.task
        title_text = (
            plain(t.title_zh)
            if lang == "zh"
            else plain(t.title_en)
            if lang == "en"
            else plain(t.title_zh + "\n") + plain(t.title_en, "dim")
        )
        if narrow:
            where = f"{region_label(ws, r.region)} · " if regional else ""
            details = plain(f"\n{t.chapter} · {where}") + Text(status_label(r.status, lang, " "), style=STATUS_STYLE[r.status])
            owner = pick("牵头", "owner", lang, " ")
            origin = plain(f" · {r.origin}", "dim") if r.origin else plain("")
            table.add_row(t.id, title_text + details + plain(f" · {owner} {r.owner}", "dim") + origin)
            continue
        cells: list[Any] = [t.id, region_label(ws, r.region)] if regional else [t.id]
        table.add_row(*cells, t.chapter, title_text, _status_text(r.status, lang), r.owner, *([r.origin] if origins else []))
    table.caption = f"{len(rows)} · {_counts_line(rows, lang)}"
    table.caption_justify = "left"
    return table


def children_table(ws: Workspace, rows: Sequence[RecordRow], lang: Lang) -> Table:
    """How the records of a region and the regions inside it stand, task by task."""
    table = Table(title=pick("各任务汇总", "By task", lang, " · "), box=box.SIMPLE_HEAD, pad_edge=False, title_justify="left")
    table.add_column("ID", no_wrap=True, style="bold")
    table.add_column(pick("记录", "Records", lang, " "), justify="right")
    table.add_column(pick("状态", "Status", lang, " "), overflow="fold")
    by_task: dict[str, list[RecordRow]] = {}
    for r in rows:
        by_task.setdefault(r.task.id, []).append(r)
    for tid, group in by_task.items():
        table.add_row(tid, str(len(group)), _counts_line(group, lang))
    return table


def print_rows(console: Console, ws: Workspace, rows: Sequence[RecordRow], lang: Lang, title: str | None) -> None:
    """The listing as a table; longer than the screen, as fixed-width rows through the pager (see `rows_plain`)."""
    if not rows:
        console.print(pick("没有符合条件的记录。", "No record matches these filters.", lang, " "))
        return
    if len(rows) > console.height and console.is_terminal:
        import pydoc

        pydoc.pager(rows_plain(ws, rows, lang, title))
        return
    console.print(rows_table(ws, rows, lang, title, console.width))
    if len({r.region for r in rows}) > 1:
        console.print(children_table(ws, rows, lang))


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def rows_plain(ws: Workspace, rows: Sequence[RecordRow], lang: Lang, title: str | None = None) -> str:
    """The listing as fixed-width text rows: for thousands of rows, where laying out a Rich table measures every
    cell and takes seconds (5 s for 10,000 rows); the columns of the table, one line per record."""
    head = ("ID", pick("地区", "Region", lang, " "), pick("状态", "Status", lang, " "), pick("负责", "Owner", lang, " "),
            pick("任务", "Task", lang, " "))  # fmt: skip
    lines = [
        tuple(visible(c) for c in (r.task.id, region_label(ws, r.region), status_label(r.status, lang, " "),
                                   region_label(ws, r.owner), pick(r.task.title_zh, r.task.title_en, lang, " / ")))
        for r in rows
    ]  # fmt: skip
    widths = [max(_width(row[k]) for row in [head, *lines]) for k in range(len(head) - 1)]
    out = [title] if title else []
    for row in [head, *lines]:
        out.append("  ".join([*(c + " " * (w - _width(c)) for c, w in zip(row[:-1], widths, strict=True)), row[-1]]).rstrip())
    return "\n".join(out) + "\n"


def _figure(
    value: float | None, qualifier: str | None, when: str | int | None, unit: str | None = None, basis: str | None = None
) -> str:
    return (
        figure_text(f"{qualifier or ''}{format_number(value)}", unit=unit, basis=basis, when=when) if value is not None else "—"
    )


def _latest_figures(observations: Sequence[Observation], latest: Observation) -> str:
    """The latest figure, and beside it any other figure of that date in another unit or basis (88.1; 89.3 扣除…)."""
    same_date = [o for o in observations if o.date == latest.date and o.value is not None and o is not latest]
    return "; ".join(_figure(o.value, o.qualifier, o.date, o.unit, o.basis) for o in [latest, *same_date])


def _indicator_block(ind: Indicator, data: Indicator | IndicatorData | None, lang: Lang) -> Group:
    """One indicator as a few labelled lines: readable at 80 columns, where a wide table is not."""
    observations = data.observations if data else []
    latest = latest_observation(observations)
    target = next((t for t in reversed(data.targets) if t.value is not None), None) if data else None
    name = plain("• " + pick(ind.name_zh, ind.name_en, lang, " · "), "bold") + plain(f"  [{ind.unit}]", "dim")

    def word(zh: str, en: str) -> str:  # a label in the command's language
        return pick(zh, en, lang, " ")

    b = data.baseline if data else None
    base = _figure(b.value, None, b.date, b.unit, b.basis) if b else "—"
    words = [o for o in observations if o.value is None and o.value_text]
    if latest:
        now = _latest_figures(observations, latest)
    elif words:  # the source gives only words: show them rather than a blank
        latest = max(words, key=lambda o: o.date)
        now = f"{latest.value_text} ({latest.date})"
    else:
        now = "—"
    details = plain(f"{word('基期', 'baseline')} {base} · {word('最新', 'latest')} {now} · {word('目标', 'target')} ")
    if target:
        details += plain(_figure(target.value, target.comparator, target_when(target), target.unit, target.basis))
        details += plain(f" — {plan_text(target.target_from, target.issued, lang)}", "dim")
    else:
        details.append(word("无数值目标", "no numeric target"), style="dim")
    if latest:
        details += plain(f"\n{word('来源', 'source')}: {source_text(latest.publisher, None, latest.source)}", "dim")
    return Group(name, Padding(details, (0, 0, 0, 2)))


def _data_for(record: Task | RegionRecord, indicator: str) -> Indicator | IndicatorData | None:
    return next((i for i in record.indicators if i.id == indicator), None)


def task_panel(ws: Workspace, task: Task, record: Task | RegionRecord, lang: Lang) -> Group:
    """A task's definition with one record's state: the national one (the task itself) or a region's."""
    region = record.region if isinstance(record, RegionRecord) else "CN"
    chapter = next((c for c in ws.chapters if c.label == task.chapter), None)
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold", no_wrap=True)
    head.add_column(overflow="fold")

    def word(zh: str, en: str) -> str:  # a label in the command's language
        return pick(zh, en, lang, " ")

    head.add_row(word("任务", "Task"), f"{task.id} " + pick(f"{task.label}{task.title_zh}", task.title_en, lang))
    if chapter:
        head.add_row(word("章", "Chapter"), pick(f"{chapter.label}、{chapter.title_zh}", chapter.title_en, lang))
    head.add_row(word("目标", "Serves"), ", ".join(task.serves))
    revision = f" · {word('版本', 'rev')} {record.revision}" if record.revision else ""
    head.add_row(word("记录", "Record"), region_label(ws, region, lang) + revision)
    head.add_row(word("状态", "Status"), Text(status_label(record.status, lang, " "), style=STATUS_STYLE[record.status]))
    if record.rating:
        r = record.rating
        rated = f"{r.level} — {r.rationale} ({r.by}, {china_day(instant(r.at))})"
        head.add_row(word("评估", "Rating"), plain(rated, RATING_STYLE[r.level]))
    head.add_row(word("牵头地区", "Owner"), region_label(ws, record.owner or region, lang))
    no_lead = "—（无来源列出）" if lang == "zh" else "— (no source names one)"
    head.add_row(word("牵头单位", "Lead"), "、".join(record.lead_units) or Text(no_lead, style="dim"))
    head.add_row(word("配合单位", "Co-op"), "、".join(record.co_units) or Text("—", style="dim"))
    head.add_row(word("原文", "Text"), word(*TEXT_RECOVERED_LABEL[task.text_recovered]))
    parts: list[Any] = [Panel(head, title=Text(task.id, style="bold"), title_align="left", box=box.ROUNDED)]

    if task.measures:
        m_table = Table(title=word("举措", "Measures"), box=box.SIMPLE_HEAD, title_justify="left", pad_edge=False)
        m_table.add_column("#", no_wrap=True)
        m_table.add_column(pick("举措", "Measure", lang, " "), overflow="fold", ratio=1)
        m_table.add_column(word("依据", "Basis"), no_wrap=True)
        for i, m in enumerate(task.measures, 1):
            m_table.add_row(str(i), pick(m.zh, m.en, lang), word(*BASIS_LABEL[m.basis]))
        parts.append(m_table)
    else:
        not_yet = word("举措尚未录入（未找回该段原文）。", "Measures not yet encoded (the paragraph's text was not recovered).")
        parts.append(Text(not_yet, style="yellow"))

    if task.indicators:
        parts.append(Text("\n" + word("指标", "Indicators"), style="bold italic"))
        parts.extend(_indicator_block(ind, _data_for(record, ind.id), lang) for ind in task.indicators)

    if task.sources:
        parts.append(Text(f"\n{word('来源', 'Sources')}\n", style="bold italic") + plain("\n".join(task.sources), "dim"))
    notes = [*task.notes, *(record.notes if isinstance(record, RegionRecord) else [])]
    if notes:
        parts.append(Text(f"\n{word('备注', 'Notes')}\n", style="bold italic") + plain("\n".join(f"• {n}" for n in notes)))
    if record.history:
        h_table = Table(title=word("记录", "History"), box=box.SIMPLE_HEAD, title_justify="left", pad_edge=False)
        for col in (("时间", "When"), ("人员", "Who"), ("变更", "What"), ("原因", "Why")):
            h_table.add_column(word(*col) + (f" ({ZONE_LABEL})" if col[1] == "When" else ""), overflow="fold")
        for h in reversed(record.history):
            why = "\n".join(x for x in (h.note, h.source) if x)
            h_table.add_row(minute_text(instant(h.at)), h.by, "\n".join(change_lines(h)), why)
        parts.append(h_table)
    else:
        parts.append(Text("\n" + word("记录：尚无变更。", "History: no changes recorded yet."), style="dim"))
    return Group(*parts)


def task_markdown(ws: Workspace, task: Task, record: Task | RegionRecord) -> str:
    region = record.region if isinstance(record, RegionRecord) else "CN"
    lines = [f"# {task.id} {task.label}{task.title_zh}", "", f"*{task.title_en}*", ""]
    lines += [
        f"- Chapter: {task.chapter}",
        f"- Serves: {', '.join(task.serves)}",
        f"- Record: {region_label(ws, region)}",
        f"- Status: {status_label(record.status, 'both', ' / ')}",
        f"- Owner: {region_label(ws, record.owner or region)}",
        f"- Text recovered: {task.text_recovered}",
        "",
        "## Measures",
        "",
    ]
    lines += [f"{i}. {m.zh} — {m.en} ({m.basis})" for i, m in enumerate(task.measures, 1)] or ["Measures not yet encoded."]
    if task.indicators:
        lines += ["", "## Indicators", ""]
        rows = []
        for ind in task.indicators:
            data = _data_for(record, ind.id)
            latest = latest_observation(data.observations) if data else None
            baseline = data.baseline if data else None
            rows.append(
                (
                    f"{ind.name_zh} ({ind.unit})",
                    _figure(baseline.value, None, baseline.date, baseline.unit, baseline.basis) if baseline else "—",
                    _latest_figures(data.observations, latest) if data and latest else "—",
                    source_text(latest.publisher, None, latest.source) if latest else "",
                )
            )
        lines.append(md_table(("Indicator", "Baseline", "Latest", "Source"), rows).rstrip())
    if task.notes:
        lines += ["", "## Notes", ""] + [f"- {md_cell(n)}" for n in task.notes]
    if record.history:
        lines += ["", "## History", ""]
        rows = [(h.at, h.by, "; ".join(change_lines(h)), h.note or "") for h in reversed(record.history)]
        lines.append(md_table(("When", "Who", "What", "Why"), rows).rstrip())
    return "\n".join(lines) + "\n"


def goals_view(ws: Workspace, lang: Lang) -> Group:
    parts: list[Any] = []
    for goal in ws.goals:
        serving = tasks_serving(ws.tasks, goal)
        table = Table(
            box=box.SIMPLE_HEAD,
            pad_edge=False,
            title_justify="left",
            title=Text(goal.id, style="bold") + plain(f" {pick(goal.headline_zh, goal.headline_en, lang, ' · ')}"),
        )
        table.add_column("#", no_wrap=True)
        table.add_column(pick("分目标", "Component", lang, " "), overflow="fold", ratio=1)
        table.add_column(pick("任务", "Tasks", lang, " "), overflow="fold")
        table.add_column(pick("状态", "Status", lang, " "), overflow="fold")
        rows: list[tuple[str, str | Text, list[Task]]] = [
            (str(c.number), plain(pick(c.zh, c.en, lang)) + plain(f" ({c.key})", "dim"), serving[c.key]) for c in goal.components
        ]
        if serving[None]:
            rows.append(("—", pick("整体目标", "the goal as a whole", lang, " · "), serving[None]))
        for number, label, tasks in rows:
            table.add_row(number, label, " ".join(t.id for t in tasks) or "—", _counts_line(tasks, lang) or "—")
        parts.append(table)
    return Group(*parts)


def goals_json(ws: Workspace) -> str:
    out = []
    for goal in ws.goals:
        serving = tasks_serving(ws.tasks, goal)
        record = goal.model_dump(mode="json")
        for comp in record["components"]:
            comp["tasks"] = [t.id for t in serving[comp["key"]]]
            comp["status_counts"] = status_counts(serving[comp["key"]])
        record["tasks_whole_goal"] = [t.id for t in serving[None]]
        served = {t.id: t for ts in serving.values() for t in ts}
        record["status_counts"] = status_counts(list(served.values()))
        out.append(record)
    return dump_json(out)


def goals_markdown(ws: Workspace, lang: Lang) -> str:
    text = ""
    for goal in ws.goals:
        serving = tasks_serving(ws.tasks, goal)
        text += f"## {goal.id} {pick(goal.headline_zh, goal.headline_en, lang, ' / ')}\n\n"
        rows = [(str(c.number), pick(c.zh, c.en, lang, " / "), " ".join(t.id for t in serving[c.key])) for c in goal.components]
        if serving[None]:
            rows.append(("—", "(goal as a whole)", " ".join(t.id for t in serving[None])))
        text += md_table(("#", "Component", "Tasks"), rows) + "\n"
    return text


# ---------------------------------------------------------------------------------------------- regions


def regions_tree(regions: Sequence[Region], lang: Lang, root: str | None = None) -> Group:
    """The registry as trees: China down to its prefecture-level cities and the clusters; or, given `root`,
    that region with everything inside it, counties included."""

    def label(r: Region) -> Text:
        extra = plain(f" {r.size_class or r.tier}", "dim") if (r.size_class or r.tier) else Text()
        return plain(r.code, "bold") + plain(f" {pick(r.zh, r.en, lang, ' ')}") + extra

    children: dict[str | None, list[Region]] = {}
    counties = 0
    for r in regions:
        if r.kind == "county" and root is None:
            counties += 1  # 2,978 lines would bury the rest: shown per region with --region
        elif r.kind != "cluster":
            children.setdefault(r.parent, []).append(r)

    def grow(node: Tree, code: str) -> None:
        for child in children.get(code, []):
            grow(node.add(label(child)), child.code)

    trees: list[Any] = []
    by_code = {r.code: r for r in regions}
    for top in [by_code[root]] if root is not None else children.get(None, []):
        tree = Tree(label(top))
        grow(tree, top.code)
        trees.append(tree)
    clusters = [r for r in regions if r.kind == "cluster" and root is None]
    if clusters:
        tree = Tree(Text(pick("城市群", "City clusters", lang, " "), style="bold"))
        for c in clusters:
            members = "、".join(by_code[p].zh if p in by_code else p for p in c.provinces)
            tree.add(label(c) + plain(f" — {members}", "dim"))
        trees.append(tree)
    if counties:
        hint = pick(
            f"另有 {counties} 个县级行政区：ptrack regions --region 江苏",
            f"and {counties} county-level divisions: ptrack regions --region Jiangsu",
            lang,
            "; ",
        )
        trees.append(Text(hint, style="dim"))
    return Group(*trees)


def regions_csv(regions: Sequence[Region]) -> str:
    rows = [
        (r.code, r.zh, r.en, r.kind, r.parent or "", " ".join(r.provinces), " ".join(r.aliases), r.tier or r.size_class or "")
        for r in regions
    ]
    return _csv(("code", "zh", "en", "kind", "parent", "provinces", "aliases", "class"), rows)


# ---------------------------------------------------------------------------------------------- history


def history_table(rows: Sequence[HistoryRow], ws: Workspace, width: int = NARROW) -> Table | Text:
    """The changes, newest first; on a terminal narrower than NARROW, each change as one block beside its time."""
    if not rows:
        return Text("No changes recorded.")
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column(f"When ({ZONE_LABEL})", overflow="fold", min_width=10)
    if width < NARROW:
        table.add_column("Who · record · what · why", overflow="fold", ratio=1, min_width=20)
    else:
        table.add_column("Who", overflow="fold")
        table.add_column("Record", overflow="fold")
        table.add_column("What", overflow="fold", ratio=2)
        table.add_column("Why / evidence", overflow="fold", ratio=1)
    for r in rows:
        e = r.entry
        why = "\n".join(x for x in (e.note, e.source) if x)
        cells = [e.by, f"{r.task} {region_label(ws, r.region)}", "\n".join(change_lines(e)), why]
        if width < NARROW:
            head = plain(f"{e.by} · {cells[1]}", "bold")
            table.add_row(minute_text(r.when), head + plain("".join(f"\n{c}" for c in cells[2:] if c)))
        else:
            table.add_row(minute_text(r.when), *cells)
    table.caption = f"{len(rows)} change{'s' if len(rows) != 1 else ''}, newest first"
    table.caption_justify = "left"
    return table


def history_json(rows: Iterable[HistoryRow]) -> str:
    return "".join(history_json_chunks(rows))


def history_json_chunks(rows: Iterable[HistoryRow], size: int = 1000) -> Iterator[str]:
    """`history_json` in pieces, as the rows stream in: the same text as `dump_json` of the whole list."""
    first = True
    for chunk in _batches(rows, size):
        items = (json.dumps({"task": r.task, "region": r.region, **r.entry.model_dump(mode="json")}, ensure_ascii=False, indent=2)
                 for r in chunk)  # fmt: skip
        text = ",\n".join("  " + item.replace("\n", "\n  ") for item in items)
        yield ("[\n" if first else ",\n") + text
        first = False
    yield "[]\n" if first else "\n]\n"


HISTORY_CSV_HEADER = ("at", "change", "by", "task", "region", "what", "note", "source")


def history_csv(rows: Iterable[HistoryRow], ws: Workspace) -> str:
    return "".join(history_csv_chunks(rows, ws))


def history_csv_chunks(rows: Iterable[HistoryRow], ws: Workspace, size: int = 1000) -> Iterator[str]:
    """`history_csv` in pieces, as the rows stream in: the header, then the rows a thousand at a time."""
    head = _csv(HISTORY_CSV_HEADER, [])
    yield head
    for chunk in _batches(rows, size):
        cells = [
            (r.entry.at, r.entry.change, r.entry.by, r.task, r.region, "; ".join(change_lines(r.entry)), r.entry.note or "",
             r.entry.source or "")
            for r in chunk
        ]  # fmt: skip
        yield _csv(HISTORY_CSV_HEADER, cells)[len(head) :]


def _batches(rows: Iterable[_Row], size: int) -> Iterator[list[_Row]]:
    it = iter(rows)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


def records_json(records: Sequence[tuple[str, Task | RegionRecord]]) -> str:
    return dump_json([{"region": region, "record": r.model_dump(mode="json", by_alias=True)} for region, r in records])


def records_json_chunks(records: Iterable[tuple[str, Task | RegionRecord]], size: int = 100) -> Iterator[str]:
    """`records_json` in pieces as the records come: the same text."""
    first = True
    for chunk in _batches(records, size):
        items = (json.dumps({"region": region, "record": r.model_dump(mode="json", by_alias=True)}, ensure_ascii=False, indent=2)
                 for region, r in chunk)  # fmt: skip
        yield ("[\n" if first else ",\n") + ",\n".join("  " + item.replace("\n", "\n  ") for item in items)
        first = False
    yield "[]\n" if first else "\n]\n"


# ---------------------------------------------------------------------------------------------- progress

# The assessment's colours (assessment.LABEL_COLOUR) as Rich styles: one meaning everywhere.
COLOUR_STYLE = {"green": "green", "amber": "yellow", "red": "red", "grey": "grey50"}


def _num(value: float | None) -> str:
    """A computed figure (projection, rate, year reached), rounded as everywhere; `_stored` is for published ones."""
    return "—" if value is None else format_computed(value)


def _stored(value: float | None) -> str:
    """A stored figure (a target) with every digit it was published with; `_num` is for computed ones."""
    return "—" if value is None else format_number(value)


def _share(value: float | None) -> str:
    return "—" if value is None else format_share(value)


def _labelled(key: str, lang: Lang) -> Text:
    from policy_tracker.assessment import LABEL_COLOUR, LABELS

    return Text(pick(*LABELS[key], lang, " "), style=COLOUR_STYLE[LABEL_COLOUR[key]])


def _counts(c: ComponentSummary, lang: Lang) -> Text:
    """Every label with a count, then 数据不足 always, each in its colour."""
    out = Text()
    for item in c.counts:
        if item.n or item.key == "insufficient_data":
            if out:
                out.append(" · ")
            out.append(f"{pick(item.zh, item.en, lang, ' ')} {item.n}", style=COLOUR_STYLE[item.colour])
    return out


def _goal_tables(g: GoalSummary, lang: Lang) -> list[Any]:
    if g.overall.total == 0:  # an empty scope gets a sentence, never an empty table or chart
        return [Text(pick(f"{g.goal.id}：范围内没有指标。", f"{g.goal.id}: no indicator in scope.", lang, " "), style="grey50")]
    parts: list[Any] = []
    table = Table(
        title=pick(f"{g.goal.id} 覆盖与计数", f"{g.goal.id} coverage and counts", lang, " "),
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        title_justify="left",
    )
    table.add_column("", overflow="fold", ratio=1)
    table.add_column(pick("可评估", "Assessed", lang, " "), overflow="fold", justify="right")
    table.add_column(pick("按标签", "By label", lang, " "), overflow="fold", ratio=2)
    for c in (*g.components, g.overall):
        name = pick(c.label_zh, c.label_en, lang, " ") if c is not g.overall else pick("合计", "All", lang, " ")
        table.add_row(name, f"{c.assessed}/{c.total}", _counts(c, lang))
    parts.append(table)
    rows = [e for e in g.overall.entries if e.progress.assessed]
    if rows:
        ind = Table(
            title=pick(f"{g.goal.id} 已评估指标", f"{g.goal.id} assessed indicators", lang, " "),
            box=box.SIMPLE_HEAD,
            pad_edge=False,
            title_justify="left",
        )
        for col in (("指标", "Indicator"), ("评估", "Label"), ("数据期", "Data date")):
            ind.add_column(pick(*col, lang, " "), overflow="fold")
        ind.add_column(pick("进展/时间", "Progress/time", lang, " "), overflow="fold")
        ind.add_column(pick("目标与预期", "Target and anticipated", lang, " "), overflow="fold", ratio=2)
        for e in rows:
            p = e.progress
            if p.target is not None:
                plan = plan_text(p.target.target_from, p.target.issued, lang)
                progress = f"{_share(p.progress_raw)} / {_share(p.expected)}"
                meets = (
                    "—"
                    if p.projected_meets is None
                    else pick("可达成", "on course to meet", lang, " ")
                    if p.projected_meets
                    else pick("达不到", "would miss", lang, " ")
                )
                anticipated = (
                    f"{p.target.comparator or ''}{_stored(p.target.value)} ({target_when(p.target)}; {plan}); "
                    + pick("按现速度", "at the observed rate", lang, " ")
                    + f" {_num(p.projected)} ({meets}), "
                    + pick("需每年", "needs", lang, " ")
                    + f" {_num(p.required_rate)}/{pick('年', 'yr', lang, ' ')}"
                    + (f", {pick('预计达成', 'reached', lang, ' ')} {p.reached_year:.1f}" if p.reached_year else "")
                )
            else:
                progress = f"{_num(p.annual_rate)}/{pick('年', 'yr', lang, ' ')}"
                anticipated = pick("无本期目标：看趋势", "no target for this horizon: trend", lang, " ")
            when = p.data_date.isoformat() if p.data_date else "—"
            ind.add_row(e.name(lang if lang != "both" else "zh"), _labelled(p.label, lang), when, progress, anticipated)
        parts.append(ind)
    ytd = [(e, y) for e in g.overall.entries for y in e.progress.year_to_date]
    if ytd:  # 时序进度: part of a year against the annual target at the share of the year it covers
        table = Table(
            title=pick("时序进度（年内累计）", "Year to date (against the annual target)", lang, " "),
            box=box.SIMPLE_HEAD,
            pad_edge=False,
            title_justify="left",
        )
        for col in (("指标", "Indicator"), ("期间", "Period"), ("累计", "To date"), ("年度目标", "Annual target")):
            table.add_column(pick(*col, lang, " "), overflow="fold")
        table.add_column(pick("完成/时间", "Done/time", lang, " "), no_wrap=True)
        table.add_column(pick("评估", "Label", lang, " "), no_wrap=True)
        for e, y in ytd:
            target = (
                f"{_stored(y.target.value)} ({plan_text(y.target.target_from, y.target.issued, lang)})"
                if y.target
                else pick("无", "none", lang, " ")
            )
            table.add_row(
                e.name(lang if lang != "both" else "zh"),
                y.observation.period or "",
                _stored(y.observation.value),
                target,
                f"{_share(y.completion)} / {_share(y.share_of_year)}",
                _labelled(y.label, lang),
            )
        parts.append(table)
    missing = g.overall.counts[-1]
    if missing.n:
        names = missing.names_en if lang == "en" else missing.names_zh
        parts.append(
            Text(f"{pick('数据不足', 'Insufficient data', lang, ' ')} ({missing.n}): " + "、".join(names), style="grey50")
        )
    earlier = [m for m in g.overall.milestones if m.n]
    if earlier:
        text = Text(pick("早期节点目标（不计入进展）", "Earlier milestones (not progress toward the goal)", lang, " ") + ": ")
        for i, m in enumerate(earlier):
            text.append(("; " if i else "") + f"{pick(m.zh, m.en, lang, ' ')} {m.n}", style=COLOUR_STYLE[m.colour])
            text.append(" (" + "、".join(m.names_en if lang == "en" else m.names_zh) + ")", style="grey50")
        parts.append(text)
    return parts


class Headline:
    """A sentence wrapped to the terminal's width by the Chinese rule (no line starts with 。，）…), which Rich's
    word wrapping does not know."""

    def __init__(self, text: str, style: str = "") -> None:
        self.text, self.style = text, style

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Text]:
        from policy_tracker.linebreak import wrap

        yield plain("\n".join(wrap(self.text, options.max_width)), self.style)


def _region_table(r: RegionSummary, ws: Workspace, lang: Lang) -> list[Any]:
    parts: list[Any] = [Headline(pick(r.headline.zh, r.headline.en, lang), style="grey50" if not r.reported else "")]
    if r.members:
        table = Table(
            title=pick("下辖与成员（各自计数，不并入上级）", "Members (counted on their own, never added up)", lang, " "),
            box=box.SIMPLE_HEAD,
            pad_edge=False,
            title_justify="left",
        )
        table.add_column(pick("地区", "Region", lang, " "), overflow="fold")
        table.add_column(pick("已报送", "Reported", lang, " "), justify="right", overflow="fold")
        table.add_column(pick("状态", "Status", lang, " "), overflow="fold")
        table.add_column(pick("数据", "Data", lang, " "), overflow="fold")
        for m in r.members:
            if not m.reported:
                table.add_row(
                    region_label(ws, m.code, lang),
                    f"0/{m.tasks_total}",
                    Text(pick("无记录（未报送）", "no records (not reported)", lang, " "), style="grey50"),
                    "",
                )
                continue
            status = " · ".join(
                f"{status_label(s, lang, ' ') if s != 'not_reported' else pick('未报送', 'not reported', lang, ' ')} {n}"
                for s, n in m.status_counts.items()
                if n
            )
            data = Text(" · ").join(
                Text(f"{pick(*TASK_LABELS[k], lang, ' ')} {n}", style=COLOUR_STYLE[TASK_COLOUR[k]])
                for k, n in m.data_counts.items()
                if n
            )
            table.add_row(region_label(ws, m.code, lang), f"{m.reported}/{m.tasks_total}", status, data)
        parts.append(table)
    return parts


def progress_view(ws: Workspace, view: Overview, lang: Lang) -> Group:
    """The terminal view: the words a journalist may quote first, then coverage and counts per component, the
    assessed indicators with anticipated progress, the records (status and data side by side), exceptions."""
    parts: list[Any] = []
    for g in view.goals:
        parts.append(Headline(pick(g.headline.zh, g.headline.en, lang), style="bold"))
    parts.append(
        Text(
            pick(
                "进展在各指标的数据期末计量；截至日只决定哪些数据已知。",
                "Progress is measured at each indicator's data date; the as-of date only decides which data are known.",
                lang,
                " ",
            ),
            style="grey50",
        )
    )
    if view.region is not None:
        parts += _region_table(view.region, ws, lang)
    for g in view.goals:
        parts += _goal_tables(g, lang)
    mine = [t for t in view.tasks if view.scope is None or t.region == view.scope.code]
    if mine:
        table = Table(
            title=pick("记录：状态与数据并列", "Records: status and data side by side", lang, " "),
            box=box.SIMPLE_HEAD,
            pad_edge=False,
            title_justify="left",
        )
        table.add_column("ID", no_wrap=True)
        table.add_column(pick("地区", "Region", lang, " "), overflow="fold")
        table.add_column(pick("状态", "Status", lang, " "), overflow="fold")
        table.add_column(pick("数据", "Data", lang, " "), overflow="fold")
        table.add_column(pick("矛盾或分歧", "Contradiction or disagreement", lang, " "), overflow="fold")
        for t in mine:
            flag = t.contradiction
            words = (pick(CONTRADICTION_ZH[flag], flag, lang, " ") if flag else "") + (
                f"{'; ' if flag else ''}{t.disagreement}" if t.disagreement else ""
            )
            table.add_row(
                t.task.id,
                region_label(ws, t.region, lang),
                _status_text(t.status, lang),
                Text(pick(*TASK_LABELS[t.data], lang, " "), style=COLOUR_STYLE[TASK_COLOUR[t.data]]),
                Text(words, style="red") if words else "",
            )
        parts.append(table)
    found = exceptions(view.tasks)  # members' records too, each under its own region
    if found:
        table = Table(
            title=pick("需关注", "Needs attention", lang, " "), box=box.SIMPLE_HEAD, pad_edge=False, title_justify="left"
        )
        table.add_column("ID", no_wrap=True)
        table.add_column(pick("地区", "Region", lang, " "), overflow="fold")
        table.add_column(pick("问题", "Issue", lang, " "), overflow="fold")
        table.add_column(pick("最新说明", "Latest note", lang, " "), overflow="fold")
        for t, reasons in found:
            why = "; ".join(pick(*REASON_LABELS[k], lang, " ") for k in reasons)
            table.add_row(t.task.id, region_label(ws, t.region, lang), Text(why, style="red"), plain(t.latest_note or "—"))
        parts.append(table)
    elif view.tasks:
        parts.append(
            Text(
                pick(
                    "无滞后、受阻、过期、矛盾或分歧的记录。",
                    "Nothing lagging, blocked, stale, contradicted or in disagreement.",
                    lang,
                    " ",
                ),
                style="grey50",
            )
        )
    return Group(*parts)


def _figure_json(x: BaseModel | None) -> Any:
    return x.model_dump(mode="json") if x is not None else None


def progress_json(view: Overview, origins: Mapping[tuple[str, str], str | None] | None = None) -> str:
    """Every number behind the view: goals with coverage and counts (names included), the region, and each
    record's indicators per horizon with milestones, superseded targets and anticipated progress.

    `origins`: in a roll-up, the workspace each (task, region) record came from."""
    return "".join(progress_json_chunks(view, origins))


def progress_json_chunks(
    view: Overview, origins: Mapping[tuple[str, str], str | None] | None = None, records: Iterable[TaskProgress] | None = None
) -> Iterator[str]:
    """`progress_json` in pieces, a thousand records at a time: the same text, never all of it held at once.

    `records`: the records in the order of `view.tasks`, when the view holds only those its summaries need."""

    def component(c: ComponentSummary) -> dict[str, Any]:
        return {
            "key": c.key, "label_zh": c.label_zh, "label_en": c.label_en, "horizon": c.horizon,
            "total": c.total, "assessed": c.assessed, "coverage": _r(c.coverage), "records": c.records,
            "counts": {x.key: {"n": x.n, "names": list(x.names_en)} for x in c.counts},
            "milestones": {x.key: {"n": x.n, "names": list(x.names_en)} for x in c.milestones},
        }  # fmt: skip

    def region(r: RegionSummary) -> dict[str, Any]:
        return {
            "code": r.code, "zh": r.zh, "en": r.en, "kind": r.kind, "tasks_total": r.tasks_total,
            "reported": r.reported, "status_counts": r.status_counts, "data_counts": r.data_counts,
            "headline_zh": r.headline.zh, "headline_en": r.headline.en, "members": [region(m) for m in r.members],
        }  # fmt: skip

    goals = [
        {
            "goal": g.goal.id, "region": g.region, "headline_zh": g.headline.zh, "headline_en": g.headline.en,
            "data_from": g.data_from.isoformat() if g.data_from else None,
            "data_to": g.data_to.isoformat() if g.data_to else None, "time_elapsed": _r(g.time_elapsed),
            "records": g.records, "status_counts": g.status_counts, "data_counts": g.data_counts,
            "contradictions": g.contradictions, "overall": component(g.overall),
            "components": [component(c) for c in g.components],
        }
        for g in view.goals
    ]  # fmt: skip

    def record(t: TaskProgress) -> dict[str, Any]:
        return {
            "task": t.task.id, "region": t.region, **({"origin": origins.get((t.task.id, t.region))} if origins else {}),
            "status": t.status, "data": t.data, "assessment": t.data,
            "contradiction": t.contradiction, "rating": t.rating, "disagreement": t.disagreement, "stale": t.stale,
            "horizon": t.horizon,
            "indicators": [
                {"id": p.indicator, "horizon": p.horizon, "label": p.label, "assessment": p.label,
                 "data_date": p.data_date.isoformat() if p.data_date else None,
                 "progress": _r(p.progress), "progress_raw": _r(p.progress_raw), "expected": _r(p.expected),
                 "annual_rate": _r(p.annual_rate), "required_rate": _r(p.required_rate), "projected": _r(p.projected),
                 "projected_meets": p.projected_meets, "reached_year": _r(p.reached_year),
                 "cagr_ratio": _r(p.cagr_ratio), "cagr_class": p.cagr_class, "stale": p.stale, "reason": p.reason,
                 "baseline": _figure_json(p.baseline), "latest": _figure_json(p.latest), "target": _figure_json(p.target),
                 "superseded": [_figure_json(x) for x in p.superseded], "beyond": [_figure_json(x) for x in p.beyond],
                 "milestones": [
                     {"target": _figure_json(m.target), "outcome": m.outcome, "floor": m.floor, "reason": m.reason,
                      "observation": _figure_json(m.observation)}
                     for m in p.milestones
                 ],
                 "year_to_date": [
                     {"observation": _figure_json(y.observation), "target": _figure_json(y.target),
                      "share_of_year": _r(y.share_of_year), "completion": _r(y.completion), "label": y.label, "reason": y.reason}
                     for y in p.year_to_date
                 ]}
                for h in sorted(t.by_horizon) for p in t.by_horizon[h]
            ],
        }  # fmt: skip

    head = {
        "as_of": view.as_of.isoformat(),
        "method": view.settings.method,
        "tolerance": view.settings.tolerance,
        "scope": view.scope.code if view.scope else None,
        "goals": goals,
        "region": region(view.region) if view.region else None,
    }
    return _json_object_chunks(head, "records", (record(t) for t in (view.tasks if records is None else records)))


def _json_object_chunks(head: dict[str, Any], key: str, items: Iterable[Any], size: int = 1000) -> Iterator[str]:
    """`dump_json` of `head` with `key` added last, holding the list `items`, in pieces as the items come."""
    text = dump_json(head)
    yield text[: -len("\n}\n")] + f",\n  {json.dumps(key)}: "
    first = True
    for chunk in _batches(items, size):
        dumped = (json.dumps(item, ensure_ascii=False, indent=2).replace("\n", "\n    ") for item in chunk)
        yield ("[\n    " if first else ",\n    ") + ",\n    ".join(dumped)
        first = False
    yield "[]\n}\n" if first else "\n  ]\n}\n"


# ---------------------------------------------------------------------------------------------- the matrix

TONE_STYLE = {"good": "green", "ok": "yellow", "bad": "bold red", "info": "cyan", "muted": "grey50", "none": ""}


def matrix_table(m: Matrix, lang: Lang) -> Group:
    """The task × region matrix on a terminal: status over assessment in each cell, 未报送 in grey."""
    title = f"{pick('任务 × 地区', 'Tasks × regions', lang, ' ')}: {region_name(m.scope, lang)}"
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, title_justify="left", show_lines=False)
    table.add_column(pick("任务", "Task", lang, " "), overflow="fold", min_width=10, ratio=3)
    for region in m.columns:
        table.add_column(region_name(region, lang), overflow="fold", min_width=6, ratio=1)
    for i, (task, cells) in enumerate(zip(m.tasks, m.rows, strict=True)):
        title_text = pick(task.title_zh, task.title_en, lang, " ")
        table.add_row(
            f"{task.id} {title_text}",
            *(
                Text(
                    "\n".join(cell_lines(c, "zh" if lang == "both" else lang, m.below_count(i, j))),
                    style=TONE_STYLE[cell_tone(c)],
                )
                for j, c in enumerate(cells)
            ),
        )
    parts: list[Any] = [table]
    reported = m.reported
    counts = " · ".join(f"{region_name(r, lang)} {reported[r.code]}/{len(m.tasks)}" for r in m.columns)
    parts.append(Text(f"{pick('已报送任务', 'Tasks reported', lang, ' ')}: {counts}", style="dim"))
    if m.silent:
        names = ", ".join(region_name(r, lang) for r in m.silent)
        parts.append(Text(f"{pick('全部未报送', 'Nothing reported', lang, ' ')}: {names}", style="dim"))
    return Group(*parts)


def matrix_rows(m: Matrix, lang: Lang) -> tuple[list[str], list[list[str]]]:
    """The matrix as plain rows (CSV, JSON): one row per task and region, status, assessment, or not reported."""
    header = ["task", "region", "region_name", "status", "assessment"]
    rows = []
    for task, cells in zip(m.tasks, m.rows, strict=True):
        for region, cell in zip(m.columns, cells, strict=True):
            status = cell.status if cell else "not_reported"
            rows.append([task.id, region.code, region_name(region, lang), status, cell.assessment if cell else ""])
    return header, rows


def matrix_csv(m: Matrix, lang: Lang) -> str:
    header, rows = matrix_rows(m, lang)
    return _csv(header, rows)


def matrix_json(m: Matrix, lang: Lang) -> str:
    header, rows = matrix_rows(m, lang)
    return dump_json({"scope": m.scope.code, "records": [dict(zip(header, row, strict=True)) for row in rows]})


# ---------------------------------------------------------------------------------------------- progress

PROGRESS_MIN = 100  # fewer steps than this finish before a bar would be read


@contextmanager
def progress_bar(total: int, description: str) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr for long work, when stderr is a terminal; nothing when piped or redirected.

    Yields `advance(n)`. The bar disappears when the work is done, leaving the command's own summary.
    """
    import sys

    if total < PROGRESS_MIN or not sys.stderr.isatty():

        def nothing(n: int) -> None:
            pass

        yield nothing
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=make_console(stderr=True), transient=True) as bar:
        task = bar.add_task(description, total=total)

        def advance(n: int) -> None:
            bar.advance(task, n)

        yield advance


@contextmanager
def progress_phases() -> Iterator[Callable[[int, str], Callable[[int], None]]]:
    """Progress bars one after another, for a command with phases (an import prepares rows, then writes files).

    Yields `start(total, description)`, which ends the bar before it and returns the new bar's `advance(n)`.
    """
    from contextlib import ExitStack

    shown: list[ExitStack] = []

    def start(total: int, description: str) -> Callable[[int], None]:
        if shown:
            shown.pop().close()
        stack = ExitStack()
        shown.append(stack)
        return stack.enter_context(progress_bar(total, description))

    try:
        yield start
    finally:
        if shown:
            shown.pop().close()
