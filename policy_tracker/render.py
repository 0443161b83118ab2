"""Output: Rich tables, panels and trees for people; JSON, CSV and markdown for programs. The only Rich code."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel
from rich import box
from rich.console import Console, Group
from rich.padding import Padding
from rich.panel import Panel
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from policy_tracker.models import STATUS_LABELS, Indicator, Region, Task, Workspace, latest_observation
from policy_tracker.query import status_counts, tasks_serving

Lang = Literal["zh", "en", "both"]
STATUS_STYLE = {
    "not_started": "dim",
    "in_progress": "cyan",
    "completed": "green",
    "blocked": "red",
    "deferred": "yellow",
}
BASIS_LABEL = {"verbatim": "原文 verbatim", "secondary": "转述 secondary"}
TEXT_RECOVERED_LABEL = {
    "verbatim_complete_probable": "原文基本完整 official text, probably complete",
    "verbatim_partial": "部分原文 official text, in part",
    "secondary_only": "仅有转述 press summaries only",
    "title_only": "仅有标题 title only: text not recovered",
}


def make_console(stderr: bool = False) -> Console:
    # No highlighting: numbers and URLs in official titles must not be recoloured at random.
    return Console(stderr=stderr, highlight=False, soft_wrap=False)


def pick(zh: str, en: str, lang: Lang, sep: str = "\n") -> str:
    return zh if lang == "zh" else en if lang == "en" else f"{zh}{sep}{en}"


def status_label(status: str, lang: Lang, sep: str = "\n") -> str:
    zh, en = STATUS_LABELS[status]
    return pick(zh, en, lang, sep)


def _status_text(status: str, lang: Lang) -> Text:
    return Text(status_label(status, lang), style=STATUS_STYLE[status])


def region_label(ws: Workspace, code: str) -> str:
    region = ws.regions_by_code.get(code)
    return f"{code} {region.zh}" if region else code


def _counts_line(tasks: Sequence[Task], lang: Lang) -> str:
    counts = status_counts(tasks)
    return " · ".join(f"{status_label(s, lang, ' ')} {n}" for s, n in counts.items() if n)


# ---------------------------------------------------------------------------------------------- data formats


def dump_json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def models_json(records: Sequence[BaseModel]) -> str:
    return dump_json([r.model_dump(mode="json", by_alias=True) for r in records])


def _csv(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def md_cell(text: str) -> str:
    """User text made safe for one markdown table cell: no pipe, newline or HTML can break out of it."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")
    return "<br>".join(part.strip() for part in escaped.splitlines()) if "\n" in escaped else escaped


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(md_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


TASK_CSV_HEADER = ("id", "label", "chapter", "title_zh", "title_en", "status", "owner", "serves", "indicators")


def tasks_csv(tasks: Sequence[Task]) -> str:
    rows = [
        (t.id, t.label, t.chapter, t.title_zh, t.title_en, t.status, t.owner, " ".join(t.serves), len(t.indicators))
        for t in tasks
    ]
    return _csv(TASK_CSV_HEADER, rows)


def tasks_markdown(ws: Workspace, tasks: Sequence[Task], lang: Lang) -> str:
    rows = [
        (t.id, t.chapter, pick(t.title_zh, t.title_en, lang, " / "), status_label(t.status, lang, " "), region_label(ws, t.owner))
        for t in tasks
    ]
    return _md_table(("ID", "章 Ch.", "Title", "Status", "Owner"), rows)


# ---------------------------------------------------------------------------------------------- tables


def tasks_table(ws: Workspace, tasks: Sequence[Task], lang: Lang, title: str | None = None) -> Table:
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, expand=False, title_justify="left")
    table.add_column("ID", no_wrap=True, style="bold")
    table.add_column("章", no_wrap=True)
    table.add_column(pick("任务", "Task", lang, " "), overflow="fold", ratio=1)
    table.add_column(pick("状态", "Status", lang, " "), no_wrap=True)
    table.add_column(pick("牵头地区", "Owner", lang, " "), no_wrap=True)
    for t in tasks:
        title_text = (
            Text(t.title_zh)
            if lang == "zh"
            else Text(t.title_en)
            if lang == "en"
            else Text.assemble(t.title_zh, "\n", (t.title_en, "dim"))
        )
        table.add_row(t.id, t.chapter, title_text, _status_text(t.status, lang), t.owner)
    if tasks:
        table.caption = f"{len(tasks)} · {_counts_line(tasks, lang)}"
        table.caption_justify = "left"
    return table


