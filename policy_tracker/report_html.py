"""The report as one self-contained web page: inline CSS and SVG charts, no network, prints on A4 with every column.

A thin renderer of report.Report: it lays out what the model holds and computes no number. Chart text is SVG
<text>, so Chinese renders in the reader's own fonts and stays searchable and copyable.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from html import escape

from policy_tracker.report import Cell, Chart, Paragraph, Report, Section, Share, Table

# One meaning, one colour, in every chart and bar (the assessment's words: good = ahead/done, bad = lagging).
TONES = {"good": "#2e7d32", "ok": "#f2a900", "bad": "#c62828", "info": "#1565c0", "none": "#9e9e9e"}
TONES |= {"green": TONES["good"], "amber": TONES["ok"], "red": TONES["bad"], "grey": "#bdbdbd"}  # the assessment's colours
PALETTE = ("#1565c0", "#2e7d32", "#f2a900", "#c62828", "#6a1b9a", "#00838f", "#9e9e9e")

CSS = """
:root { --ink: #1b1b1b; --muted: #5f6368; --rule: #d0d4d9; --head: #eef1f5; }
html { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", "SimSun",
  "Noto Sans", "Helvetica Neue", Arial, sans-serif; color: var(--ink); line-height: 1.55; }
body { max-width: 60rem; margin: 2rem auto; padding: 0 1.2rem; font-size: 15px; }
h1 { font-size: 1.6rem; margin: 0 0 .6rem; line-height: 1.3; }
h2 { font-size: 1.25rem; margin: 2rem 0 .6rem; padding-bottom: .2rem; border-bottom: 2px solid var(--rule); }
h3 { font-size: 1.05rem; margin: 1.4rem 0 .5rem; }
.figure { font-weight: normal; color: var(--muted); white-space: nowrap; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: .1rem 1rem; margin: 0 0 1rem; color: var(--muted); }
dl.meta dt { font-weight: bold; } dl.meta dd { margin: 0; }
nav.toc { border: 1px solid var(--rule); padding: .6rem 1rem; margin: 1rem 0 1.5rem; background: #fafbfc; }
nav.toc ol { margin: .2rem 0; padding-left: 1.4rem; } nav.toc ol ol { list-style: none; padding-left: 1rem; }
nav.toc a { color: var(--ink); text-decoration: none; }
nav.toc a:hover { text-decoration: underline; }
table { border-collapse: collapse; width: 100%; table-layout: fixed; margin: .4rem 0 1rem; font-size: .86rem; }
th, td { border: 1px solid var(--rule); padding: .25rem .4rem; vertical-align: top; text-align: left;
  overflow-wrap: anywhere; word-break: normal; line-break: strict; }
th { background: var(--head); font-weight: 600; overflow-wrap: break-word; hyphens: auto; font-size: .95em; }
table.compact { width: auto; min-width: 45%; table-layout: auto; }
table.wide th { font-size: .72em; }
tr { break-inside: avoid; }
.bar { display: inline-block; width: 4.2em; height: .65em; background: #e4e7eb; margin-right: .3em; vertical-align: middle; }
.bar span { display: block; height: 100%; background: #1565c0; }
.num { white-space: nowrap; }
td.t-good { background: #e6f4ea; } td.t-ok { background: #fff4d6; } td.t-bad { background: #fde7e7; color: #8b1a1a; }
td.t-info { background: #e8f0fe; } td.t-muted { color: var(--muted); }
figure.chart { margin: .6rem 0 1.2rem; break-inside: avoid; }
figure.chart svg { max-width: 100%; height: auto; }
figure.chart figcaption { font-weight: 600; margin-bottom: .3rem; }
section.annex { border-top: 3px double var(--rule); margin-top: 2.5rem; }
footer { margin-top: 3rem; color: var(--muted); font-size: .8rem; }
@page { size: A4; margin: 14mm 11mm 16mm; }
@media print {
  html { font-size: 10pt; } body { max-width: none; margin: 0; padding: 0; font-size: 10pt; }
  table { font-size: 7.6pt; } th, td { padding: 1.5pt 3pt; }
  thead { display: table-header-group; }
  nav.toc { break-after: page; background: none; }
  h2, h3 { break-after: avoid; }
  section.annex { break-before: page; border: none; }
  .bar { width: 2.6em; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""


def _text(value: str) -> str:
    return "<br>".join(escape(part) for part in value.split("\n"))


def _cell(cell: Cell) -> str:
    if isinstance(cell, Share):
        if cell.value is None:
            return "—"
        shown = max(0.0, min(1.0, cell.value))
        return (
            f'<span class="num"><span class="bar" role="presentation"><span style="width:{shown * 100:.0f}%"></span></span>'
            f"{cell.value * 100:.0f}%</span>"
        )
    return _text(cell)


def _table(table: Table) -> Iterator[str]:
    """The table's lines (joined by newlines in the page), its rows as they come."""
    compact = not table.widths and len(table.header) <= 3  # a small count table: as wide as it needs
    wide = len(table.header) > 8  # many narrow columns: smaller headers, so that a word fits its column
    yield '<table class="compact">' if compact else '<table class="wide">' if wide else "<table>"
    if table.widths:
        total = sum(table.widths)
        yield "<colgroup>" + "".join(f'<col style="width:{w / total * 100:.1f}%">' for w in table.widths) + "</colgroup>"
    yield "<thead><tr>" + "".join(f"<th>{escape(h)}</th>" for h in table.header) + "</tr></thead>"
    yield "<tbody>"
    for i, row in enumerate(table.rows):
        tones = table.tones[i] if i < len(table.tones) else ()
        cells = (
            f'<td class="t-{tones[j]}">{_cell(c)}</td>' if j < len(tones) and tones[j] != "none" else f"<td>{_cell(c)}</td>"
            for j, c in enumerate(row)
        )
        yield "<tr>" + "".join(cells) + "</tr>"
    yield "</tbody></table>"


def _colour(chart: Chart, i: int) -> str:
    if chart.tones and i < len(chart.tones):
        return TONES.get(chart.tones[i], PALETTE[i % len(PALETTE)])
    return PALETTE[i % len(PALETTE)]


def _svg_open(width: float, height: float) -> str:
    return f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img">'


def _pie(chart: Chart) -> str:
    values = list(chart.series[0].values)
    total = sum(values)
    size, r, cx, cy = 160, 70, 80, 80
    legend_x = size + 20
    height = max(size, 24 * len(values) + 20)
    out = [_svg_open(460, height), f"<title>{escape(chart.title)}</title>"]
    angle = -math.pi / 2
    for i, value in enumerate(values):
        colour = _colour(chart, i)
        if total <= 0:
            break
        if value >= total:  # one slice: a whole circle (an arc cannot start and end at the same point)
            out.append(f'<circle cx="{cx}" cy="{cy}" r="{r}" fill="{colour}"/>')
            break
        end = angle + 2 * math.pi * value / total
        large = 1 if end - angle > math.pi else 0
        x1, y1 = cx + r * math.cos(angle), cy + r * math.sin(angle)
        x2, y2 = cx + r * math.cos(end), cy + r * math.sin(end)
        out.append(
            f'<path d="M{cx},{cy} L{x1:.2f},{y1:.2f} A{r},{r} 0 {large} 1 {x2:.2f},{y2:.2f} Z" fill="{colour}" stroke="#fff"/>'
        )
        angle = end
    for i, (label, value) in enumerate(zip(chart.labels, values, strict=True)):
        y = 20 + 24 * i
        out.append(f'<rect x="{legend_x}" y="{y - 11}" width="13" height="13" fill="{_colour(chart, i)}"/>')
        share = f" ({value / total * 100:.0f}%)" if total else ""
        out.append(f'<text x="{legend_x + 20}" y="{y}" font-size="13">{escape(label)}: {value:g}{share}</text>')
    out.append("</svg>")
    return "\n".join(out)


def _bars(chart: Chart) -> str:
    n = max(1, len(chart.labels))
    step = min(64, max(28, 560 // n))
    left, top, plot_h = 44, 16, 180
    width = left + step * n + 12
    height = top + plot_h + 44
    out = [_svg_open(width, height), f"<title>{escape(chart.title)}</title>"]
    for k in range(5):  # gridlines at 0, 25, 50, 75, 100 % of the top
        value = chart.top * k / 4
        y = top + plot_h - plot_h * k / 4
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - 8}" y2="{y:.1f}" stroke="#e0e3e7"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end" fill="#5f6368">{value:g}</text>')
    series = list(chart.series)
    bar_w = (step - 10) / max(1, len(series))
    for s_index, s in enumerate(series):
        for i, value in enumerate(s.values):
            h = plot_h * max(0.0, min(chart.top, value)) / chart.top if chart.top else 0
            x = left + step * i + 5 + bar_w * s_index
            y = top + plot_h - h
            colour = _colour(chart, s_index) if len(series) > 1 else _colour(chart, 0)
            out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="{colour}"/>')
            out.append(f'<text x="{x + bar_w / 2:.1f}" y="{y - 3:.1f}" font-size="10" text-anchor="middle">{value:.0f}</text>')
    for i, label in enumerate(chart.labels):
        x = left + step * i + step / 2
        out.append(f'<text x="{x:.1f}" y="{top + plot_h + 16}" font-size="12" text-anchor="middle">{escape(label)}</text>')
    if chart.unit:
        out.append(f'<text x="4" y="{top - 4}" font-size="11" fill="#5f6368">{escape(chart.unit)}</text>')
    out.append("</svg>")
    return "\n".join(out)


def _stacked(chart: Chart) -> str:
    """Horizontal bars, one per label, one segment per series (its count), the note after each bar."""
    label_w, bar_w, note_w, row_h, top = 270, 320, 56, 24, 30
    totals = [sum(s.values[i] for s in chart.series) for i in range(len(chart.labels))]
    scale = bar_w / max(1.0, max(totals, default=1.0))
    width, height = label_w + bar_w + note_w, top + row_h * len(chart.labels) + 6
    out = [_svg_open(width, height), f"<title>{escape(chart.title)}</title>"]
    x = 0.0
    for tone, words in chart.legend:
        out.append(f'<rect x="{x:.0f}" y="4" width="12" height="12" fill="{TONES.get(tone, "#9e9e9e")}"/>')
        out.append(f'<text x="{x + 16:.0f}" y="14" font-size="12">{escape(words)}</text>')
        x += 16 + 13 * len(words) + 18
    for i, label in enumerate(chart.labels):
        y = top + row_h * i
        out.append(f'<text x="{label_w - 8}" y="{y + 15}" font-size="12" text-anchor="end">{escape(label)}</text>')
        left = float(label_w)
        for s, tone in zip(chart.series, chart.tones, strict=True):
            w = s.values[i] * scale
            if w > 0:
                colour = TONES.get(tone, "#9e9e9e")
                out.append(
                    f'<rect x="{left:.1f}" y="{y + 3}" width="{w:.1f}" height="{row_h - 8}" fill="{colour}" stroke="#fff"/>'
                )
                left += w
        note = chart.notes[i] if i < len(chart.notes) else ""
        out.append(f'<text x="{left + 6:.1f}" y="{y + 15}" font-size="11" fill="#5f6368">{escape(note)}</text>')
    out.append("</svg>")
    return "\n".join(out)


def _chart(chart: Chart) -> str:
    svg = _pie(chart) if chart.kind == "pie" else _stacked(chart) if chart.kind == "stacked" else _bars(chart)
    caption = escape(chart.title) + (f" ({escape(chart.unit)})" if chart.unit and chart.kind != "pie" else "")
    return f'<figure class="chart"><figcaption>{caption}</figcaption>\n{svg}\n</figure>'


def _heading(section: Section, anchor: str) -> str:
    figure = f' <span class="figure">— {_cell(section.figure)}</span>' if section.figure is not None else ""
    tag = f"h{section.level}"
    return f'<{tag} id="{anchor}">{escape(section.title)}{figure}</{tag}>'


def _toc(report: Report, anchors: list[str], title: str) -> str:
    items: list[tuple[str, list[str]]] = []
    for section, anchor in zip(report.sections, anchors, strict=True):
        link = f'<a href="#{anchor}">{escape(section.title)}</a>'
        if section.level == 2 or not items:
            items.append((link, []))
        else:
            items[-1][1].append(link)
    out = [f'<nav class="toc" aria-label="{escape(title)}"><strong>{escape(title)}</strong>', "<ol>"]
    for link, subs in items:
        inner = "<ol>" + "".join(f"<li>{s}</li>" for s in subs) + "</ol>" if subs else ""
        out.append(f"<li>{link}{inner}</li>")
    out += ["</ol>", "</nav>"]
    return "\n".join(out)


def render_html(report: Report) -> str:
    """One HTML document with everything inline; user text is escaped everywhere."""
    return "".join(render_html_chunks(report))


def render_html_chunks(report: Report) -> Iterator[str]:
    """`render_html` a part at a time (a few hundred lines): a long table is never held whole."""
    part: list[str] = []
    for line in _lines(report):
        part.append(line)
        if len(part) >= LINES_AT_ONCE:
            yield "\n".join(part) + "\n"
            part = []
    if part:
        yield "\n".join(part) + "\n"


LINES_AT_ONCE = 500


def _lines(report: Report) -> Iterator[str]:
    """The page's lines, each followed by a newline."""
    lang = {"zh": "zh-CN", "en": "en", "both": "zh-CN"}[report.lang]
    toc_title = {"zh": "目录", "en": "Contents", "both": "目录 Contents"}[report.lang]
    anchors = [f"s{i + 1}" for i in range(len(report.sections))]
    yield from [
        "<!DOCTYPE html>",
        f'<html lang="{lang}">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(report.title)}</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
        "<header>",
        f"<h1>{escape(report.title)}</h1>",
        '<dl class="meta">',
    ]
    for item in report.meta:
        value = f"<strong>{escape(item.value)}</strong>" if item.strong else escape(item.value)
        yield f"<dt>{escape(item.label)}</dt><dd>{value}</dd>"
    yield from ["</dl>", "</header>", _toc(report, anchors, toc_title), "<main>"]
    open_section = False
    for section, anchor in zip(report.sections, anchors, strict=True):
        if section.level == 2:
            if open_section:
                yield "</section>"
            yield '<section class="annex">' if section.annex else "<section>"
            open_section = True
        yield _heading(section, anchor)
        for block in section.blocks:
            if isinstance(block, Paragraph):
                yield f"<p>{_text(block.text)}</p>"
            elif isinstance(block, Table):
                yield from _table(block)
            else:
                yield _chart(block)
    if open_section:
        yield "</section>"
    yield from ["</main>", "</body>", "</html>"]
