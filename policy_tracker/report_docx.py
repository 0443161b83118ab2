"""The report as a Word file (python-docx): A4, a title block, headings, tables that fit the page, CJK fonts.

A thin renderer of report.Report: it lays out what the model holds and computes no number. python-docx is
imported here only, so only `report --format docx` pays for it. The file opens in Word, WPS and LibreOffice.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

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


SHADES = {"good": "E6F4EA", "ok": "FFF4D6", "bad": "FDE7E7", "info": "E8F0FE", "head": "EEF1F5", "muted": "F7F8FA"}


MM_TWIPS = 1440 / 25.4
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # characters XML 1.0 cannot hold


def _cell_xml(text: str, twips: int, tone: str, size: float, bold: bool) -> str:
    """One table cell as WordprocessingML: its width, shade and lines (a line break inside the text is a w:br)."""
    shade = f'<w:shd w:val="clear" w:color="auto" w:fill="{SHADES[tone]}"/>' if tone in SHADES else ""
    props = f'<w:rPr>{"<w:b/>" if bold else ""}<w:sz w:val="{round(size * 2)}"/><w:szCs w:val="{round(size * 2)}"/></w:rPr>'
    lines = _NOT_XML.sub("\ufffd", text).split("\n")
    runs = "<w:br/>".join(f'<w:t xml:space="preserve">{escape(line)}</w:t>' for line in lines)
    return (
        f'<w:tc><w:tcPr><w:tcW w:w="{twips}" w:type="dxa"/>{shade}</w:tcPr>'
        f'<w:p><w:pPr><w:spacing w:after="0" w:line="240" w:lineRule="auto"/></w:pPr><w:r>{props}{runs}</w:r></w:p></w:tc>'
    )


def _table(
    doc: DocumentObject,
    header: Sequence[str],
    rows: Iterable[Sequence[str]],
    widths: Sequence[float],
    tones: Sequence[Sequence[str]] = (),
) -> Iterator[str]:
    """A table as WordprocessingML, its rows as they come (python-docx's cell-by-cell API takes minutes on a
    2,000-record report, and its document would hold them all), then the empty paragraph that follows it.

    Fixed layout, the columns' widths in the grid and in every cell (Word reads one, LibreOffice the other), and
    the header row repeated on every page.
    """
    from docx.oxml.ns import nsdecls

    size = 8 if len(header) > 6 else 9
    relative = widths if len(widths) == len(header) else [1.0] * len(header)
    total = sum(relative)
    span = BODY_MM if widths or len(header) > 3 else BODY_MM * 0.55  # a small count table: about half the page
    twips = [round(span * w / total * MM_TWIPS) for w in relative]
    yield (
        f'<w:tbl {nsdecls("w")}><w:tblPr><w:tblStyle w:val="{doc.styles["Table Grid"].style_id}"/>'
        f'<w:tblW w:w="{sum(twips)}" w:type="dxa"/><w:tblLayout w:type="fixed"/>'
        '<w:tblLook w:val="04A0" w:firstRow="1" w:lastRow="0" w:firstColumn="1" w:lastColumn="0" w:noHBand="0" w:noVBand="1"/>'
        "</w:tblPr><w:tblGrid>" + "".join(f'<w:gridCol w:w="{w}"/>' for w in twips) + "</w:tblGrid>"
    )
    yield (
        "<w:tr><w:trPr><w:tblHeader/></w:trPr>"
        + "".join(_cell_xml(h, w, "head", size, bold=True) for h, w in zip(header, twips, strict=True))
        + "</w:tr>"
    )
    for i, values in enumerate(rows):
        row_tones = tones[i] if i < len(tones) else ["none"] * len(values)
        cells = (_cell_xml(v, w, t, size, bold=False) for v, w, t in zip(values, twips, row_tones, strict=True))
        yield "<w:tr>" + "".join(cells) + "</w:tr>"
    yield "</w:tbl>"
    yield _taken(doc.add_paragraph())


def _taken(paragraph: Any) -> str:
    """A paragraph python-docx made, as XML, taken out of its document: the document never grows."""
    from lxml import etree  # type: ignore[import-untyped]  # python-docx is built on it

    element = paragraph._p
    element.getparent().remove(element)
    return str(etree.tostring(element, encoding="unicode"))


def _chart(doc: DocumentObject, chart: Chart) -> Iterator[str]:
    """A chart as its caption and a small table of its values: Word has no inline SVG that every reader shows."""
    caption = doc.add_paragraph()
    _add_lines(caption, chart.title + (f" ({chart.unit})" if chart.unit and chart.kind != "pie" else ""), bold=True)
    yield _taken(caption)
    series = [s for s in chart.series if any(s.values)] if chart.kind == "stacked" else list(chart.series)
    header = [chart.axis[0] if chart.axis else "", *(s.label for s in series)]
    rows = [[label, *(f"{s.values[i]:.0f}" for s in series)] for i, label in enumerate(chart.labels)]
    if chart.notes:  # assessed/total beside each row
        header.append(chart.axis[2] if len(chart.axis) > 2 else "")
        rows = [[*row, note] for row, note in zip(rows, chart.notes, strict=True)]
    yield from _table(doc, header, rows, [3.0] + [1.0] * (len(header) - 1))


def _section(doc: DocumentObject, section: Section) -> Iterator[str]:
    """The section's body as WordprocessingML, a paragraph or a table row at a time."""
    from docx.enum.text import WD_BREAK

    if section.annex:
        page = doc.add_paragraph()
        page.add_run().add_break(WD_BREAK.PAGE)
        yield _taken(page)
    title = section.title + (f" — {_cell_text(section.figure)}" if section.figure is not None else "")
    yield _taken(doc.add_heading(title, level=section.level - 1))
    for block in section.blocks:
        if isinstance(block, Paragraph):
            paragraph = doc.add_paragraph()
            _add_lines(paragraph, block.text)
            yield _taken(paragraph)
        elif isinstance(block, Table):
            rows = ([_cell_text(c) for c in row] for row in block.rows)
            yield from _table(doc, list(block.header), rows, list(block.widths), [list(t) for t in block.tones])
        else:
            yield from _chart(doc, block)


