"""User text made safe to show: control characters and direction overrides become visible escapes (pure text)."""

from __future__ import annotations

import re

# C0 controls but tab and newline, DEL, C1 controls (0x9b is a one-byte CSI), and the Unicode direction
# overrides and isolates that reorder what a reader sees (the "Trojan Source" characters).
_HIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def visible(text: str) -> str:
    """`text` with every character a terminal or viewer would act on instead of showing written as an escape.

    ESC becomes `\\x1b`, U+202E becomes `\\u202e`: a note can no longer clear a screen, recolour a line, set a
    window title or reverse the text after it. A Windows line end (CRLF) is an ordinary line end.
    """
    return _HIDDEN.sub(_escape, text.replace("\r\n", "\n"))


def _escape(m: re.Match[str]) -> str:
    code = ord(m.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
