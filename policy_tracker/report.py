"""The progress report for review meetings, built once as data: sections of paragraphs, tables and charts.

Pure: assessed state in, a `Report` out; byte-identical for the same inputs. The formats (report_md, report_html,
report_docx) only render this model: adding a format never touches the numbers, and no renderer computes one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from policy_tracker.changes import change_lines
from policy_tracker.figures import figure_text, source_text
from policy_tracker.markdown import bar
from policy_tracker.models import STATUS_LABELS, Baseline, Chapter, Goal, HistoryEntry, Observation, Region
from policy_tracker.numbers import format_number
from policy_tracker.progress import (
    ASSESSMENT_LABELS,
    ISSUED,
    REASON_LABELS,
    TASK_LABELS,
    IndicatorProgress,
    Rollup,
    TaskProgress,
    by_chapter,
    by_component,
    by_goal,
    by_region,
    exceptions,
    time_elapsed,
)
from policy_tracker.query import RecordRow, status_counts

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
    """A table: `header` and `rows` of cells; `widths` are relative column widths for page layouts."""

    header: Sequence[str]
    rows: Sequence[Sequence[Cell]]
    widths: Sequence[float] = ()


@dataclass(frozen=True)
class Series:
    label: str
    values: Sequence[float]


@dataclass(frozen=True)
class Chart:
    """A chart as data: a pie of counts, or bars of values from 0 to `top` in `unit` over `labels`."""

    kind: Literal["pie", "bar"]
    title: str
    labels: Sequence[str]
    series: Sequence[Series]
    unit: str = ""
    top: float = 100.0
    tones: Sequence[str] = ()  # per label (pie) or series (bars): good, ok, bad, info, none; one meaning everywhere


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
    tasks: Sequence[TaskProgress]
    changes: Sequence[tuple[RecordRow, HistoryEntry]]
    since: dt.date | None
    tolerance: float
    method: str


def _t(zh: str, en: str, lang: Lang) -> str:
    return zh if lang == "zh" else en if lang == "en" else f"{zh} {en}"


def _cols(lang: Lang, *names: tuple[str, str]) -> list[str]:
    """Table headers in the report's language."""
    return [_t(zh, en, lang) for zh, en in names]


def _label(labels: dict[str, tuple[str, str]], key: str, lang: Lang) -> str:
    zh, en = labels[key]
    return _t(zh, en, lang)


def _region(regions: Sequence[Region], code: str) -> str:
    found = next((r for r in regions if r.code == code), None)
    return f"{code} {found.zh}" if found else code


def _num(value: float | None) -> str:
    if value is None:
        return "—"
    return format_number(value)


def _figure(number: str, x: Baseline | Observation) -> str:
    return figure_text(number, unit=x.unit, basis=x.basis, when=x.date)  # issue 9 (data): its own unit and basis


# ---------------------------------------------------------------------------------------------- building it


def build_report(r: ReportInput, lang: Lang = "both") -> Report:
    """The report's content in `lang`: every sentence, table and chart, ready for any renderer."""
    scope = (
        _t(f"{r.region.zh}及其所辖", f"{r.region.en} and the regions inside it", lang)
        if r.region
        else _t("全国", "national", lang)
    )
    meta = [
        MetaItem(_t("截至", "As of", lang), r.as_of.isoformat(), strong=True),
        MetaItem(_t("范围", "Scope", lang), scope),
        MetaItem(_t("工作区", "Workspace", lang), r.workspace),
        MetaItem(
            _t("生成", "Generated by", lang),
            f"ptrack {r.version} "
            f"({_t('方法', 'method', lang)}: {r.method}, {_t('容差', 'tolerance', lang)} ±{r.tolerance * 100:g} pp)",
        ),
    ]
    sections = [_summary(r, lang), _exceptions(r, lang), _charts(r, lang)]
    for goal in r.goals:
        rollups = by_component(by_goal(r.tasks, goal).tasks, goal) if goal.components else []
        if not rollups:  # a goal without components is in the summary; its tasks are under the chapters
            continue
        sections.append(Section(f"{goal.id} · {_t(goal.headline_zh, goal.headline_en, lang)}"))
        sections += [_rollup_section(rollup, lang, r.regions) for rollup in rollups]
    sections.append(Section(_t("按章节", "By chapter", lang)))
    sections += [_rollup_section(rollup, lang, r.regions) for rollup in by_chapter(r.tasks, r.chapters)]
    if len({t.region for t in r.tasks}) > 1:
        rows: list[list[Cell]] = [
            [_region(r.regions, g.key), Share(g.progress), _counts_text(g.counts(), lang), f"{g.measured}/{len(g.tasks)}"]
            for g in by_region(r.tasks, r.regions)
        ]
        header = _cols(lang, ("地区", "Region"), ("进展", "Progress"), ("评估", "Assessment"), ("可测任务", "Measured"))
        sections.append(Section(_t("按地区", "By region", lang), blocks=[Table(header, rows, (2, 2, 4, 1))]))
    sections += [_indicators(r, lang), _changes(r, lang), _methodology(r, lang)]
    title = _t(r.title_zh + " 落实进展报告", "Progress report: " + r.title_en, lang)
    return Report(title=title, lang=lang, meta=meta, sections=sections)