def render_docx(report: Report) -> bytes:
    """The .docx file's bytes."""
    return b"".join(render_docx_chunks(report))


def render_docx_chunks(report: Report) -> Iterator[bytes]:
    """The .docx file, a piece at a time: python-docx makes the page set-up, styles, title block and every
    paragraph, the sections' paragraphs and table rows are written into the file's document.xml as they are made
    (through a temporary file, as a zip is finished by its directory), so the document is never held whole."""
    import tempfile
    import zipfile

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
    skeleton = io.BytesIO()
    doc.save(skeleton)  # everything but the sections, which go where the body's last paragraph ends
    with tempfile.TemporaryFile() as spooled:
        with zipfile.ZipFile(skeleton) as source, zipfile.ZipFile(spooled, "w", zipfile.ZIP_DEFLATED) as out:
            for info in source.infolist():
                data = source.read(info)
                entry = zipfile.ZipInfo(info.filename, info.date_time)
                entry.compress_type = zipfile.ZIP_DEFLATED
                if info.filename != "word/document.xml":
                    out.writestr(entry, data)
                    continue
                text = data.decode("utf-8")
                cut = text.rindex("<w:sectPr")  # the body's own section properties close it
                with out.open(entry, "w") as body:
                    body.write(text[:cut].encode("utf-8"))
                    for section in report.sections:
                        for piece in _section(doc, section):
                            body.write(piece.encode("utf-8"))
                    body.write(text[cut:].encode("utf-8"))
        spooled.seek(0)
        while chunk := spooled.read(1 << 20):
            yield chunk
