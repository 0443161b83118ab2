"""The region registry: every division of China, shipped with the package, plus a workspace's own regions.

The national part is `divisions.csv` beside this module: every provincial, prefecture-level and county-level
division in the National Bureau of Statistics' 2023 division codes (国家统计局《2023年统计用区划代码和城乡划分
代码》, as of 2023-06-30), built by `tools/make_regions.py`. It is parsed only when a command needs a region
that the workspace's own `regions.yaml` does not hold, and a `Region` model is built only for the regions used,
so start-up stays as it was.

One place has one code. A province-level division is its 2-digit code (上海市 is 31); a prefecture-level
division is its 6-digit GB/T 2260 code (南京市 is 320100; the NBS 4-digit 3201 is accepted); a county-level
division its 6-digit code. The former city records of the four municipalities (110000, 120000, 310000,
500000) are retired codes: they resolve to the municipality, and `ptrack migrate-regions` moves records kept
under them.
"""

from __future__ import annotations

import csv
import functools
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, overload

from policy_tracker.errors import PtrackError

DIVISIONS_FILE = Path(__file__).with_name("divisions.csv")
EDITION = "NBS 2023 statistical division codes (国家统计局《2023年统计用区划代码和城乡划分代码》), as of 2023-06-30"
# The codes the registry used before it held every division: the municipalities were also city records.
RETIRED = {"110000": "11", "120000": "12", "310000": "31", "500000": "50"}

# Peoples named in autonomous divisions, so that 延边朝鲜族自治州 is also found as 延边.
_PEOPLES = [
    "蒙古",
    "回",
    "藏",
    "维吾尔",
    "苗",
    "彝",
    "壮",
    "布依",
    "朝鲜",
    "满",
    "侗",
    "瑶",
    "白",
    "土家",
    "哈尼",
    "哈萨克",
    "傣",
    "黎",
    "傈僳",
    "佤",
    "畲",
    "拉祜",
    "水",
    "东乡",
    "纳西",
    "景颇",
    "柯尔克孜",
    "土",
    "达斡尔",
    "仫佬",
    "羌",
    "布朗",
    "撒拉",
    "毛南",
    "仡佬",
    "锡伯",
    "普米",
    "塔吉克",
    "怒",
    "鄂温克",
    "保安",
    "裕固",
    "独龙",
    "鄂伦春",
    "各",
]
_WITHOUT_ZU = ("蒙古", "哈萨克", "柯尔克孜", "塔吉克", "锡伯", "鄂伦春")
_SUFFIXES = ("特别行政区", "自治区", "自治州", "自治县", "自治旗", "地区", "省", "市", "区", "县", "旗", "盟")

# The provincial-level codes, known without reading the file (the workspace's checks need only these).
PROVINCES = frozenset(
    [
        "11",
        "12",
        "13",
        "14",
        "15",
        "21",
        "22",
        "23",
        "31",
        "32",
        "33",
        "34",
        "35",
        "36",
        "37",
        "41",
        "42",
        "43",
        "44",
        "45",
        "46",
        "50",
        "51",
        "52",
        "53",
        "54",
        "61",
        "62",
        "63",
        "64",
        "65",
    ]
)

_Row = tuple[str, str, str, str, str, str, str, str]  # code, parent, kind, zh, en, class, aliases, short name
_SEARCHES = 8  # a search of the text costs about what building 1/50 of the rows does (measured: 65 µs, 3 ms for all)

RegionKind = Literal["country", "province", "cluster", "city", "county", "other"]
Tier = Literal["optimise", "expand", "foster"]
SizeClass = Literal["super_large", "mega"]