def _counts_text(counts: dict[str, int], lang: Lang) -> str:
    return " · ".join(f"{_label(TASK_LABELS, k, lang)} {n}" for k, n in counts.items() if n) or "—"


def _summary(r: ReportInput, lang: Lang) -> Section:
    blocks: list[Block] = [
        Table(
            _cols(lang, ("状态", "Status"), ("记录数", "Records")),
            [[_label(STATUS_LABELS, s, lang), str(n)] for s, n in status_counts(r.tasks).items()],
        )
    ]
    assessment_counts = dict.fromkeys(TASK_LABELS, 0)
    for t in r.tasks:
        assessment_counts[t.assessment] += 1
    blocks.append(
        Table(
            _cols(lang, ("评估", "Assessment"), ("记录数", "Records")),
            [[_label(TASK_LABELS, a, lang), str(n)] for a, n in assessment_counts.items() if n],
        )
    )
    rows: list[list[Cell]] = []
    for goal in r.goals:
        rollup = by_goal(r.tasks, goal)
        elapsed = time_elapsed(ISSUED, dt.date(goal.year, 12, 31), r.as_of)
        rows.append([goal.id, Share(rollup.progress), Share(elapsed), f"{rollup.measured}/{len(rollup.tasks)}"])
    blocks.append(
        Table(
            _cols(lang, ("目标", "Goal"), ("进展", "Progress"), ("时间进度", "Time elapsed"), ("可测记录", "Measured records")),
            rows,
        )
    )
    blocks.append(
        Paragraph(
            _t(
                "进展：各记录在基期与目标之间所处位置的平均值（已完成记为100%），只计有可比目标和数据的记录；"
                "时间进度自《意见》印发（2025-08-15）起算。",
                "Progress is the mean position of the records between baseline and target (a completed record counts "
                "100 %), over the records that have a comparable target and data; time elapsed counts from the "
                "Opinions' issue date (2025-08-15).",
                lang,
            )
        )
    )
    return Section(_t("概览", "Summary", lang), blocks=blocks)


def _exceptions(r: ReportInput, lang: Lang) -> Section:
    section = Section(_t("需关注事项", "Exceptions", lang))
    found = exceptions(r.tasks)
    if not found:
        text = _t("无滞后、受阻、数据过期或评估分歧的记录。", "No record is lagging, blocked, stale or in disagreement.", lang)
        section.blocks.append(Paragraph(text))
        return section
    rows: list[list[Cell]] = [
        [f"{t.task.id} {t.task.title_zh}", _region(r.regions, t.region), _reasons(t, reasons, lang), t.latest_note or "—"]
        for t, reasons in found
    ]
    header = _cols(lang, ("任务", "Task"), ("地区", "Region"), ("问题", "Issue"), ("最新说明", "Latest note"))
    section.blocks.append(Table(header, rows, (3, 2, 2, 4)))
    return section


def _reasons(t: TaskProgress, reasons: list[str], lang: Lang) -> str:
    shown = []
    for key in reasons:
        text = _label(REASON_LABELS, key, lang)
        if key == "disagreement":
            text += f" ({t.rating} / {_label(TASK_LABELS, t.assessment, lang)})"
        shown.append(text)
    return "; ".join(shown)


def _charts(r: ReportInput, lang: Lang) -> Section:
    counts = status_counts(r.tasks)
    shown = [(s, n) for s, n in counts.items() if n]
    pie = Chart(
        "pie",
        _t("状态分布", "Status", lang),
        [_label(STATUS_LABELS, s, lang) for s, _ in shown],
        [Series(_t("记录数", "Records", lang), [float(n) for _, n in shown])],
        tones=[STATUS_TONES[s] for s, _ in shown],
    )
    chapters = by_chapter(r.tasks, r.chapters)
    progress = Chart(
        "bar",
        _t("各章进展", "Progress by chapter", lang),
        [c.key for c in chapters],
        [Series(_t("进展", "Progress", lang), [(c.progress or 0) * 100 for c in chapters])],
        unit="%",
    )
    return Section(_t("图表", "Charts", lang), blocks=[pie, progress])


def _rollup_section(rollup: Rollup, lang: Lang, regions: Sequence[Region]) -> Section:
    shown: Cell = Share(rollup.progress) if rollup.progress is not None else _t("暂无可测进展", "no measurable progress", lang)
    rows: list[list[Cell]] = []
    for t in rollup.tasks:
        rows.append(
            [
                f"{t.task.id} {_t(t.task.title_zh, t.task.title_en, lang)}",
                _region(regions, t.region),
                Share(t.progress),
                _label(STATUS_LABELS, t.status, lang),
                _label(TASK_LABELS, t.assessment, lang),
                t.rating or "—",
                _region(regions, t.owner),
            ]
        )
    header = _cols(
        lang,
        ("任务", "Task"),
        ("地区", "Region"),
        ("进展", "Progress"),
        ("状态", "Status"),
        ("评估", "Assessment"),
        ("评级", "Rating"),
        ("牵头", "Owner"),
    )
    table = Table(header, rows, (5, 2, 2, 1.3, 1.5, 1, 1.5))
    return Section(_t(rollup.label_zh, rollup.label_en, lang), level=3, blocks=[table], figure=shown)