def print_tasks(console: Console, ws: Workspace, tasks: Sequence[Task], lang: Lang, title: str | None) -> None:
    if not tasks:
        console.print(pick("没有符合条件的任务。", "No task matches these filters.", lang, " "))
        return
    console.print(tasks_table(ws, tasks, lang, title))


def _figure(value: float | None, qualifier: str | None, when: str | int) -> str:
    return f"{qualifier or ''}{value:g} ({when})" if value is not None else "—"


def _indicator_block(ind: Indicator, lang: Lang) -> Group:
    """One indicator as a few labelled lines: readable at 80 columns, where a wide table is not."""
    latest = latest_observation(ind.observations)
    target = next((t for t in reversed(ind.targets) if t.value is not None), None)
    name = Text.assemble(("• " + pick(ind.name_zh, ind.name_en, lang, " · "), "bold"), (f"  [{ind.unit}]", "dim"))
    base = _figure(ind.baseline.value, None, ind.baseline.date) if ind.baseline else "—"
    words = [o for o in ind.observations if o.value is None and o.value_text]
    if latest:
        now = _figure(latest.value, latest.qualifier, latest.date)
    elif words:  # the source gives only words: show them rather than a blank
        latest = max(words, key=lambda o: o.date)
        now = f"{latest.value_text} ({latest.date})"
    else:
        now = "—"
    details = Text(f"基期 baseline {base} · 最新 latest {now} · 目标 target ")
    if target:
        details.append(_figure(target.value, target.comparator, target.year))
        details.append(f" — {target.target_from}", style="dim")
    else:
        details.append("no numeric target", style="dim")
    if latest:
        who = f"{latest.publisher}, " if latest.publisher else ""
        details.append(f"\n来源 source: {who}{latest.source}", style="dim")
    return Group(name, Padding(details, (0, 0, 0, 2)))


def task_panel(ws: Workspace, task: Task, lang: Lang) -> Group:
    chapter = next((c for c in ws.chapters if c.label == task.chapter), None)
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold", no_wrap=True)
    head.add_column(overflow="fold")
    head.add_row("任务 Task", f"{task.id} {task.label}{task.title_zh}\n{task.title_en}")
    if chapter:
        head.add_row("章 Chapter", f"{chapter.label}、{chapter.title_zh}\n{chapter.title_en}")
    head.add_row("目标 Serves", ", ".join(task.serves))
    head.add_row("状态 Status", Text(status_label(task.status, "both", " "), style=STATUS_STYLE[task.status]))
    head.add_row("牵头地区 Owner", region_label(ws, task.owner))
    head.add_row("牵头单位 Lead", "、".join(task.lead_units) or "[dim]— (no source names one)[/]")
    head.add_row("配合单位 Co-op", "、".join(task.co_units) or "[dim]—[/]")
    head.add_row("原文 Text", TEXT_RECOVERED_LABEL[task.text_recovered])
    parts: list[Any] = [Panel(head, title=f"[bold]{task.id}[/]", title_align="left", box=box.ROUNDED)]

    if task.measures:
        m_table = Table(title="举措 Measures", box=box.SIMPLE_HEAD, title_justify="left", pad_edge=False)
        m_table.add_column("#", no_wrap=True)
        m_table.add_column(pick("举措", "Measure", lang, " "), overflow="fold", ratio=1)
        m_table.add_column("依据 Basis", no_wrap=True)
        for i, m in enumerate(task.measures, 1):
            text = pick(m.zh, m.en, lang)
            m_table.add_row(str(i), text, BASIS_LABEL[m.basis])
        parts.append(m_table)
    else:
        parts.append(Text("举措尚未录入 Measures not yet encoded (the paragraph's text was not recovered).", style="yellow"))

    if task.indicators:
        parts.append(Text("\n指标 Indicators", style="bold italic"))
        parts.extend(_indicator_block(ind, lang) for ind in task.indicators)

    if task.sources:
        parts.append(Text("\n来源 Sources\n", style="bold italic") + Text("\n".join(task.sources), style="dim"))
    if task.notes:
        parts.append(Text("\n备注 Notes\n", style="bold italic") + Text("\n".join(f"• {n}" for n in task.notes)))
    if task.history:
        h_table = Table(title="记录 History", box=box.SIMPLE_HEAD, title_justify="left", pad_edge=False)
        for col in ("When", "Who", "What", "Why"):
            h_table.add_column(col, overflow="fold")
        for h in reversed(task.history):
            what = "; ".join(f"{c.field}: {c.old} → {c.new}" for c in h.changes)
            h_table.add_row(h.at, h.by, what, h.note or "")
        parts.append(h_table)
    else:
        parts.append(Text("\n记录 History: no changes recorded yet.", style="dim"))
    return Group(*parts)


