"""Line breaking for Chinese text in the terminal: no line starts with closing punctuation (GB/T 15834, 标点符号用法;
the JIS X 4051 kinsoku rule, which Rich does not apply)."""

from __future__ import annotations

import re
import unicodedata

# Marks that close or end a phrase: never the first character of a line.
NO_LINE_START = frozenset("。，、；：！？）》」』】〕〉”’％…·,.;:!?)]}%")
# Marks that open a phrase: never the last character of a line.
NO_LINE_END = frozenset("（《「『【〔〈“‘")
# A run of Latin letters, digits and their punctuation is one word; a CJK character is a word by itself.
_TOKENS = re.compile(r"\s+|[^\s\u2e80-\u9fff\u3000-\u303f\uff00-\uffef]+|.")


def cell_len(text: str) -> int:
    """Terminal cells `text` takes: two for a wide (CJK) character, one for any other."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def wrap(text: str, width: int) -> list[str]:
    """`text` as lines of at most `width` terminal cells, breaking between CJK characters or at spaces, never
    before a closing mark (the character before it moves to the next line with it) nor after an opening one.
    Existing newlines are kept. A word wider than `width` is left whole for the terminal to fold.

    wrap("要达成目标。还需努力", 10) -> ["要达成目", "标。还需努", "力"]
    """
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line: list[str] = []
        used = 0
        for token in _TOKENS.findall(paragraph):
            size = cell_len(token)
            if used + size <= width or not line:
                line.append(token)
                used += size
                continue
            if token.isspace():  # a space at a break is dropped; the next word breaks the line
                continue
            carried: list[str] = []
            while token[0] in NO_LINE_START and len(line) > 1 and not line[-1].isspace():
                carried.insert(0, line.pop())  # pull the previous character down with the mark
                if carried[0][0] not in NO_LINE_START:
                    break
            if (carried or [token])[0][0] in NO_LINE_START:  # only marks before it: they hang at the line's end
                line += [*carried, token]
                used = sum(cell_len(t) for t in line)
                continue
            while len(line) > 1 and (line[-1].isspace() or line[-1] in NO_LINE_END):
                mark = line.pop()  # an opening mark goes down with what it opens; a space at the break is dropped
                if not mark.isspace():
                    carried.insert(0, mark)
            lines.append("".join(line).rstrip())
            line = [*carried, token]
            used = sum(cell_len(t) for t in line)
        lines.append("".join(line).rstrip())
    return lines