@dataclass(slots=True)  # not frozen: a frozen dataclass is set field by field, 3.5 x slower to build 3,359
class Region:
    """A region: its code (`31`, `320100`, `YRD`), Chinese and English names, kind, the region enclosing it (a
    province's is CN), a cluster's provinces, other names, the cluster's tier, the city's size class (`class` in
    YAML: super_large, mega by the 7th census) and a note. Plain data: see the module docstring."""

    code: str
    zh: str
    en: str
    kind: RegionKind
    parent: str | None = None
    provinces: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    tier: Tier | None = None
    size_class: SizeClass | None = None
    note: str | None = None

    def as_json(self) -> dict[str, Any]:
        """Every field, as regions.yaml names them (`class` for the size class)."""
        return {"code": self.code, "zh": self.zh, "en": self.en, "kind": self.kind, "parent": self.parent,
                "provinces": list(self.provinces), "aliases": list(self.aliases), "tier": self.tier,
                "class": self.size_class, "note": self.note}  # fmt: skip


def short_name(zh: str) -> str | None:
    """The name without its generic term: 南京市 -> 南京, 新疆维吾尔自治区 -> 新疆; None if under two characters."""
    suffix = next((s for s in _SUFFIXES if zh.endswith(s) and len(zh) > len(s)), None)
    if suffix is None:
        return None
    stem = zh[: -len(suffix)]
    while suffix.startswith("自治"):  # strip the peoples named before 自治: 延边朝鲜族 -> 延边
        body = stem[:-1] if stem.endswith("族") else stem
        people = max((p for p in _PEOPLES if body.endswith(p) and (body != stem or p in _WITHOUT_ZU)), key=len, default=None)
        if people is None or len(body) - len(people) < 2:
            break  # 内蒙古 stays 内蒙古
        stem = body[: -len(people)]
    return stem if len(stem) >= 2 else None


def normalise(text: str) -> str:
    """What a name is compared as: full-width folded (ＳＨ -> sh), case and spaces ignored, Xi'an = Xian."""
    folded = unicodedata.normalize("NFKC", text).strip().casefold()
    return "".join(folded.split()).replace("'", "").replace("’", "").replace("ü", "u")


@functools.cache
def _national_rows() -> dict[str, _Row]:
    """Every division, by code: for the commands that go through many of them."""
    return {row[0]: tuple(row) for row in csv.reader(_division_text()[1])}  # type: ignore[misc]


@functools.cache
def _division_text() -> tuple[str, list[str]]:
    """divisions.csv's rows (no comment, no header) as one text whose every row follows a newline, and as lines: one
    region is found by searching them, without building the other 3,358."""
    raw = DIVISIONS_FILE.read_text(encoding="utf-8")
    rows = raw.index("\n", raw.index("\ncode,") + 1)  # the edition's comment, then the header, then the rows
    text = raw[rows:].rstrip("\n")
    return text, text[1:].split("\n")


@functools.cache
def _folded_text() -> str:
    """The rows' text folded the way names are compared (`_fold` keeps the lines): where a name is searched."""
    return _fold(_division_text()[0])


def _parse(line: str) -> _Row:
    return tuple(next(csv.reader([line])))  # type: ignore[return-value]


def _find_row(code: str) -> _Row | None:
    """The row of one code, found in the text."""
    text = _division_text()[0]
    at = text.find(f"\n{code},")
    if at < 0:
        return None
    end = text.find("\n", at + 1)
    row = _parse(text[at + 1 : end if end >= 0 else len(text)])
    return row if row[0] == code else None


def _rows_holding(wanted: str) -> Iterator[_Row]:
    """The rows whose folded line holds `wanted` (a normalised name): every row that `wanted` may name, and a few
    more, in file order."""
    lines, folded = _division_text()[1], _folded_text()
    line, counted = -1, 0  # the text starts with a newline: its first row is line 0
    at = folded.find(wanted)
    while at >= 0:
        line += folded.count("\n", counted, at)
        end = folded.find("\n", at)
        yield _parse(lines[line])
        if end < 0:
            return
        counted = end
        at = folded.find(wanted, end)


def _fold(text: str) -> str:
    """`normalise` for the division file's text, which is in normal form (NFKC, no tabs or curly quotes; tested)."""
    return text.casefold().replace(" ", "").replace("'", "").replace("ü", "u")


