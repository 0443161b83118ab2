"""The quick builder of parsed YAML (store._quick) gives exactly what the checking constructor gives, or leaves it to it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from policy_tracker import store

from conftest import REPO


def _both(text: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    """(what parse_yaml gives, what it gives with the constructor alone): data, or the problem's text."""

    def outcome() -> Any:
        try:
            return ("data", store.parse_yaml(text, "f.yaml"))
        except store._FileProblem as e:
            return ("problem", str(e.problem))

    quick = outcome()
    with monkeypatch.context() as m:

        def never(*_: Any) -> Any:
            raise store._Unusual

        m.setattr(store, "_quick", never)
        return quick, outcome()


UNUSUAL = [
    "a: &x [1, 2]\nb: *x\n",  # an alias
    "a: &x 1\nb: *x\n",  # an alias of a scalar
    "a: 1\na: 2\n",  # a duplicate key
    "1: a\n01: b\n",  # two keys of the same value written apart: the constructor keeps the last
    "'1': a\n1: b\n",  # a text key and a number key
    "? [a, b]\n: c\n",  # a complex key
    "!!merge <<: {a: 1}\nb: 2\n",  # a merge key
    "a: !!binary aGVsbG8=\n",
    "a: !!set {x: null}\n",
    "a: !custom 1\n",
    "a: !!str 12\nb: !!int '7'\nc: !!float '1.5'\n",
    "x: [" * 400 + "]" * 400,  # deeper than Python's recursion
    "a: yes\nb: NO\nc: 011\nd: 0o11\ne: 0x1F\nf: 1_000\ng: .inf\nh: -.Inf\ni: .nan\nj: ~\nk: 2024-01-02\nl: 1e3\nm: ''\n",
    "- 1\n- - 2\n  - {a: b}\n",
    "",
    "null\n",
    "a: [1, 2\n",  # not YAML
    "a: 1\n---\nb: 2\n",  # two documents
]


@pytest.mark.parametrize("text", UNUSUAL)
def test_unusual_yaml_reads_as_the_constructor_reads_it(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    quick, reference = _both(text, monkeypatch)
    assert repr(quick) == repr(reference)  # repr: nan compares unequal to itself


def test_every_bundled_record_reads_the_same_and_without_the_constructor(monkeypatch: pytest.MonkeyPatch) -> None:
    files = sorted((REPO / "tasks").glob("*.yaml"))
    assert len(files) > 20
    fallbacks: list[Path] = []
    construct = store._Loader.construct_document
    monkeypatch.setattr(store._Loader, "construct_document", lambda self, node: fallbacks.append(node) or construct(self, node))
    for path in files:
        text = path.read_text(encoding="utf-8")
        quick, reference = _both(text, monkeypatch)
        assert quick == reference
    assert len(fallbacks) == len(files)  # only the reference runs, each file once: the quick builder took every one


_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.sampled_from(["yes", "No", "011", "0o7", "0x1f", "1_0", ".inf", "~", "null", "2024-01-02", "1e3", "+1", "-.5"]),
)
_keys = st.one_of(st.text(max_size=8), st.integers())
_data = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_keys, inner, max_size=4)),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(_data, st.sampled_from([None, False, True]))
def test_any_data_written_as_yaml_reads_as_the_constructor_reads_it(data: Any, flow: bool | None) -> None:
    text = yaml.safe_dump({"d": data}, allow_unicode=True, default_flow_style=flow)
    with pytest.MonkeyPatch.context() as m:
        quick, reference = _both(text, m)
    assert repr(quick) == repr(reference)
