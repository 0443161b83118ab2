"""How a published figure reads: its value in its own unit and basis, and its source, publisher first (pure text)."""

from __future__ import annotations


def source_text(publisher: str | None, document: str | None, url: str) -> str:
    """'publisher document — address': who published the figure and where, before the page it was read on.

    Either of publisher and document may be unknown (None); the address is always there (every figure has one).
    """
    who = " ".join(x for x in (publisher, document) if x)
    return f"{who} — {url}" if who else url


def figure_text(number: str, *, unit: str | None = None, basis: str | None = None, when: str | int | None = None) -> str:
    """'27412 人 (2020)', '89.3 (2025; 扣除沙尘异常超标天)': a formatted number with the unit and basis it was
    published in (given only where they differ from the indicator's) and the date or period it refers to."""
    text = number + (f" {unit}" if unit else "")
    about = "; ".join(str(x) for x in (when, basis) if x is not None)
    return f"{text} ({about})" if about else text


def short_address(address: str, limit: int = 80) -> str:
    """An address as a reader can print and type it: no scheme, percent-escapes decoded, a long path cut in the middle.

    'https://tw.news.yahoo.com/%E4%B8%AD...-025810110.html' -> 'tw.news.yahoo.com/中國2025年…-025810110.html'.
    Text that is not a web address (a document number such as 沪府办〔2026〕12号) is returned as it is.
    """
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(address.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return address
    text = unquote(parts.netloc + parts.path + (f"?{parts.query}" if parts.query else "")).rstrip("/")
    if len(text) <= limit:
        return text
    head, tail = parts.netloc, text[len(parts.netloc) :]
    keep = max(12, limit - len(head) - 1)
    return f"{head}{tail[: keep // 2]}…{tail[-(keep - keep // 2) :]}"


def plan_text(target_from: str, issued: str | None, lang: str) -> str:
    """The plan a target comes from, as the reader's language allows.

    `target_from` is stored as written, often a Chinese plan name with an English note about it
    ('《…纲要》(adopted 2026-03-12), as summarised by 健康报'). In Chinese output the note is left out: the plan's
    name in 《》 and the date it was issued ('《…纲要》（2026-03-12）'); text without a 《》 name, or without Latin
    letters, is shown as stored.
    """
    import re

    name = re.search(r"《[^》]+》", target_from)
    if lang != "zh" or name is None or not re.search(r"[A-Za-z]", target_from):
        return target_from
    return name.group(0) + (f"（{issued}）" if issued else "")