def _region(row: _Row) -> Region:
    code, parent, kind, zh, en, size_class, aliases, _ = row
    # The file is the package's own and checked by the tests: no validation needed.
    return Region(
        code=code,
        zh=zh,
        en=en,
        kind=kind,  # type: ignore[arg-type]
        parent=parent or None,
        aliases=aliases.split(";") if aliases else [],
        size_class=size_class or None,  # type: ignore[arg-type]
    )


class Registry(Sequence[Region]):
    """The regions a workspace knows: the national divisions, then its own `regions.yaml` (which wins on a code).

    Behaves as a sequence of `Region` (all of them, loaded on first use); `get`, `by_code`, `resolve` and
    `members` look regions up without building the others.
    """

    def __init__(self, own: Sequence[Region], *, national: bool = True) -> None:
        self.own = [r for r in own if r.code not in RETIRED or not national]
        self._own_by_code = {r.code: r for r in self.own}
        self._national = national
        self._built: dict[str, Region] = {}
        self._all: list[Region] | None = None
        self._searched = 0  # codes and names searched in the file's text: past a few, the rows or names are built once
        self.by_code: Mapping[str, Region] = _ByCode(self)

    def _rows(self) -> dict[str, _Row]:
        return _national_rows() if self._national else {}

    def _row(self, code: str) -> _Row | None:
        """One national row: searched in the file's text for the first few codes a command asks for (an update asks
        for one); from all the rows, built once, for a command that asks for many (validate asks for every record's)."""
        if not self._national:
            return None
        if self._searched < _SEARCHES and not _national_rows.cache_info().currsize:
            self._searched += 1
            return _find_row(code)
        return _national_rows().get(code)

    def get(self, code: str) -> Region | None:
        """The region with this code (exactly), or None."""
        found = self._own_by_code.get(code)
        if found is not None:
            return found
        if code not in self._built:
            row = self._row(code)
            if row is None:
                return None
            self._built[code] = _region(row)
        return self._built[code]

    def has(self, code: str) -> bool:
        return code in self._own_by_code or (self._national and code in PROVINCES) or self._row(code) is not None

    def is_province(self, code: str) -> bool:
        own = self._own_by_code.get(code)
        return own.kind == "province" if own is not None else self._national and code in PROVINCES

    def _list(self) -> list[Region]:
        if self._all is None:
            rows = self._rows()
            first = [r for r in self.own if r.code not in rows and r.kind == "country"]
            rest = [r for r in self.own if r.code not in rows and r.kind != "country"]
            self._all = [*first, *(r for code in rows if (r := self.get(code)) is not None), *rest]
        return self._all

    def __len__(self) -> int:
        return len(self._list())

    @overload
    def __getitem__(self, index: int) -> Region: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Region]: ...
    def __getitem__(self, index: int | slice) -> Region | Sequence[Region]:
        return self._list()[index]

    def __iter__(self) -> Iterator[Region]:
        return iter(self._list())

    # ------------------------------------------------------------------------------------------ hierarchy

    def parent_of(self, code: str) -> str | None:
        own = self._own_by_code.get(code)
        if own is not None:
            return own.parent
        row = self._row(code)
        return (row[1] or None) if row is not None else None

    def path(self, code: str) -> list[Region]:
        """The enclosing regions, nearest first, up to the province (朝阳区 -> 长春市, 吉林省)."""
        out: list[Region] = []
        current = self.parent_of(code)
        while current is not None and current != "CN" and len(out) < 4:
            region = self.get(current)
            if region is None:
                break
            out.append(region)
            current = region.parent
        return out

    @functools.cached_property
    def _children(self) -> dict[str, list[str]]:
        children: dict[str, list[str]] = {}
        for code, row in self._rows().items():
            if code not in self._own_by_code and row[1]:
                children.setdefault(row[1], []).append(code)
        for r in self.own:
            if r.parent is not None:
                children.setdefault(r.parent, []).append(r.code)
        return children

    def members(self, code: str) -> set[str]:
        """The region and everything inside it: a cluster's provinces, a province's cities, their counties."""
        members: set[str] = set()
        todo = [code]
        while todo:
            current = todo.pop()
            if current in members:
                continue
            members.add(current)
            todo.extend(self._children.get(current, []))
            own = self._own_by_code.get(current)
            if own is not None:
                todo.extend(own.provinces)
        return members

    # ------------------------------------------------------------------------------------------ names

    @functools.cached_property
    def _index(self) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
        """Two indexes from normalised names to codes: exact names (code, names, aliases), then short names."""
        exact: dict[str, list[str]] = {}
        short: dict[str, list[str]] = {}

        def add(index: dict[str, list[str]], name: str | None, code: str) -> None:
            if name:
                codes = index.setdefault(normalise(name), [])
                if code not in codes:
                    codes.append(code)

        for code, row in self._rows().items():
            if code in self._own_by_code:
                continue
            # Codes and Chinese names are already in normal form; only English names and aliases need folding.
            exact.setdefault(code, []).append(code)
            exact.setdefault(row[3], []).append(code)
            en = _fold(row[4])
            if en != row[3]:
                exact.setdefault(en, []).append(code)
            if row[6]:
                for alias in row[6].split(";"):
                    add(exact, alias, code)
            if row[7]:
                short.setdefault(row[7], []).append(code)
        for r in self.own:
            for name in (r.code, r.zh, r.en, *r.aliases):
                add(exact, name, r.code)
            add(short, short_name(r.zh), r.code)
        if self._national:
            for old, new in RETIRED.items():
                add(exact, old, new)
        return exact, short

    def candidates(self, text: str) -> list[Region]:
        """Every region `text` may name, best tier only: exact names and codes, then names without their
        suffix (南京 = 南京市), then a code whose leading zeros were dropped, then a unique name prefix."""
        wanted = normalise(text)
        if self.has(wanted):  # a code, as typed: no index needed
            return [r for r in (self.get(wanted),) if r is not None]
        for codes in self._named(wanted):
            if codes:
                return [r for c in codes if (r := self.get(c)) is not None]
        exact, _ = self._index
        if wanted.isdigit():
            if len(wanted) == 4 and self.has(wanted + "00"):  # the NBS 4-digit prefecture code: 3201
                return [r for r in (self.get(wanted + "00"),) if r is not None]
            # a code Excel read as a number and wrote without its leading zeros (0101 -> 101)
            padded = [c for c in exact if c.isdigit() and len(c) > len(wanted) and c.lstrip("0") == wanted]
            return [r for c in padded for r in ([self.get(c)] if self.get(c) is not None else [])]  # type: ignore[misc]
        if wanted:
            prefixed = {c for name, codes in exact.items() if name.startswith(wanted) and not name.isdigit() for c in codes}
            if len(prefixed) == 1:
                return [r for r in (self.get(prefixed.pop()),) if r is not None]
        return []

    def _named(self, wanted: str) -> tuple[list[str], list[str]]:
        """The codes of the regions named `wanted` (normalised) exactly (code, name, alias), then by a short name,
        as the name index holds them; without the index (one name resolved), from the rows whose text holds it."""
        if not wanted:
            return [], []
        if "_index" in self.__dict__ or self._searched >= _SEARCHES:  # many names (an import): the index, built once
            exact, short = self._index
            return exact.get(wanted, []), short.get(wanted, [])
        self._searched += 1
        exact_codes: list[str] = []
        short_codes: list[str] = []
        for row in _rows_holding(wanted) if self._national else ():
            code = row[0]
            if code in self._own_by_code:
                continue
            if wanted in (code, row[3], _fold(row[4])) or (row[6] and any(normalise(a) == wanted for a in row[6].split(";"))):
                exact_codes.append(code)
            if row[7] == wanted:
                short_codes.append(code)
        for r in self.own:
            if any(normalise(name) == wanted for name in (r.code, r.zh, r.en, *r.aliases) if name):
                exact_codes.append(r.code)
            if normalise(short_name(r.zh) or "") == wanted:
                short_codes.append(r.code)
        if self._national and wanted in RETIRED and RETIRED[wanted] not in exact_codes:
            exact_codes.append(RETIRED[wanted])
        return exact_codes, short_codes

    def complete(self, typed: str, limit: int = 60) -> list[tuple[str, str]]:
        """Shell completions for a region: (what to type, what it is). Digits complete codes, Chinese complete
        Chinese names, Latin letters English names (spaces left out: `JiangningDistrict` resolves too).
        Nothing typed yet: the provinces, the clusters and the workspace's own regions."""
        wanted = normalise(typed)
        rows = self._rows()
        out: list[tuple[str, str]] = []
        if not wanted:
            codes = [c for c, row in rows.items() if row[2] == "province" and c not in self._own_by_code]
            codes += [r.code for r in self.own]
            return [(c, f"{r.zh} {r.en}") for c in codes if (r := self.get(c)) is not None][:limit]
        latin = wanted.isascii() and not wanted.isdigit()
        for code in [*rows, *(r.code for r in self.own if r.code not in rows)]:
            region = self.get(code)
            if region is None:
                continue
            if wanted.isdigit() or normalise(code).startswith(wanted):
                if normalise(code).startswith(wanted):
                    out.append((code, f"{region.zh} {region.en}"))
            elif latin:
                if normalise(region.en).startswith(wanted):  # what was typed, then the rest of the name
                    name = region.en.replace(" ", "")
                    out.append((typed.strip() + name[len(typed.strip()) :], f"{code} {region.zh}"))
            elif region.zh.startswith(typed.strip()) or (short_name(region.zh) or "").startswith(typed.strip()):
                out.append((region.zh, f"{code} {region.en}"))
            if len(out) >= limit:
                break
        return out

    def describe(self, region: Region) -> str:
        """`220104 朝阳区 (长春市, 吉林省)`: a region with the places that enclose it."""
        around = "、".join(r.zh for r in self.path(region.code))
        return f"{region.code} {region.zh}" + (f" ({around})" if around else "")

    def resolve(self, text: str) -> Region:
        """The one region `text` names (a code, a Chinese or English name with or without its suffix, an alias).

        Raises PtrackError listing the candidates, with their parents, when several regions share the name.
        """
        found = self.candidates(text)
        if len(found) == 1:
            return found[0]
        if found:
            shown = "; ".join(self.describe(r) for r in found[:8]) + ("; ..." if len(found) > 8 else "")
            raise PtrackError(f"'{text.strip()}' matches several regions: {shown}", fix="Give the region's code")
        import difflib  # only for a name that matched nothing

        exact, short = self._index
        names = [n for n in (*exact, *short) if not n.isdigit()]
        close = difflib.get_close_matches(normalise(text), names, n=3, cutoff=0.6)
        suggestions = list(dict.fromkeys(c for n in close for c in (exact.get(n) or short.get(n) or [])))[:3]
        shown = " or ".join(f"{r.code} {r.zh} ({r.en})" for c in suggestions if (r := self.get(c)) is not None)
        hint = f" (did you mean {shown}?)" if shown else ""
        raise PtrackError(f"unknown region '{text.strip()}'{hint}", fix="`ptrack regions` lists them all")


class _ByCode(Mapping[str, Region]):
    """`ws.regions_by_code`: a region by its exact code, built only when asked for."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry

    def __getitem__(self, code: str) -> Region:
        found = self._registry.get(code)
        if found is None:
            raise KeyError(code)
        return found

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and self._registry.has(code)

    def __iter__(self) -> Iterator[str]:
        return (r.code for r in self._registry)

    def __len__(self) -> int:
        return len(self._registry)


def registry(regions: Sequence[Region]) -> Registry:
    """The registry behind a sequence of regions: the workspace's own, or one over a plain list (no national part)."""
    return regions if isinstance(regions, Registry) else Registry(regions, national=False)
