"""Control characters in user text are shown, never acted on."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policy_tracker.visible import visible


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("\x1b[2J", "\\x1b[2J"),
        ("a\u202eb", "a\\u202eb"),
        ("\x9b31m", "\\x9b31m"),
        ("line\r\nnext", "line\nnext"),
        ("carriage\rreturn", "carriage\\x0dreturn"),
        ("张三\t[draft]\n", "张三\t[draft]\n"),
    ],
)
def test_visible(text: str, shown: str) -> None:
    assert visible(text) == shown


@given(st.text())
def test_nothing_a_terminal_acts_on_survives(text: str) -> None:
    shown = visible(text)
    assert not any((ord(c) < 32 and c not in "\t\n") or 0x7F <= ord(c) <= 0x9F or c in "\u202e\u2066\u200f" for c in shown)