def task_markdown(ws: Workspace, task: Task) -> str:
    lines = [f"# {task.id} {task.label}{task.title_zh}", "", f"*{task.title_en}*", ""]
    lines += [
        f"- Chapter: {task.chapter}",
        f"- Serves: {', '.join(task.serves)}",
        f"- Status: {status_label(task.status, 'both', ' / ')}",
        f"- Owner: {region_label(ws, task.owner)}",
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
            latest = latest_observation(ind.observations)
            rows.append(
                (
                    f"{ind.name_zh} ({ind.unit})",
                    f"{ind.baseline.value:g} ({ind.baseline.date})" if ind.baseline else "—",
                    f"{latest.value:g} ({latest.date})" if latest and latest.value is not None else "—",
                    latest.source if latest else "",
                )
            )
        lines.append(_md_table(("Indicator", "Baseline", "Latest", "Source"), rows).rstrip())
    if task.notes:
        lines += ["", "## Notes", ""] + [f"- {md_cell(n)}" for n in task.notes]
    return "\n".join(lines) + "\n"


def goals_view(ws: Workspace, lang: Lang) -> Group:
    parts: list[Any] = []
    for goal in ws.goals:
        serving = tasks_serving(ws.tasks, goal)
        table = Table(
            box=box.SIMPLE_HEAD,
            pad_edge=False,
            title_justify="left",
            title=f"[bold]{goal.id}[/] {pick(goal.headline_zh, goal.headline_en, lang, ' · ')}",
        )
        table.add_column("#", no_wrap=True)
        table.add_column(pick("分目标", "Component", lang, " "), overflow="fold", ratio=1)
        table.add_column(pick("任务", "Tasks", lang, " "), overflow="fold")
        table.add_column(pick("状态", "Status", lang, " "), overflow="fold")
        rows: list[tuple[str, str, list[Task]]] = [
            (str(c.number), f"{pick(c.zh, c.en, lang)} [dim]({c.key})[/]", serving[c.key]) for c in goal.components
        ]
        if serving[None]:
            label = pick("整体目标", "the goal as a whole", lang, " · ")
            rows.append(("—", label, serving[None]))
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
        text += _md_table(("#", "Component", "Tasks"), rows) + "\n"
    return text


# ---------------------------------------------------------------------------------------------- regions


def regions_tree(regions: Sequence[Region], lang: Lang) -> Group:
    def label(r: Region) -> str:
        extra = f" [dim]{r.size_class or r.tier or ''}[/]" if (r.size_class or r.tier) else ""
        return f"[bold]{r.code}[/] {pick(r.zh, r.en, lang, ' ')}{extra}"

    children: dict[str | None, list[Region]] = {}
    for r in regions:
        if r.kind != "cluster":
            children.setdefault(r.parent, []).append(r)

    def grow(node: Tree, code: str) -> None:
        for child in children.get(code, []):
            grow(node.add(label(child)), child.code)

    trees: list[Any] = []
    for root in children.get(None, []):
        tree = Tree(label(root))
        grow(tree, root.code)
        trees.append(tree)
    clusters = [r for r in regions if r.kind == "cluster"]
    if clusters:
        by_code = {r.code: r for r in regions}
        tree = Tree(pick("[bold]城市群[/]", "[bold]City clusters[/]", lang, " "))
        for c in clusters:
            members = "、".join(by_code[p].zh if p in by_code else p for p in c.provinces)
            tree.add(f"{label(c)} [dim]— {members}[/]")
        trees.append(tree)
    return Group(*trees)


def regions_csv(regions: Sequence[Region]) -> str:
    rows = [
        (r.code, r.zh, r.en, r.kind, r.parent or "", " ".join(r.provinces), " ".join(r.aliases), r.tier or r.size_class or "")
        for r in regions
    ]
    return _csv(("code", "zh", "en", "kind", "parent", "provinces", "aliases", "class"), rows)