def _target_text(p: IndicatorProgress) -> str:
    if p.target is None:
        return "no numeric target"
    when = p.target.year or p.target.period  # issue 9 (data): a standing or multi-year target has a period, no year
    return f"{p.target.comparator or ''}{_num(p.target.value)} ({when}; {p.target.target_from})"


def _indicators(r: ReportInput, lang: Lang) -> Section:
    rows: list[list[Cell]] = []
    for t in r.tasks:
        names = {i.id: i for i in t.task.indicators}
        for p in t.indicators:
            ind = names[p.indicator]
            if p.latest is None and p.baseline is None:
                continue
            figure = p.latest or p.baseline  # issue 9 (data): publisher and document first, the address after
            source = source_text(figure.publisher, None, figure.source) if figure else ""
            rows.append(
                [
                    t.task.id,
                    _region(r.regions, t.region),
                    f"{_t(ind.name_zh, ind.name_en, lang)} ({ind.unit})",
                    _figure(_num(p.baseline.value), p.baseline) if p.baseline else "—",
                    _figure(f"{p.latest.qualifier or ''}{_num(p.latest.value)}", p.latest) if p.latest else "—",
                    _target_text(p),
                    Share(p.progress) if p.progress is not None else "—",
                    _label(ASSESSMENT_LABELS, p.assessment, lang) + (" · stale" if p.stale else ""),
                    source,
                ]
            )
    header = _cols(
        lang,
        ("任务", "Task"),
        ("地区", "Region"),
        ("指标", "Indicator"),
        ("基期", "Baseline"),
        ("最新", "Latest"),
        ("目标", "Target"),
        ("进展", "Progress"),
        ("评估", "Assessment"),
        ("来源", "Source"),
    )
    note = _t(
        "《意见》未设定量化目标；目标均来自列明的相关规划。无目标的指标只看趋势。",
        "The Opinions set no numeric target: every target comes from the related plan named with it. Indicators "
        "without one are judged by their trend only.",
        lang,
    )
    table = Table(header, rows, (0.8, 1.5, 3, 1.6, 1.6, 3, 1.6, 1.4, 3))
    return Section(_t("指标", "Indicators", lang), blocks=[Paragraph(note), table])


def _changes(r: ReportInput, lang: Lang) -> Section:
    since = f" {_t('自', 'since', lang)} {r.since.isoformat()}" if r.since else ""
    section = Section(f"{_t('变更记录', 'Changes', lang)}{since}")
    if r.since is None:
        text = _t("使用 --since 日期 列出该日以来的变更。", "Use --since DATE to list the changes since a date.", lang)
        section.blocks.append(Paragraph(text))
        return section
    if not r.changes:
        section.blocks.append(Paragraph(_t("此期间无变更。", "No change in this period.", lang)))
        return section
    rows: list[list[Cell]] = []
    for row, entry in r.changes:
        what = change_lines(entry)
        why = "; ".join(x for x in (entry.note, entry.source) if x)
        rows.append(
            [entry.at[:16].replace("T", " "), entry.by, f"{row.task.id} {_region(r.regions, row.region)}", "\n".join(what), why]
        )
    header = _cols(lang, ("时间", "When"), ("人员", "Who"), ("记录", "Record"), ("变更", "What"), ("原因", "Why"))
    section.blocks.append(Table(header, rows, (1.6, 1, 1.6, 3, 3)))
    return section


def _methodology(r: ReportInput, lang: Lang) -> Section:
    return Section(
        _t("方法与来源", "Methodology and sources", lang),
        annex=True,
        blocks=[
            Paragraph(
                _t(
                    "进展 = (最新值 − 基期值) ÷ (目标值 − 基期值)，按指标方向处理，显示时截取到0–100%。"
                    "时间进度 = (截至日 − 基期) ÷ (目标年末 − 基期)。进展与时间进度之差在容差内为“基本符合预期”，"
                    "高于为“快于预期”，低于为“相对滞后”，达到目标为“提前完成”。无目标的指标按年均变化判断趋势。",
                    "Progress = (latest − baseline) ÷ (target − baseline), with the indicator's direction, shown clipped to "
                    "0–100 %. Expected = (as-of − baseline) ÷ (end of target year − baseline). Within the tolerance of the "
                    "expected share: in line; above: ahead; below: lagging; target reached: achieved early. Indicators "
                    "without a target are judged by their annual rate of change.",
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
