"""The report as a Word file (python-docx): A4, a title block, headings, tables that fit the page, CJK fonts.

A thin renderer of report.Report: it lays out what the model holds and computes no number. python-docx is
imported here only, so only `report --format docx` pays for it. The file opens in Word, WPS and LibreOffice.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from policy_tracker.report import Cell, Chart, Paragraph, Report, Section, Share, Table

if TYPE_CHECKING:
    from docx.document import Document as DocumentObject

PAGE_W_MM, PAGE_H_MM = 210, 297  # A4
MARGIN_MM = 18
BODY_MM = PAGE_W_MM - 2 * MARGIN_MM
LATIN_FONT = "Times New Roman"
# 宋体 for text and 黑体 for headings, as official documents set them: names Word and WPS know on every Chinese
# system. Elsewhere the w:lang zh-CN below lets the reader substitute its own CJK font (LibreOffice: Noto CJK).
CJK_BODY = "SimSun"
CJK_HEADING = "SimHei"


def _set_fonts(rpr: Any, latin: str, east_asia: str) -> None:
    """Explicit fonts for Latin and CJK text; theme fonts would override them, so they go."""
    from docx.oxml.ns import qn

    fonts = rpr.get_or_add_rFonts()
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(attr), None)
    fonts.set(qn("w:ascii"), latin)
    fonts.set(qn("w:hAnsi"), latin)
    fonts.set(qn("w:cs"), latin)
    fonts.set(qn("w:eastAsia"), east_asia)


def _styles(doc: DocumentObject, lang: str) -> None:
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls, qn
    from docx.shared import Pt, RGBColor

    defaults = doc.styles.element.find(qn("w:docDefaults"))
    if defaults is not None:
        rpr = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))
        _set_fonts(rpr, LATIN_FONT, CJK_BODY)
        lang_el = rpr.find(qn("w:lang"))
        if lang_el is not None:
            rpr.remove(lang_el)
        rpr.append(parse_xml(f'<w:lang {nsdecls("w")} w:val="{"en-GB" if lang == "en" else "zh-CN"}" w:eastAsia="zh-CN"/>'))
    normal = doc.styles["Normal"]
    normal.font.size = Pt(10.5)  # 五号
    _set_fonts(normal.element.get_or_add_rPr(), LATIN_FONT, CJK_BODY)
    normal.paragraph_format.space_after = Pt(4)
    normal.paragraph_format.line_spacing = 1.25
    for name, size in (("Title", 20), ("Heading 1", 15), ("Heading 2", 12.5), ("Heading 3", 11)):
        style = doc.styles[name]
        _set_fonts(style.element.get_or_add_rPr(), LATIN_FONT, CJK_HEADING)
        style.font.size = Pt(size)
        style.font.bold = True
        style.font.color.rgb = RGBColor(0x1B, 0x1B, 0x1B)
        style.paragraph_format.space_before = Pt(12 if name != "Title" else 0)
        style.paragraph_format.space_after = Pt(6)


def _page(doc: DocumentObject) -> None:
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls
    from docx.shared import Mm

    section = doc.sections[0]
    section.page_width, section.page_height = Mm(PAGE_W_MM), Mm(PAGE_H_MM)
    section.left_margin = section.right_margin = Mm(MARGIN_MM)
    section.top_margin, section.bottom_margin = Mm(20), Mm(18)
    footer = section.footer.paragraphs[0]
    footer.alignment = 1  # centred
    footer._p.append(parse_xml(f'<w:fldSimple {nsdecls("w")} w:instr="PAGE"><w:r><w:t>1</w:t></w:r></w:fldSimple>'))


def _add_lines(paragraph: Any, text: str, *, size: float | None = None, bold: bool = False) -> None:
    """Text with its line breaks kept as breaks inside one paragraph."""
    from docx.shared import Pt

    for i, line in enumerate(text.split("\n")):
        run = paragraph.add_run()
        if i:
            run.add_break()
        run.add_text(line)
        if size:
            run.font.size = Pt(size)
        if bold:
            run.bold = True


def _cell_text(cell: Cell) -> str:
    if isinstance(cell, Share):
        return "—" if cell.value is None else f"{cell.value * 100:.0f}%"
    return cell


def _repeat_header(row: Any) -> None:
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    row._tr.get_or_add_trPr().append(parse_xml(f'<w:tblHeader {nsdecls("w")} w:val="true"/>'))


SHADES = {"good": "E6F4EA", "ok": "FFF4D6", "bad": "FDE7E7", "info": "E8F0FE"}


def _shade(cell: Any, tone: str) -> None:
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    if tone in SHADES:
        cell._tc.get_or_add_tcPr().append(
            parse_xml(f'<w:shd {nsdecls("w")} w:val="clear" w:color="auto" w:fill="{SHADES[tone]}"/>')
        )


def _table(
    doc: DocumentObject, header: list[str], rows: list[list[str]], widths: list[float], tones: list[list[str]] | None = None
) -> None:
    from docx.shared import Mm, Pt

    size = 8 if len(header) > 6 else 9
    table = doc.add_table(rows=1, cols=len(header))
    table.style = doc.styles["Table Grid"]
    table.autofit = False
    relative = widths if len(widths) == len(header) else [1.0] * len(header)
    total = sum(relative)
    column_mm = [BODY_MM * w / total for w in relative]
    for column, mm in zip(table.columns, column_mm, strict=True):
        column.width = Mm(mm)
    for cell, text, mm in zip(table.rows[0].cells, header, column_mm, strict=True):
        cell.width = Mm(mm)
        paragraph = cell.paragraphs[0]
        paragraph.paragraph_format.space_after = Pt(0)
        _add_lines(paragraph, text, size=size, bold=True)
    _repeat_header(table.rows[0])
    for i, values in enumerate(rows):
        cells = table.add_row().cells
        row_tones = tones[i] if tones and i < len(tones) else ["none"] * len(values)
        for cell, text, mm, tone in zip(cells, values, column_mm, row_tones, strict=True):
            cell.width = Mm(mm)
            _shade(cell, tone)
            paragraph = cell.paragraphs[0]
            paragraph.paragraph_format.space_after = Pt(0)
            paragraph.paragraph_format.line_spacing = 1.0
            _add_lines(paragraph, text, size=size)
    doc.add_paragraph()


def _chart(doc: DocumentObject, chart: Chart) -> None:
    """A chart as its caption and a small table of its values: Word has no inline SVG that every reader shows."""
    caption = doc.add_paragraph()
    _add_lines(caption, chart.title + (f" ({chart.unit})" if chart.unit and chart.kind != "pie" else ""), bold=True)
    header = ["", *(s.label for s in chart.series)]
    rows = [[label, *(f"{s.values[i]:.0f}" for s in chart.series)] for i, label in enumerate(chart.labels)]
    _table(doc, header, rows, [3.0] + [1.0] * len(chart.series))


def _section(doc: DocumentObject, section: Section) -> None:
    from docx.enum.text import WD_BREAK

    if section.annex:
        doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    title = section.title + (f" — {_cell_text(section.figure)}" if section.figure is not None else "")
    doc.add_heading(title, level=section.level - 1)
    for block in section.blocks:
        if isinstance(block, Paragraph):
            _add_lines(doc.add_paragraph(), block.text)
        elif isinstance(block, Table):
            _table(
                doc,
                list(block.header),
                [[_cell_text(c) for c in row] for row in block.rows],
                list(block.widths),
                [list(t) for t in block.tones],
            )
        else:
            _chart(doc, block)


def render_docx(report: Report) -> bytes:
    """The .docx file's bytes."""
    from docx import Document
    from docx.shared import Pt

    doc = Document()
    _page(doc)
    _styles(doc, report.lang)
    doc.core_properties.title = report.title
    doc.core_properties.author = "ptrack"
    doc.add_heading(report.title, level=0)
    for item in report.meta:
        paragraph = doc.add_paragraph()
        paragraph.paragraph_format.space_after = Pt(0)
        label = paragraph.add_run(f"{item.label}：" if report.lang != "en" else f"{item.label}: ")
        label.bold = True
        value = paragraph.add_run(item.value)
        value.bold = item.strong or None
    doc.add_paragraph()
    for section in report.sections:
        _section(doc, section)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()
