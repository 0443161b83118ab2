"""The report as GitHub-flavoured markdown: a thin renderer of report.Report (charts as mermaid)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from policy_tracker.markdown import md_cell, md_table
from policy_tracker.report import Cell, Chart, Paragraph, Report, Section, Share, Table


def _cell(cell: Cell) -> str:
    return cell.text() if isinstance(cell, Share) else cell


SQUARE = {"green": "🟩", "amber": "🟨", "red": "🟥", "grey": "⬜"}  # the assessment's colours, where emoji render


def _stacked(chart: Chart) -> list[str]:
    """One square per counted item, coloured by its series: a chart that renders in any markdown viewer."""
    legend = " ".join(f"{SQUARE.get(tone, '⬜')} {words}" for tone, words in chart.legend)
    rows = [
        [
            label,
            "".join(SQUARE.get(tone, "⬜") * int(s.values[i]) for s, tone in zip(chart.series, chart.tones, strict=True)),
            note,
        ]
        for i, (label, note) in enumerate(zip(chart.labels, chart.notes, strict=True))
    ]
    return [md_cell(f"{chart.title} — {legend}"), "", md_table(chart.axis, rows)]


def _chart(chart: Chart) -> list[str]:
    if chart.kind == "stacked":
        return _stacked(chart)
    if chart.kind == "pie":
        lines = [f"pie showData title {chart.title}"]
        lines += [f'    "{label}" : {value:g}' for label, value in zip(chart.labels, chart.series[0].values, strict=True)]
    else:
        labels = ", ".join(f'"{label}"' for label in chart.labels)
        lines = [
            "xychart-beta",
            f'    title "{chart.title} ({chart.unit})"',
            f"    x-axis [{labels}]",
            f'    y-axis "{chart.unit}" 0 --> {chart.top:g}',
        ]
        lines += [f"    bar [{', '.join(f'{v:.0f}' for v in s.values)}]" for s in chart.series]
    return ["```mermaid", *lines, "```", ""]


ROWS_AT_ONCE = 500  # a long table is written this many rows at a time


def _section(section: Section) -> Iterator[list[str]]:
    """The section's lines (each to be followed by a newline), a part at a time: a long table in pieces."""
    title = md_cell(section.title)
    if section.figure is not None:
        title += f" — {md_cell(_cell(section.figure))}"
    out = ["#" * section.level + " " + title, ""]
    for block in section.blocks:
        if isinstance(block, Paragraph):
            out += [md_cell(block.text), ""]
        elif isinstance(block, Table):
            out += md_table(block.header, []).rstrip("\n").split("\n")
            for row in block.rows:
                out.append("| " + " | ".join(md_cell(_cell(c)) for c in row) + " |")
                if len(out) >= ROWS_AT_ONCE:
                    yield out
                    out = []
            out.append("")  # md_table's closing newline: a blank line after the table
        else:
            out += _chart(block)
    yield out


def render_markdown(report: Report) -> str:
    """The whole report; user text is escaped so that it cannot break a table or inject HTML."""
    return "".join(render_markdown_chunks(report))


def render_markdown_chunks(report: Report) -> Iterator[str]:
    """`render_markdown` a part at a time (a section, or a few hundred rows of a long table): never all of it held."""
    head = [f"# {md_cell(report.title)}", ""]
    for item in report.meta:
        value = f"**{md_cell(item.value)}**" if item.strong else md_cell(item.value)
        head.append(f"- {item.label}: {value}")
    head.append("")
    pending = ""  # the newlines at the end of what was written last: the document ends with exactly one
    for lines in itertools.chain([head], (part for section in report.sections for part in _section(section))):
        if not lines:
            continue
        text = pending + "\n".join(lines) + "\n"
        body = text.rstrip("\n")
        pending = text[len(body) :]
        if body:
            yield body
    yield "\n"
