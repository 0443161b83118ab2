"""The progress report for review meetings, built once as data: sections of paragraphs, tables and charts.

Pure: assessed state in, a `Report` out; byte-identical for the same inputs. The formats (report_md, report_html,
report_docx) only render this model: adding a format never touches the numbers, and no renderer computes one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from policy_tracker.assessment import LABEL_COLOUR, OUTCOME_LABELS, target_when
from policy_tracker.changes import parse_figure_field, parse_observation_field
from policy_tracker.clock import ZONE_LABEL, minute_text
from policy_tracker.figures import figure_text, plan_text, short_address, source_text
from policy_tracker.markdown import bar
from policy_tracker.matrix import Matrix, cell_lines, cell_tone, region_name
from policy_tracker.models import (
    STATUS_LABELS,
    Baseline,
    Chapter,
    Goal,
    HistoryEntry,
    Observation,
    Region,
    RegionRecord,
    Task,
)
from policy_tracker.numbers import format_computed, format_number, format_share
from policy_tracker.progress import (
    ASSESSMENT_LABELS,
    CONTRADICTION_ZH,
    REASON_LABELS,
    TASK_LABELS,
    ComponentSummary,
    IndicatorProgress,
    Overview,
    Rollup,
    TaskProgress,
    by_chapter,
    by_component,
    by_goal,
    exceptions,
)
from policy_tracker.query import RecordRow, instant, status_counts
from policy_tracker.regions import registry

Lang = Literal["zh", "en", "both"]
STATUS_TONES = {"not_started": "none", "in_progress": "info", "completed": "good", "blocked": "bad", "deferred": "ok"}


# ---------------------------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class Share:
    """A share from 0 to 1 (progress, time elapsed), drawn as a bar where the format can; None: not measurable."""

    value: float | None

    def text(self) -> str:
        return bar(self.value)


Cell = str | Share


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Table:
    """A table: `header` and `rows` of cells; `widths` are relative column widths for page layouts. The rows of a
    long table are read as they are written (`SpooledRows`, a stream): a renderer goes through them once, in order."""

    header: Sequence[str]
    rows: Iterable[Sequence[Cell]]
    widths: Sequence[float] = ()
    tones: Sequence[Sequence[str]] = ()  # per cell, parallel to rows: good, ok, bad, info, muted, none (empty: none)


@dataclass(frozen=True)
class Series:
    label: str
    values: Sequence[float]


@dataclass(frozen=True)
class Chart:
    """A chart as data: a pie of counts, bars of values from 0 to `top` in `unit` over `labels`, or stacked bars of
    counts per label (one segment per series: one square per indicator in markdown)."""

    kind: Literal["pie", "bar", "stacked"]
    title: str
    labels: Sequence[str]
    series: Sequence[Series]
    unit: str = ""
    top: float = 100.0
    tones: Sequence[str] = ()  # per label (pie) or series (bars): a colour of progress.Colour or good/ok/bad/info/none
    notes: Sequence[str] = ()  # per label, shown after its bar (stacked: assessed/total)
    legend: Sequence[tuple[str, str]] = ()  # (tone, words) explaining the colours
    axis: Sequence[str] = ()  # stacked, as a table: the label column, the bar column, the notes column


Block = Paragraph | Table | Chart


@dataclass
class Section:
    """A heading (level 2 or 3) and what stands under it; `figure` is shown after the title (a rollup's progress)."""

    title: str
    level: int = 2
    blocks: list[Block] = field(default_factory=list)
    figure: Cell | None = None
    annex: bool = False


@dataclass(frozen=True)
class MetaItem:
    label: str
    value: str
    strong: bool = False


@dataclass
class Report:
    """The report; its long tables' rows stay in a temporary database (`Spool`) until a renderer writes them."""

    title: str
    lang: Lang
    meta: list[MetaItem]
    sections: list[Section]


# ---------------------------------------------------------------------------------------------- the input


@dataclass(frozen=True)
class ReportInput:
    """Everything the report shows, already computed as of `as_of`."""

    title_zh: str
    title_en: str
    workspace: str
    version: str
    as_of: dt.date
    region: Region | None
    goals: Sequence[Goal]
    chapters: Sequence[Chapter]
    regions: Sequence[Region]
    # every assessed record in scope in report order (task, then the national record, then region), with the record
    # as of the date (its rating's rationale and next steps); streamed once, never held (see Spool)
    tasks: Iterable[tuple[TaskProgress, Task | RegionRecord | None]]
    changes: Iterable[tuple[RecordRow, HistoryEntry]]  # newest first, streamed once
    since: dt.date | None
    tolerance: float
    method: str
    overview: Overview  # the assessment's coverage, counts and sentences (computed in progress.py, never here)
    matrix: Matrix | None = None
    definitions: Sequence[Task] = ()  # the tasks in scope, so that a task without a record still has its row


def _t(zh: str, en: str, lang: Lang) -> str:
    return zh if lang == "zh" else en if lang == "en" else f"{zh} {en}"


def _cols(lang: Lang, *names: tuple[str, str]) -> list[str]:
    """Table headers in the report's language."""
    return [_t(zh, en, lang) for zh, en in names]


def _label(labels: dict[str, tuple[str, str]], key: str, lang: Lang) -> str:
    zh, en = labels[key]
    return _t(zh, en, lang)


RATING_LABELS: dict[str, tuple[str, str]] = {"green": ("绿", "green"), "amber": ("黄", "amber"), "red": ("红", "red")}
NOT_REPORTED = ("未报送", "not reported")


def _region(regions: Sequence[Region], code: str, lang: Lang = "both") -> str:
    """'32 江苏省', '32 Jiangsu' in English."""
    found = registry(regions).get(code)  # by code, not a scan of the 3,359 divisions for every row
    if found is None:
        return code
    return f"{code} {found.en if lang == 'en' else found.zh}"


def _bilingual(name: str, lang: Lang) -> str:
    """A name written 'Chinese · English' (the bundled workspace's) in the report's language; any other as written."""
    halves = name.split(" · ")
    if lang == "both" or len(halves) != 2 or not any("\u4e00" <= ch <= "\u9fff" for ch in halves[0]):
        return name
    return halves[0] if lang == "zh" else halves[1]


def _task(task: Task, lang: Lang) -> str:
    return f"{task.id} {_t(task.title_zh, task.title_en, lang)}"


def _rating(level: str | None, lang: Lang) -> str:
    return _label(RATING_LABELS, level, lang) if level in RATING_LABELS else "—"


def _num(value: float | None) -> str:
    if value is None:
        return "—"
    return format_number(value)


def _computed(value: float | None) -> str:
    """A computed figure (projection, rate, year reached) rounded as in every output; `_num` keeps stored digits."""
    return "—" if value is None else format_computed(value)


def _figure(number: str, x: Baseline | Observation) -> str:
    return figure_text(number, unit=x.unit, basis=x.basis, when=x.date)  # issue 9 (data): its own unit and basis


# ---------------------------------------------------------------------------------------------- building it


METHOD_LABELS = {"linear": ("线性（时间进度）", "linear"), "cagr": ("年均增速比", "cagr")}


class SpooledRows:
    """The rows of one kind (and of some tasks) from the spool, in report order, read as they are iterated."""

    def __init__(self, spool: Spool, kind: str, tasks: Sequence[str] | None = None) -> None:
        self.spool, self.kind, self.tasks = spool, kind, tasks

    def __iter__(self) -> Iterator[list[str]]:
        sql, params = "SELECT cells FROM rows WHERE kind = ?", [self.kind]
        if self.tasks is not None:
            sql += " AND task IN (SELECT value FROM json_each(?))"
            params.append(json.dumps(list(self.tasks)))
        for (cells,) in self.spool.db.execute(sql + " ORDER BY rank, key, seq", params):
            yield json.loads(cells)


class Spool:
    """Table rows made as the records stream by, kept in a private temporary SQLite database (on disk, deleted
    when closed): each record is assessed once, and no table of a national report is ever held in memory."""

    BATCH = 1000

    def __init__(self) -> None:
        self.db = sqlite3.connect("")  # "": SQLite's private temporary database, spilled to disk beyond its cache
        self.db.execute(
            "CREATE TABLE rows(kind TEXT NOT NULL, task TEXT NOT NULL, rank INTEGER NOT NULL, key TEXT NOT NULL, "
            "seq INTEGER NOT NULL, cells TEXT NOT NULL)"
        )
        self.pending: list[tuple[str, str, int, str, int, str]] = []
        self.seq = 0
        self.counts: dict[str, int] = {}

    def add(self, kind: str, task: str, cells: Sequence[str], order: tuple[int, str] = (0, "")) -> None:
        """Spool a row of a table of `kind`; its rows are read back by `order`, then as they were added."""
        self.seq += 1
        self.counts[kind] = self.counts.get(kind, 0) + 1
        self.pending.append((kind, task, *order, self.seq, json.dumps(list(cells), ensure_ascii=False)))
        if len(self.pending) >= self.BATCH:
            self.flush()

    def flush(self) -> None:
        self.db.executemany("INSERT INTO rows VALUES (?, ?, ?, ?, ?, ?)", self.pending)
        self.pending.clear()

    def done(self) -> None:
        self.flush()
        self.db.execute("CREATE INDEX rows_kind ON rows(kind, rank, key, seq)")

    def rows(self, kind: str, tasks: Sequence[str] | None = None) -> SpooledRows:
        return SpooledRows(self, kind, tasks)


@dataclass
class Tally:
    """What the report counts of every record in scope, made in the one pass that spools the tables' rows."""

    records: int = 0
    regions: set[str] = field(default_factory=set)
    statuses: dict[str, int] = field(default_factory=dict)
    data: dict[str, int] = field(default_factory=dict)
    assessments: dict[str, int] = field(default_factory=dict)
    flagged: set[tuple[int, int, str]] = field(default_factory=set)  # (rank, task number, task id) of the exceptions
    issues: int = 0
    own: dict[str, tuple[TaskProgress, str]] = field(default_factory=dict)  # the scope's own records and rationales
    firsts: list[TaskProgress] = field(default_factory=list)  # the first record of each task: its roll-ups
    by_task: dict[str, dict[str, int]] = field(default_factory=dict)  # records by what their data say, per task
    sources: dict[bytes, int] = field(default_factory=dict)  # a digest of each source's text: its number


def _exception_rank(reasons: list[str]) -> int:
    return 0 if "blocked" in reasons else 1 if "lagging" in reasons else 2  # progress.exceptions' order


def _spool(r: ReportInput, lang: Lang, spool: Spool) -> Tally:
    """Go through the records once: count what the report counts, and spool the rows of its long tables."""
    tally = Tally(statuses=status_counts([]), data=dict.fromkeys(TASK_LABELS, 0), assessments=dict.fromkeys(TASK_LABELS, 0))
    own = r.region.code if r.region else "CN"
    for t, record in r.tasks:
        tally.records += 1
        tally.regions.add(t.region)
        tally.statuses[t.status] += 1
        tally.data[t.data] += 1
        tally.assessments[t.assessment] += 1
        per_task = tally.by_task.get(t.task.id)
        if per_task is None:
            tally.firsts.append(t)
            per_task = tally.by_task[t.task.id] = dict.fromkeys(TASK_LABELS, 0)
        per_task[t.data] += 1
        if t.region == own:
            rationale = record.rating.rationale if record is not None and record.rating else "—"
            tally.own[t.task.id] = (t, rationale)
        for _, reasons in exceptions([t]):
            rank = _exception_rank(reasons)
            tally.flagged.add((rank, t.task.number, t.task.id))
            tally.issues += 1
            order = (rank * 1000 + t.task.number, t.region)  # progress.exceptions' order: rank, task, region
            spool.add("issue", t.task.id, _exception_row(r, t, reasons, lang), order)
        if record is not None and record.next_steps:
            spool.add("next", t.task.id, [_task(t.task, lang), _region(r.regions, t.region, lang), record.next_steps])
        spool.add("rollup", t.task.id, _rollup_row(t, lang, r.regions))
        _indicator_rows(r, t, lang, spool, tally.sources)
    spool.done()
    return tally


def build_report(r: ReportInput, lang: Lang = "both") -> Report:
    """The report's content in `lang`: every sentence, table and chart, ready for any renderer.

    The records are gone through once (`r.tasks` is a stream): their counts are kept, the rows of the long tables
    (issues, next steps, roll-ups, indicators) spooled to a temporary database that the renderer reads back."""
    spool = Spool()
    tally = _spool(r, lang, spool)
    scope = (
        _t(f"{r.region.zh}及其所辖", f"{r.region.en} and the regions inside it", lang)
        if r.region
        else _t("全国", "national", lang)
    )
    method = _label(METHOD_LABELS, r.method, lang) if r.method in METHOD_LABELS else r.method
    points = "个百分点" if lang == "zh" else " pp"
    meta = [
        MetaItem(_t("截至", "As of", lang), r.as_of.isoformat(), strong=True),
        MetaItem(_t("范围", "Scope", lang), scope),
        MetaItem(_t("工作区", "Workspace", lang), _bilingual(r.workspace, lang)),
        MetaItem(
            _t("生成", "Generated by", lang),
            f"ptrack {r.version} "
            f"({_t('方法', 'method', lang)}: {method}, {_t('容差', 'tolerance', lang)} ±{r.tolerance * 100:g}{points})",
        ),
    ]
    sections = [
        _headline(r, lang),
        _overview(r, tally, lang),
        _task_table(r, tally, lang),
        _exceptions(tally, spool, lang),
        *_next_steps(spool, lang),
    ]
    if r.matrix is not None:
        sections.append(_matrix(r.matrix, lang))
    sections.append(_charts(r, tally, lang))
    for goal in r.goals:
        rollups = by_component(by_goal(tally.firsts, goal).tasks, goal) if goal.components else []
        if not rollups:  # a goal without components is in the summary; its tasks are under the chapters
            continue
        sections.append(Section(f"{goal.id} · {_t(goal.headline_zh, goal.headline_en, lang)}"))
        sections += [_rollup_section(rollup, tally, spool, lang) for rollup in rollups]
    sections.append(Section(_t("按章节", "By chapter", lang)))
    sections += [_rollup_section(rollup, tally, spool, lang) for rollup in by_chapter(tally.firsts, r.chapters)]
    sections += _regions(r, lang)
    sections += [*_indicators(tally, spool, lang), _changes(r, lang), _methodology(r, lang)]
    title = _t(r.title_zh + " 落实进展报告", "Progress report: " + r.title_en, lang)
    return Report(title=title, lang=lang, meta=meta, sections=sections)


def _count_phrase(counts: Mapping[str, int], labels: dict[str, tuple[str, str]], language: str) -> str:
    """'进行中3条、已完成1条' / 'in progress 3, completed 1'."""
    if language == "zh":
        return "、".join(f"{labels[k][0]}{n}条" for k, n in counts.items() if n)
    return ", ".join(f"{labels[k][1]} {n}" for k, n in counts.items() if n)


def _overview_text(r: ReportInput, tally: Tally, language: str) -> str:
    """The overview's sentences in one language ("zh" or "en"): counts the assessment made, nothing new."""
    defined = len(r.definitions) or len(tally.by_task)
    reported = len(tally.own)
    regions = len(tally.regions)
    statuses = {k: n for k, n in tally.statuses.items() if n}
    assessments = tally.assessments
    found = tally.issues
    named = "、".join(dict.fromkeys(task for _, _, task in sorted(tally.flagged)))
    day = r.as_of.isoformat()
    if language == "zh":
        where = f"{r.region.zh}及其所辖" if r.region else "全国"
        text = f"截至{day}，{where}共有{tally.records}条任务落实记录" + (f"，涉及{regions}个地区" if regions > 1 else "")
        text += f"；{defined}项任务中，本级已报送{reported}项" + (
            f"、未报送{defined - reported}项。" if defined > reported else "。"
        )
        if statuses:
            text += f"按状态：{_count_phrase(statuses, STATUS_LABELS, 'zh')}。"
            text += f"按数据评估：{_count_phrase(assessments, TASK_LABELS, 'zh')}。"
        if found:
            text += f"需关注{found}条记录（{named}），详见“存在问题”。"
        elif tally.records:
            text += "没有滞后、受阻、数据过期或评级与数据不一致的记录。"
        return text
    where = f"in {r.region.en} and the regions inside it" if r.region else "nationally"
    text = f"As of {day}, {where} there are {tally.records} task records" + (f" from {regions} regions" if regions > 1 else "")
    text += f"; of the {defined} tasks, {reported} have a record at this level" + (
        f" and {defined - reported} are not reported. " if defined > reported else ". "
    )
    if statuses:
        text += f"By status: {_count_phrase(statuses, STATUS_LABELS, 'en')}. "
        text += f"By what the numbers say: {_count_phrase(assessments, TASK_LABELS, 'en')}. "
    if found:
        needs = "1 record needs" if found == 1 else f"{found} records need"
        text += f"{needs} attention ({named.replace('、', ', ')}): see Issues."
    elif tally.records:
        text += "No record is lagging, blocked, stale or rated against its numbers."
    return text.strip()


def _overview(r: ReportInput, tally: Tally, lang: Lang) -> Section:
    """总体情况: the numbers in plain sentences a secretary can paste into a briefing, then the count tables."""
    section = _summary(r, tally, lang)
    section.title = _t("总体情况", "Overview", lang)
    languages = ["zh", "en"] if lang == "both" else [lang]
    section.blocks[0:0] = [Paragraph(_overview_text(r, tally, language)) for language in languages]
    return section


def _task_table(r: ReportInput, tally: Tally, lang: Lang) -> Section:
    """The tasks at the scope's own level: status, what the numbers say, the reviewer's rating and why; 未报送 if none."""
    own = r.region.code if r.region else "CN"
    definitions = list(r.definitions) or sorted((t.task for t in tally.firsts), key=lambda x: x.number)
    rows: list[list[Cell]] = []
    tones: list[list[str]] = []
    for task in definitions:
        if task.id not in tally.own:
            rows.append([_task(task, lang), _label({"x": NOT_REPORTED}, "x", lang), "—", "—", "—"])
            tones.append(["muted", "muted", "muted", "muted", "muted"])
            continue
        t, rationale = tally.own[task.id]
        rows.append(
            [
                _task(task, lang),
                _label(STATUS_LABELS, t.status, lang),
                _label(TASK_LABELS, t.assessment, lang),
                _rating(t.rating, lang),
                rationale,
            ]
        )
        tone = "bad" if t.data == "lagging" or t.status == "blocked" else "good" if t.data == "on_track" else "none"
        tones.append(["none", "none", tone, _RATING_TONES.get(t.rating or "", "none"), "none"])
    header = _cols(
        lang, ("任务", "Task"), ("状态", "Status"), ("评估", "Assessment"), ("评级", "Rating"), ("评级理由", "Rationale")
    )
    found = next((x for x in r.regions if x.code == own), None)
    note = _t(
        f"{found.zh if found else own}本级各项任务的记录：状态、数据评估、审核人评级及其理由。",
        f"The records of {found.en if found else own} itself: status, what the numbers say, the reviewer's rating and "
        "its rationale.",
        lang,
    )
    return Section(_t("任务一览", "The tasks", lang), blocks=[Paragraph(note), Table(header, rows, (5, 1.4, 1.6, 1, 3.5), tones)])


_RATING_TONES = {"green": "good", "amber": "ok", "red": "bad"}


def _headline(r: ReportInput, lang: Lang) -> Section:
    """The words a journalist may quote: coverage, counts and both dates, for each goal and the region."""
    heads = [g.headline for g in r.overview.goals] + ([r.overview.region.headline] if r.overview.region else [])
    lines = [x for h in heads for x in ((h.zh, h.en) if lang == "both" else (h.zh if lang == "zh" else h.en,))]
    return Section(_t("要点", "Headline", lang), blocks=[Paragraph(line) for line in lines])


def _summary(r: ReportInput, tally: Tally, lang: Lang) -> Section:
    blocks: list[Block] = [
        Table(
            _cols(lang, ("状态", "Status"), ("记录数", "Records")),
            [[_label(STATUS_LABELS, s, lang), str(n)] for s, n in tally.statuses.items()],
        )
    ]
    data_counts = tally.data
    blocks.append(
        Table(
            _cols(lang, ("数据", "Data"), ("记录数", "Records")),
            [[_label(TASK_LABELS, a, lang), str(n)] for a, n in data_counts.items()],
        )
    )
    for g in r.overview.goals:
        rows: list[list[Cell]] = [
            [
                _t(c.label_zh, c.label_en, lang) if c is not g.overall else _t("合计", "All", lang),
                f"{c.assessed}/{c.total}",
                *(str(x.n) for x in c.counts),
                _milestone_text(c, lang),
            ]
            for c in (*g.components, g.overall)
        ]
        header = [
            _t(f"{g.goal.id}目标", f"{g.goal.id} goal", lang),
            _t("可评估", "Assessed", lang),
            *(_label(ASSESSMENT_LABELS, k, lang) for k in ASSESSMENT_LABELS),
            _t("早期节点目标", "Earlier milestones", lang),
        ]
        blocks.append(Table(header, rows, (2.6, 1.2, *([1.1] * len(ASSESSMENT_LABELS)), 1.6)))
    blocks.append(
        Paragraph(
            _t(
                "表中为指标个数，不计算平均进展。每项指标用不晚于目标年末、在数据期末尚未到期、最近印发规划的目标，"
                "在其最新数据期末评估；已过期的目标是早期节点，只判断是否达成；没有本期限目标的指标看趋势。",
                "The tables count indicators; no average is computed. Each indicator is judged against the target of "
                "the most recently issued plan due by the end of the goal year and not yet past at its data date, "
                "measured at the end of its latest data period; past targets are earlier milestones, met or missed "
                "only; indicators without a target for the horizon are judged by their trend.",
                lang,
            )
        )
    )
    return Section(_t("概览", "Summary", lang), blocks=blocks)


def _milestone_text(c: ComponentSummary, lang: Lang) -> str:
    return " · ".join(f"{_t(m.zh, m.en, lang)} {m.n}" for m in c.milestones if m.n) or "—"


def _exception_row(r: ReportInput, t: TaskProgress, reasons: list[str], lang: Lang) -> list[str]:
    return [_task(t.task, lang), _region(r.regions, t.region, lang), _reasons(t, reasons, lang), t.latest_note or "—"]


def _exceptions(tally: Tally, spool: Spool, lang: Lang) -> Section:
    """存在问题: blocked first, then lagging, then the rest (`progress.exceptions`' order), each by task and region."""
    section = Section(_t("存在问题", "Issues", lang))
    if not tally.issues:
        text = _t("无滞后、受阻、数据过期或评估分歧的记录。", "No record is lagging, blocked, stale or in disagreement.", lang)
        section.blocks.append(Paragraph(text))
        return section
    header = _cols(lang, ("任务", "Task"), ("地区", "Region"), ("问题", "Issue"), ("最新说明", "Latest note"))
    section.blocks.append(Table(header, spool.rows("issue"), (3, 2, 2, 4)))
    return section


def _next_steps(spool: Spool, lang: Lang) -> list[Section]:
    """下一步: what each record says will be done next (ptrack update --next); no section when none says."""
    if not spool.counts.get("next"):
        return []
    header = _cols(lang, ("任务", "Task"), ("地区", "Region"), ("下一步", "Next steps"))
    return [Section(_t("下一步", "Next steps", lang), blocks=[Table(header, spool.rows("next"), (3, 1.6, 5))])]


def _matrix(m: Matrix, lang: Lang) -> Section:
    header = [_t("任务", "Task", lang), *(f"{region_name(c, lang)}" for c in m.columns)]
    rows: list[list[Cell]] = []
    tones: list[list[str]] = []
    for i, (task, cells) in enumerate(zip(m.tasks, m.rows, strict=True)):
        lines = ("\n".join(cell_lines(c, lang, m.below_count(i, j))) for j, c in enumerate(cells))
        rows.append([f"{task.id} {_t(task.title_zh, task.title_en, lang)}", *lines])
        tones.append(["none", *(cell_tone(c) for c in cells)])
    blocks: list[Block] = [
        Paragraph(
            _t(
                "每格为该地区该任务记录的状态与数据评估；“未报送”表示该地区尚无此任务的记录。",
                "Each cell is the status of the region's record for the task and what its numbers say; "
                "'not reported' means the region has no record for the task.",
                lang,
            )
        ),
        Table(header, rows, (4, *([2] * len(m.columns))), tones),
    ]
    if m.silent:
        names = "、".join(region_name(x, lang) for x in m.silent) if lang != "en" else ", ".join(x.en for x in m.silent)
        blocks.append(Paragraph(_t(f"全部任务均未报送：{names}。", f"No record for any task: {names}.", lang)))
    return Section(_t("任务 × 地区", "Tasks × regions", lang), blocks=blocks)


def _reasons(t: TaskProgress, reasons: list[str], lang: Lang) -> str:
    shown = []
    for key in reasons:
        text = _label(REASON_LABELS, key, lang)
        if key == "disagreement":
            text += f" ({_rating(t.rating, lang)} / {_label(TASK_LABELS, t.assessment, lang)})"
        shown.append(text)
    return "; ".join(shown)


def _charts(r: ReportInput, tally: Tally, lang: Lang) -> Section:
    blocks: list[Block] = []
    shown = [(s, n) for s, n in tally.statuses.items() if n]
    if len(shown) > 1:  # a pie of one slice says nothing a sentence does not
        blocks.append(
            Chart(
                "pie",
                _t("状态分布", "Status", lang),
                [_label(STATUS_LABELS, s, lang) for s, _ in shown],
                [Series(_t("记录数", "Records", lang), [float(n) for _, n in shown])],
                tones=[STATUS_TONES[s] for s, _ in shown],
            )
        )
    elif shown:
        status, n = shown[0]
        blocks.append(
            Paragraph(
                _t(
                    f"全部{n}条记录状态均为“{STATUS_LABELS[status][0]}”。",
                    f"All {n} records are {STATUS_LABELS[status][1]}.",
                    lang,
                )
            )
        )
    else:
        blocks.append(Paragraph(_t("范围内没有记录。", "No record in scope.", lang)))
    legend = [(LABEL_COLOUR[k], _label(ASSESSMENT_LABELS, k, lang)) for k in ("ahead", "in_line", "lagging", "insufficient_data")]
    for g in r.overview.goals:
        if g.overall.total == 0:  # an empty scope gets a sentence, never an empty chart
            blocks.append(Paragraph(_t(f"{g.goal.id}目标：范围内没有指标。", f"{g.goal.id} goal: no indicator in scope.", lang)))
            continue
        parts = (*g.components, g.overall) if g.components else (g.overall,)
        keys = [x for x in parts[0].counts]
        title = _t(
            f"{g.goal.id}目标：各指标评估（每格一项指标）", f"{g.goal.id} goal: indicators by label (one square each)", lang
        )
        blocks.append(
            Chart(
                "stacked",
                title,
                [_t(c.label_zh, c.label_en, lang) if c is not g.overall else _t("合计", "All", lang) for c in parts],
                [Series(_t(x.zh, x.en, lang), [float(c.counts[i].n) for c in parts]) for i, x in enumerate(keys)],
                tones=[x.colour for x in keys],
                notes=[f"{c.assessed}/{c.total}" for c in parts],
                legend=legend,
                axis=_cols(lang, ("", ""), ("指标", "Indicators"), ("可评估", "Assessed")),
            )
        )
    return Section(_t("图表", "Charts", lang), blocks=blocks)


def _rollup_row(t: TaskProgress, lang: Lang, regions: Sequence[Region]) -> list[str]:
    flag = t.contradiction
    return [
        _task(t.task, lang),
        _region(regions, t.region, lang),
        _label(STATUS_LABELS, t.status, lang),
        _label(TASK_LABELS, t.data, lang) + (f" ({_t(CONTRADICTION_ZH[flag], flag, lang)})" if flag else ""),
        _rating(t.rating, lang),
        _region(regions, t.owner, lang),
    ]


def _rollup_section(rollup: Rollup, tally: Tally, spool: Spool, lang: Lang) -> Section:
    """A roll-up of `tally.firsts` (one record per task): its tasks' records counted and listed from the spool."""
    tasks = [t.task.id for t in rollup.tasks]
    totals = dict.fromkeys(TASK_LABELS, 0)
    for task in tasks:
        for k, n in tally.by_task[task].items():
            totals[k] += n
    counts = " · ".join(f"{_label(TASK_LABELS, k, lang)} {n}" for k, n in totals.items() if n)
    header = _cols(
        lang, ("任务", "Task"), ("地区", "Region"), ("状态", "Status"), ("数据", "Data"), ("评级", "Rating"), ("牵头", "Owner")
    )
    table = Table(header, spool.rows("rollup", tasks), (5, 2, 1.3, 2.5, 1, 1.5))
    return Section(_t(rollup.label_zh, rollup.label_en, lang), level=3, blocks=[table], figure=counts)


def _regions(r: ReportInput, lang: Lang) -> list[Section]:
    """A region's own records, then each member counted on its own: levels are never added together."""
    region = r.overview.region
    if region is None:
        return []
    blocks: list[Block] = [Paragraph(_t(region.headline.zh, region.headline.en, lang))]
    if region.members:
        rows: list[list[Cell]] = [
            [
                _region(r.regions, m.code, lang),
                f"{m.reported}/{m.tasks_total}",
                " · ".join(
                    f"{_label(STATUS_LABELS, k, lang) if k != 'not_reported' else _t('未报送', 'not reported', lang)} {n}"
                    for k, n in m.status_counts.items()
                    if n
                ),
                " · ".join(f"{_label(TASK_LABELS, k, lang)} {n}" for k, n in m.data_counts.items() if n) or "—",
            ]
            for m in region.members
        ]
        header = _cols(lang, ("地区", "Region"), ("已报送", "Reported"), ("状态", "Status"), ("数据", "Data"))
        blocks.append(Table(header, rows, (2, 1, 4, 3)))
    return [Section(_t("按地区", "By region", lang), blocks=blocks)]


def _target_text(p: IndicatorProgress, lang: Lang) -> str:
    if p.target is None:
        return _t("无本期限目标", "no target for this horizon", lang)
    plan = plan_text(p.target.target_from, p.target.issued, lang)
    return f"{p.target.comparator or ''}{_num(p.target.value)} ({target_when(p.target)}; {plan})"


def _anticipated(p: IndicatorProgress, lang: Lang) -> str:
    """ESCAP's anticipated progress: the value at the due date at the observed rate, the rate needed, the year reached."""
    if p.target is None or p.projected is None:
        return "—"
    verdict = _t("可达成", "meets it", lang) if p.projected_meets else _t("达不到", "misses it", lang)
    text = f"{_computed(p.projected)} ({verdict}); {_t('需每年', 'needs', lang)} {_computed(p.required_rate)}"
    return text + (f"; {_t('预计', 'reached', lang)} {p.reached_year:.1f}" if p.reached_year else "")


def _share(value: float | None) -> str:
    return "—" if value is None else format_share(value)


def _indicator_rows(r: ReportInput, t: TaskProgress, lang: Lang, spool: Spool, sources: dict[bytes, int]) -> None:
    """Spool a record's rows of the indicator table, the earlier milestones and the year to date; number its
    sources in the order they first appear (a table cell never holds an address)."""
    names = {i.id: i for i in t.task.indicators}
    for p in t.indicators:
        ind = names[p.indicator]
        name = f"{_t(ind.name_zh, ind.name_en, lang)} ({ind.unit})"
        where = f"{t.task.id} {_region(r.regions, t.region, lang)}" if t.region != "CN" else t.task.id
        for m in p.milestones:
            obs = m.observation
            seen = _figure(f"{obs.qualifier or ''}{_num(obs.value)}", obs) if obs else "—"
            value = _num(m.target.value) if m.target.value is not None else m.target.value_text or ""
            when = target_when(m.target)
            target = f"{m.target.comparator or ''}{value} ({when}; {plan_text(m.target.target_from, m.target.issued, lang)})"
            spool.add("milestone", t.task.id, [where, name, target, seen, _label(OUTCOME_LABELS, m.outcome, lang)])
        for y in p.year_to_date:
            target = f"{_num(y.target.value)} ({plan_text(y.target.target_from, y.target.issued, lang)})" if y.target else "—"
            done = f"{_share(y.completion)} / {_share(y.share_of_year)}"
            label = _label(ASSESSMENT_LABELS, y.label, lang)
            spool.add("ytd", t.task.id, [where, name, y.observation.period or "", _num(y.observation.value), target, done, label])
        if p.latest is None and p.baseline is None:
            continue
        figure = p.latest or p.baseline  # issue 9 (data): publisher and document first, the address after
        number = ""
        if figure is not None:
            text = source_text(figure.publisher, None, short_address(figure.source))
            key = hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()  # a national report cites 160,000
            n = sources.get(key)
            if n is None:
                n = sources[key] = len(sources) + 1
                spool.add("source", "", [f"[{n}]", text])  # the sources table, in the order of their numbers
            number = f"[{n}]"
        shown = f"{_share(p.progress_raw)} / {_share(p.expected)}" if p.progress_raw is not None else "—"
        row = [
            where,
            name,
            _figure(_num(p.baseline.value), p.baseline) if p.baseline else "—",
            _figure(f"{p.latest.qualifier or ''}{_num(p.latest.value)}", p.latest) if p.latest else "—",
            _target_text(p, lang),
            shown,
            _anticipated(p, lang),
            _label(ASSESSMENT_LABELS, p.assessment, lang) + (f" · {_t('数据过期', 'stale', lang)}" if p.stale else ""),
            number,
        ]
        spool.add("indicator", t.task.id, row)


def _indicators(tally: Tally, spool: Spool, lang: Lang) -> list[Section]:
    """The indicator table, the earlier milestones apart, then the sources numbered in a list (a table cell never
    holds an address)."""
    header = _cols(
        lang,
        ("任务/地区", "Task/region"),
        ("指标", "Indicator"),
        ("基期", "Baseline"),
        ("最新", "Latest"),
        ("目标", "Target"),
        ("进展/时间（数据期末）", "Progress/time at the data date"),
        ("按现速度到期值", "Anticipated at the due date"),
        ("评估", "Assessment"),
        ("来源", "Source"),
    )
    note = _t(
        "《意见》未设定量化目标；目标均来自列明的相关规划。进展与时间进度均在数据期末计量。无本期限目标的指标只看趋势。"
        "来源编号见“数据来源”一节。",
        "The Opinions set no numeric target: every target comes from the related plan named with it. Progress and the "
        "time elapsed are both measured at the data date. Indicators without a target for the horizon are judged by "
        "their trend only. Source numbers refer to the Sources section.",
        lang,
    )
    blocks: list[Block] = [Paragraph(note), Table(header, spool.rows("indicator"), (1.3, 3, 1.8, 1.8, 3, 1.6, 2.4, 1.4, 0.8))]
    if spool.counts.get("milestone"):
        m_header = _cols(
            lang,
            ("任务/地区", "Task/region"),
            ("指标", "Indicator"),
            ("目标", "Target"),
            ("当期数据", "Figure for its period"),
            ("结果", "Outcome"),
        )
        title = _t("早期节点目标（不计入进展）", "Earlier milestones (not progress toward the goal)", lang)
        blocks += [Paragraph(title), Table(m_header, spool.rows("milestone"), (1.3, 3, 4, 2, 1.2))]
    if spool.counts.get("ytd"):
        y_header = _cols(
            lang,
            ("任务/地区", "Task/region"),
            ("指标", "Indicator"),
            ("期间", "Period"),
            ("累计", "To date"),
            ("年度目标", "Annual target"),
            ("完成/时间", "Done/time share"),
            ("评估", "Assessment"),
        )
        title = _t("时序进度：年内累计对照年度目标", "Year to date: against the annual target at the share of the year", lang)
        blocks += [Paragraph(title), Table(y_header, spool.rows("ytd"), (1.3, 3, 1.6, 1.2, 3, 1.6, 1.4))]
    listed = Table(
        _cols(lang, ("编号", "No."), ("来源（发布单位、文件，网址）", "Source (publisher, document, address)")),
        spool.rows("source"),
        (0.6, 9),
    )
    return [
        Section(_t("指标", "Indicators", lang), blocks=blocks),
        Section(_t("数据来源", "Sources", lang), blocks=[listed]),
    ]


def _changes(r: ReportInput, lang: Lang) -> Section:
    since = f" {_t('自', 'since', lang)} {r.since.isoformat()}" if r.since else ""
    section = Section(f"{_t('变更记录', 'Changes', lang)}{since}")
    if r.since is None:
        text = _t("使用 --since 日期 列出该日以来的变更。", "Use --since DATE to list the changes since a date.", lang)
        section.blocks.append(Paragraph(text))
        return section
    changes = iter(r.changes)
    first = list(itertools.islice(changes, 1))
    if not first:
        section.blocks.append(Paragraph(_t("此期间无变更。", "No change in this period.", lang)))
        return section
    rows = (_change_row(row, entry, r.regions, lang) for row, entry in itertools.chain(first, changes))  # as written
    header = _cols(lang, ("时间", "When"), ("人员", "Who"), ("记录", "Record"), ("变更", "What"), ("原因", "Why"))
    section.blocks.append(Table(header, rows, (1.5, 1.3, 1.6, 3, 2.6)))
    return section


def _change_row(row: RecordRow, entry: HistoryEntry, regions: Sequence[Region], lang: Lang) -> list[Cell]:
    what = _change_lines(entry, row.task, regions, lang)
    source = short_address(entry.source) if entry.source else None  # never a percent-encoded address in a cell
    why = "; ".join(x for x in (_tool_note(entry.note, lang) if entry.note else None, source) if x)
    record = f"{row.task.id} {_region(regions, row.region, lang)}"
    return [f"{minute_text(instant(entry.at))} {ZONE_LABEL}", entry.by, record, "\n".join(what), why]


FIELD_LABELS = {
    "status": ("状态", "status"),
    "owner": ("牵头", "owner"),
    "rating": ("评级", "rating"),
    "next_steps": ("下一步", "next steps"),
}
# Notes ptrack itself writes into the history, shown in the report's language (the user's own notes never are).
TOOL_NOTES = (("import of ", ("导入 ", "import of ")), ("undo of ", ("撤销 ", "undo of ")))


def _tool_note(note: str, lang: Lang) -> str:
    for prefix, words in TOOL_NOTES:
        if note.startswith(prefix):
            return (words[0] if lang == "zh" else words[1]) + note[len(prefix) :]
    return note


def _value_text(name: str, value: object, regions: Sequence[Region], lang: Lang) -> str:
    """A changed field's old or new value in words: a status label, a region, a rating and why, a figure."""
    if value is None:
        return "—"
    if name == "status" and isinstance(value, str) and value in STATUS_LABELS:
        return _label(STATUS_LABELS, value, lang)
    if name == "owner" and isinstance(value, str):
        return _region(regions, value, lang)
    if isinstance(value, dict):
        if "level" in value:  # a rating
            return f"{_rating(str(value['level']), lang)} ({value.get('rationale', '')})"
        number = value.get("value")
        if isinstance(number, int | float):
            return f"{value.get('qualifier') or ''}{_num(float(number))}"
        return str(value.get("value_text") or "—")
    if isinstance(value, list):  # a record's targets (issue 10: figures with history)
        return "; ".join(
            f"{_value_text(name, v, regions, lang)} ({v.get('year') or v.get('period')})" for v in value if isinstance(v, dict)
        )
    return str(value)


def _change_lines(entry: HistoryEntry, task: Task, regions: Sequence[Region], lang: Lang) -> list[str]:
    """One line per changed field in the report's language: '状态：未开始 → 进行中', '城镇化率 2026：67 → 68'."""
    names = {i.id: _t(i.name_zh, i.name_en, lang) for i in task.indicators}
    colon = "：" if lang == "zh" else ": "
    lines = []
    for c in entry.changes:
        parsed = parse_observation_field(c.field)
        figure = parse_figure_field(c.field)
        if parsed:
            name = f"{names.get(parsed[0], parsed[0])} {parsed[1]}"
        elif figure:
            name = f"{names.get(figure[1], figure[1])} {_t('基期' if figure[0] == 'baseline' else '目标', figure[0], lang)}"
        else:
            name = _label(FIELD_LABELS, c.field, lang) if c.field in FIELD_LABELS else c.field
        old, new = (_value_text(c.field, v, regions, lang) for v in (c.old, c.new))
        lines.append(f"{name}{colon}{old} → {new}")
    if not entry.changes and entry.note:
        lines.append(_t("仅说明", "note only", lang))
    return lines


def _methodology(r: ReportInput, lang: Lang) -> Section:
    return Section(
        _t("附件：方法与来源", "Annex: methodology and sources", lang),
        annex=True,
        blocks=[
            Paragraph(
                _t(
                    "进展 = (最新值 − 基期值) ÷ (目标值 − 基期值)，按指标方向处理。时间进度 = (最新数据期末 − 基期) ÷ "
                    "(目标年末 − 基期)，在数据期末计量（国家发展改革委规划中期评估“时间过半、任务过半”）。"
                    "进展与时间进度之差在容差内为“基本符合预期”，高于为“快于预期”，低于为“相对滞后”，达到目标为“提前完成”。按现速度推算目标年末的值"
                    "（联合国亚太经社会“预期进展”）。无本期限目标的指标按年均变化判断趋势；增长率方法对越低越好的指标取反"
                    "（Open SDG）。不计算平均进展。",
                    "Progress = (latest − baseline) ÷ (target − baseline), with the indicator's direction. Expected = "
                    "(end of the latest data period − baseline) ÷ (end of target year − baseline), measured at the data date "
                    "(the NDRC's mid-term test: by half the time, half the work). "
                    "Within the tolerance of the expected share: in line; above: ahead; below: lagging; "
                    "target met: achieved early. The value at the due date at the observed rate is "
                    "ESCAP's anticipated progress. Indicators without a target for the horizon are judged by their annual "
                    "change; the growth-rate method applies the direction (Open SDG). No average is computed.",
                    lang,
                )
            ),
            Paragraph(
                _t(
                    "所有数字均附来源与日期。任务与分目标的对应关系是本工具的解读（《意见》未作规定）。"
                    "完整公式与示例见 docs/methodology.md。",
                    "Every figure carries its source and date (the Source column). Which tasks serve which goal component "
                    "is the tracker's reading, not the document's. Formulas and worked examples: docs/methodology.md.",
                    lang,
                )
            ),
        ],
    )
