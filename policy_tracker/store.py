"""The workspace on disk: find it, read its YAML safely, validate it into models. The only YAML code."""

from __future__ import annotations

import errno
import functools
import io
import itertools
import logging
import os
import re
import shutil
import signal
import stat
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.representer import SafeRepresenter
from yaml.resolver import BaseResolver

from policy_tracker import journal, listed
from policy_tracker.changes import (
    RecordChange,
    Stamp,
    history_entry,
    history_problems,
    parse_figure_field,
    parse_observation_field,
)
from policy_tracker.errors import Problem, PtrackError, WorkspaceInvalid
from policy_tracker.listed import refresh_index as refresh_index  # re-exported: callers use store's name
from policy_tracker.listed import region_listing as region_listing
from policy_tracker.locate import _TASK_LIKE_RE, _copy_dataset_new, _dataset_files, _umask  # light: finding it
from policy_tracker.locate import CHAPTERS as CHAPTERS  # re-exported: callers use store's names for the finding
from policy_tracker.locate import DATASET_FILES as DATASET_FILES
from policy_tracker.locate import ENV_DATA as ENV_DATA
from policy_tracker.locate import GOALS as GOALS
from policy_tracker.locate import MARKER as MARKER
from policy_tracker.locate import REGIONS as REGIONS
from policy_tracker.locate import TASK_FILE_RE as TASK_FILE_RE
from policy_tracker.locate import Location as Location
from policy_tracker.locate import bundled_dataset as bundled_dataset
from policy_tracker.locate import find_workspace as find_workspace
from policy_tracker.locate import user_data_dir as user_data_dir
from policy_tracker.models import (
    SCHEMA_VERSION,
    TASK_COUNT,
    Change,
    Chapter,
    ChaptersFile,
    Goal,
    GoalsFile,
    HistoryEntry,
    Region,
    RegionRecord,
    RegionsFile,
    Task,
    Workspace,
    WorkspaceConfig,
    task_id,
)
from policy_tracker.regions import RETIRED, Registry

if TYPE_CHECKING:
    import datetime

    from policy_tracker.index import AsOfRow, Checked, Index
    from policy_tracker.query import HistoryRow

_T = TypeVar("_T")
MAX_FILE_BYTES = 2 * 1024 * 1024  # the configuration files (ptrack.yaml, goals, chapters, regions): a guard
MAX_RECORD_BYTES = 64 * 1024 * 1024  # a task file or record: decades of history fit; a hostile file does not
UNDO_RESERVE_BYTES = 1024 * 1024  # a change may fill a record up to the limit less this, so that undo always fits

# ---------------------------------------------------------------------------------------------- YAML


class _Resolver(BaseResolver):
    """YAML 1.2 core schema: only true/false are booleans, no dates, no octal 011, so `NO` and `"11"`-like
    region codes stay strings and a date stays the text the person wrote."""


_Resolver.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
_Resolver.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"), list("-+0123456789")
)
_Resolver.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+0123456789."),
)
_Resolver.add_implicit_resolver("tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""])


class _Rejected(yaml.MarkedYAMLError):
    """YAML that is valid but not allowed in a workspace (aliases, duplicate keys, complex keys)."""

    def __init__(self, problem: str, node: Node) -> None:
        super().__init__(problem=problem, problem_mark=node.start_mark)


class _Constructor(SafeConstructor):
    def construct_object(self, node: Node, deep: bool = False) -> Any:
        # A node seen twice is an alias: refusing them rules out billion-laughs expansion and shared state.
        if node in self.constructed_objects or node in self.recursive_objects:
            raise _Rejected("anchors and aliases (&, *) are not allowed: write the value out", node)
        return super().construct_object(node, deep)

    def flatten_mapping(self, node: MappingNode) -> None:
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise _Rejected("merge keys (<<) are not allowed: write the fields out", key_node)

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[tuple[str, str], int] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, ScalarNode):
                raise _Rejected("a key must be a plain value", key_node)
            key = (key_node.tag, key_node.value)
            if key in seen:
                raise _Rejected(f"duplicate key '{key_node.value}' (first at line {seen[key]})", key_node)
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep)

    def construct_yaml_int(self, node: ScalarNode) -> int:
        text = node.value.replace("_", "")
        if text.startswith("0o"):
            return int(text[2:], 8)
        if text.startswith("0x"):
            return int(text[2:], 16)
        return int(text, 10)  # decimal, leading zeros included (YAML 1.2)


_Constructor.add_constructor("tag:yaml.org,2002:int", _Constructor.construct_yaml_int)  # type: ignore[type-var]

_STR, _SEQ, _MAP = "tag:yaml.org,2002:str", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"
_PLAIN = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null")


class _Unusual(Exception):
    """A node the quick builder leaves to `_Constructor`, whose checks and messages are the reference."""


def _quick(node: Node, seen: set[int], scalar: dict[str, Callable[[Node], Any]]) -> Any:
    """The data of a node tree made only of mappings, lists and plain scalars, each node once and every key once:
    what `_Constructor` builds from it, several times faster (no generic dispatch, no state). Anything else (an
    alias, a tag, a duplicate or complex key) raises _Unusual, and the constructor decides."""
    if id(node) in seen:
        raise _Unusual  # a node met twice is an alias
    seen.add(id(node))
    kind, tag = node.__class__, node.tag
    if kind is ScalarNode:
        if tag == _STR:
            return node.value
        if tag in scalar:
            return scalar[tag](node)
    elif kind is MappingNode and tag == _MAP:
        pairs = node.value
        data = {_quick(k, seen, scalar) if k.__class__ is ScalarNode else _unusual(): _quick(v, seen, scalar) for k, v in pairs}
        if len(data) == len(pairs):
            return data
    elif kind is SequenceNode and tag == _SEQ:
        return [_quick(item, seen, scalar) for item in node.value]
    raise _Unusual


def _unusual() -> Any:
    raise _Unusual


if getattr(yaml, "__with_libyaml__", False):
    from yaml.cyaml import CParser as _Parser  # type: ignore[attr-defined]  # libyaml: several times faster

    class _Loader(_Parser, _Constructor, _Resolver):
        def __init__(self, stream: str) -> None:
            _Parser.__init__(self, stream)
            _Constructor.__init__(self)
            _Resolver.__init__(self)

else:  # pragma: no cover - PyYAML without libyaml
    from yaml.composer import Composer
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _Loader(Reader, Scanner, Parser, Composer, _Constructor, _Resolver):  # type: ignore[no-redef]
        def __init__(self, stream: str) -> None:
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            Parser.__init__(self)
            Composer.__init__(self)
            _Constructor.__init__(self)
            _Resolver.__init__(self)


_IMPLICIT = {first: tuple(found) for first, found in _Loader.yaml_implicit_resolvers.items() if first is not None}
assert None not in _Loader.yaml_implicit_resolvers and not _Loader.yaml_path_resolvers  # what `_resolve` relies on


def _resolve(self: BaseResolver, kind: type, value: str, implicit: tuple[bool, bool]) -> str:
    """BaseResolver.resolve for the loader's resolver, which has no path resolvers or wildcards (libyaml calls it
    for every node). Only the loader's: the plain writer's resolver knows more forms, to quote them."""
    if kind is ScalarNode:
        if implicit[0]:
            for tag, regexp in _IMPLICIT.get(value[:1], ()):
                if regexp.match(value):
                    return str(tag)
        return str(self.DEFAULT_SCALAR_TAG)
    return str(self.DEFAULT_SEQUENCE_TAG if kind is SequenceNode else self.DEFAULT_MAPPING_TAG)


_Loader.resolve = _resolve  # type: ignore[method-assign]


def display_path(path: Path) -> str:
    """A path as the user would type it: relative to the current directory when inside it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


class _FileProblem(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def read_text(path: Path) -> str:
    """The text of a workspace file, refusing what is too large or not UTF-8."""
    return _decode(read_bytes(path), display_path(path))


def read_bytes(path: Path) -> bytes:
    """The bytes of a workspace file, refusing what is too large, not a regular file (a FIFO, a device: read
    without waiting and with a bound) or, for a record or task file, a symbolic link."""
    shown = display_path(path)
    limit = _read_limit(path.name)
    record = bool(_TASK_LIKE_RE.match(path.name))
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    if record:
        flags |= getattr(os, "O_NOFOLLOW", 0)  # records are plain files: a link could lead outside the workspace
    try:
        fd = os.open(path, flags)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise _FileProblem(
                Problem(shown, None, None, "a symbolic link: ptrack reads records only as plain files; put the file itself here")
            ) from None
        raise _FileProblem(Problem(shown, None, None, f"cannot read: {e.strerror}")) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _FileProblem(Problem(shown, None, None, f"not a regular file but {_file_kind(st.st_mode)}: remove it"))
        if st.st_size > limit:
            raise _FileProblem(Problem(shown, None, None, f"file is {st.st_size:,} bytes, over the {limit:,} limit"))
        with os.fdopen(os.dup(fd), "rb") as f:
            return f.read(limit + 1)  # the bound holds even if the file grows meanwhile; _decode refuses the excess
    except OSError as e:
        raise _FileProblem(Problem(shown, None, None, f"cannot read: {e.strerror}")) from None
    finally:
        os.close(fd)


def _read_limit(name: str) -> int:
    """Task files and records grow with their history: their limit guards against hostile files, not real use."""
    return MAX_RECORD_BYTES if _TASK_LIKE_RE.match(name) else MAX_FILE_BYTES


def _decode(raw: bytes, shown: str) -> str:
    limit = _read_limit(Path(shown).name)
    if len(raw) > limit:
        raise _FileProblem(Problem(shown, None, None, f"file is {len(raw):,} bytes, over the {limit:,} limit"))
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise _FileProblem(Problem(shown, line, None, "not UTF-8 text: save the file as UTF-8")) from None


_CONFLICT_MARKER = re.compile(r"^(?:<{7}|={7}|>{7}|\|{7})(?: |$)", re.M)


def parse_yaml(text: str, shown: str) -> Any:
    """Safe-load one YAML document; every refusal becomes a Problem with its line."""
    try:
        loader = _Loader(text)  # built on SafeConstructor: no Python objects, ever
        try:
            node = loader.get_single_node()
            if node is None:
                data = None
            else:
                try:
                    scalar = {tag: loader.yaml_constructors[tag].__get__(loader) for tag in _PLAIN}
                    data = _quick(node, set(), scalar)
                except (_Unusual, RecursionError):
                    data = loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as e:
        conflict = _CONFLICT_MARKER.search(text)
        if conflict is not None:
            at = text.count("\n", 0, conflict.start()) + 1
            fix = "keep the right lines and delete the <<<<<<<, ======= and >>>>>>> markers"
            raise _FileProblem(Problem(shown, at, None, f"unresolved git conflict: {fix}")) from None
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else None
        message = " ".join(str(part) for part in (e.context, e.problem) if part)
        raise _FileProblem(Problem(shown, line, None, f"not valid YAML: {message}")) from None
    except yaml.YAMLError as e:
        raise _FileProblem(Problem(shown, None, None, f"not valid YAML: {e}")) from None
    except RecursionError:
        raise _FileProblem(Problem(shown, None, None, "not valid YAML: nested too deeply")) from None
    if data is None:
        raise _FileProblem(Problem(shown, None, None, "file is empty: restore it (git checkout) or delete it"))
    return data


def _node_at(root: Node | None, loc: Iterable[int | str]) -> Node | None:
    """The deepest YAML node along a validation error's location (for its line number)."""
    node = root
    for part in loc:
        if isinstance(node, MappingNode):
            nxt = next((v for k, v in node.value if isinstance(k, ScalarNode) and k.value == str(part)), None)
        elif isinstance(node, SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            nxt = node.value[part]
        else:
            nxt = None
        if nxt is None:
            break
        node = nxt
    return node


def _loc_text(loc: Iterable[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


# The patterns of models.py in words (a message names the form, never the regular expression or a Python type).
_PATTERN_WORDS = {
    r"^T\d{2}$": "a task ID such as T08",
    r"^[A-Za-z0-9_-]{1,32}$": "a region code (letters, digits, _ or -, at most 32) such as 31 or 310000",
    r"^[a-z][a-z0-9_]*$": "an id of lower-case letters, digits and _ that starts with a letter, such as urbanisation_rate",
    r"^\d{4}$": "a year such as 2030",
}
_KIND_WORDS = {"list": "a list", "str": "text", "int": "a number", "float": "a number", "bool": "true or false",
               "NoneType": "nothing"}  # fmt: skip


def _error_message(err: ErrorDetails) -> str:
    kind, value = err["type"], err.get("input")
    if kind == "extra_forbidden":
        return "unknown field: remove it or check its spelling (`ptrack schema` lists the fields)"
    if kind == "missing":
        return "required field is missing"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"expected fields (name: value), got {_KIND_WORDS.get(type(value).__name__, 'something else')}"
    if kind == "string_pattern_mismatch":  # say what the form is, never the regular expression
        form = _PATTERN_WORDS.get(str((err.get("ctx") or {}).get("pattern")), "in another form: see `ptrack schema`")
        return f"must be {form}, not {value!r}"
    if kind == "string_type" and isinstance(value, (int, float, bool)):
        return f'must be text, got {value!r}: put it in quotes ("{value}")'
    message = str(err["msg"])
    return message.removeprefix("Value error, ")


class _LineFinder:
    """Maps (file, location) to a line, parsing the file's node tree only when a problem needs it."""

    def __init__(self) -> None:
        self._trees: dict[Path, Node | None] = {}

    def line(self, path: Path, loc: Iterable[int | str]) -> int | None:
        if path not in self._trees:
            try:
                loader = _Loader(path.read_text(encoding="utf-8-sig"))
                try:
                    self._trees[path] = loader.get_single_node()
                finally:
                    loader.dispose()
            except (OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError):
                self._trees[path] = None
        node = _node_at(self._trees[path], loc)
        return node.start_mark.line + 1 if node is not None else None


def _validate(model: type[BaseModel], data: Any, path: Path, lines: _LineFinder) -> tuple[Any, list[Problem]]:
    try:
        record = model.model_validate(data)
    except ValidationError as e:
        problems = []
        for err in e.errors():
            loc = err["loc"]
            problems.append(Problem(display_path(path), lines.line(path, loc), _loc_text(loc) or None, _error_message(err)))
        return None, problems
    version = getattr(record, "schema_version", SCHEMA_VERSION)
    if version > SCHEMA_VERSION and not isinstance(record, WorkspaceConfig):  # ptrack.yaml: _check_version says more
        loc = ("schema_version",)
        message = f"format version {version} is newer than this ptrack reads (up to {SCHEMA_VERSION}): upgrade ptrack"
        return None, [Problem(display_path(path), lines.line(path, loc), "schema_version", message)]
    if isinstance(record, Task | RegionRecord):
        # a record is refused whole when its history does not lead to it: undo and --as-of would rebuild it wrongly
        found = [
            Problem(display_path(path), lines.line(path, loc), _loc_text(loc) or None, message)
            for loc, message in history_problems(record)
        ]
        if found:
            return None, found
    return record, []


GITIGNORE_LINES = (".ptrack.lock", ".ptrack-journal/", ".*.tmp")  # this machine's, not the team's


def _ignore_local_files(target: Path) -> None:
    path = target / ".gitignore"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    missing = [line for line in GITIGNORE_LINES if line not in text.splitlines()]
    if missing:
        prefix = "" if not text or text.endswith("\n") else "\n"
        path.write_text(text + prefix + "# ptrack: local files\n" + "\n".join(missing) + "\n", encoding="utf-8")


GITATTRIBUTES = """# ptrack: records merge with `ptrack merge-driver`, which unites concurrent histories (docs/collaboration.md).
# Each clone enables it once with:  git config merge.ptrack.driver "ptrack merge-driver %O %A %B"
/T[0-9][0-9].yaml merge=ptrack
records/**/*.yaml merge=ptrack
"""
MERGE_DRIVER = "ptrack merge-driver %O %A %B"


def _declare_merge_driver(target: Path) -> None:
    """Write the .gitattributes that routes records to the merge driver; in a git clone, also enable the driver."""
    path = target / ".gitattributes"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if "merge=ptrack" not in text:
        prefix = "" if not text or text.endswith("\n") else "\n"
        path.write_text(text + prefix + GITATTRIBUTES, encoding="utf-8")
    enable_merge_driver(target)


def enable_merge_driver(folder: Path) -> bool:
    """Set merge.ptrack.driver in the git repository holding `folder` (its local config); False when not in one."""
    import subprocess

    def git(*args: str) -> bool:
        try:
            return subprocess.run(["git", "-C", str(folder), *args], capture_output=True, timeout=10, check=False).returncode == 0
        except (OSError, subprocess.SubprocessError):
            return False

    if not git("rev-parse", "--is-inside-work-tree"):
        return False
    return git("config", "merge.ptrack.name", "ptrack records") and git("config", "merge.ptrack.driver", MERGE_DRIVER)


def init_workspace(target: Path) -> Path:
    """Create a workspace in `target` as a copy of the bundled dataset; refuse to overwrite anything."""
    if target.exists() and not target.is_dir():
        raise PtrackError(f"{target} exists and is not a directory", fix="Choose another path")
    if (target / MARKER).exists():
        raise PtrackError(f"{target} is already a ptrack workspace", fix="Use it as it is, or choose another folder")
    if not target.exists():
        _copy_dataset_new(target)
        _ignore_local_files(target)
        _declare_merge_driver(target)
        return target.resolve()
    files = _dataset_files(bundled_dataset())
    clashes = [f.name for f in files if (target / f.name).exists()]
    if clashes:
        raise PtrackError(
            f"{target} already holds {', '.join(clashes[:3])}{' ...' if len(clashes) > 3 else ''}",
            fix="Choose an empty or new folder; nothing was written",
        )
    try:
        # The marker goes last: an interrupted init is not mistaken for a workspace.
        for f in sorted(files, key=lambda p: p.name == MARKER):
            shutil.copyfile(f, target / f.name)
        _ignore_local_files(target)
        _declare_merge_driver(target)
    except OSError as e:
        raise PtrackError(f"cannot write to {target}: {e.strerror}", fix="Check the folder's permissions") from None
    return target.resolve()


# ---------------------------------------------------------------------------------------------- loading it


def _load_file(path: Path, model: type[BaseModel], lines: _LineFinder, problems: list[Problem]) -> Any:
    try:
        data = parse_yaml(read_text(path), display_path(path))
    except _FileProblem as e:
        problems.append(e.problem)
        return None
    record, found = _validate(model, data, path, lines)
    problems.extend(found)
    return record


def _check_version(config: WorkspaceConfig, path: Path) -> None:
    if config.schema_version > SCHEMA_VERSION:
        raise PtrackError(
            f"this workspace uses format version {config.schema_version}; this ptrack reads up to {SCHEMA_VERSION}",
            where=display_path(path),
            fix="Upgrade ptrack (pip install -U ptrack-urban; the PyPI name `ptrack` is another tool)",
        )


def load_regions(root: Path) -> list[Region]:
    """Only the workspace's own regions.yaml (for shell completion, which must answer at once)."""
    problems: list[Problem] = []
    regions = _load_file(root / REGIONS, RegionsFile, _LineFinder(), problems)
    return [r.to_region() for r in regions.regions] if regions is not None else []


def load_workspace(root: Path) -> Workspace:
    """Load and validate every file; raise WorkspaceInvalid listing every problem found."""
    lines = _LineFinder()
    problems: list[Problem] = []
    config = _load_file(root / MARKER, WorkspaceConfig, lines, problems)
    if config is not None:
        _check_version(config, root / MARKER)
    goals = _load_file(root / GOALS, GoalsFile, lines, problems)
    chapters = _load_file(root / CHAPTERS, ChaptersFile, lines, problems)
    regions = _load_file(root / REGIONS, RegionsFile, lines, problems)
    task_paths = sorted(p for p in root.iterdir() if _TASK_LIKE_RE.match(p.name))
    tasks: list[tuple[Path, Task]] = []
    for path in task_paths:
        if not TASK_FILE_RE.match(path.name):
            problems.append(Problem(display_path(path), None, None, "not a task file name: task files are T01.yaml ... T23.yaml"))
            continue
        task = _load_file(path, Task, lines, problems)
        if task is not None:
            tasks.append((path, task))
    own = [r.to_region() for r in regions.regions] if regions is not None else []
    if goals is not None and chapters is not None and regions is not None:
        # Cross-file checks run on what did load, so one broken file does not hide other problems.
        refs = _Refs(goals.goals, chapters.chapters, own, {p.stem for p in task_paths})
        problems.extend(_cross_check(refs, root, tasks, lines))
    if problems or config is None or goals is None or chapters is None or regions is None:
        raise WorkspaceInvalid(problems)
    return Workspace(root, config, goals.goals, chapters.chapters, own, [t for _, t in tasks])


@dataclass(frozen=True)
class TaskContext:
    """What a change to one task's records needs, read without the rest of the workspace: the workspace's
    configuration, the task's definition and the region registry (regions.yaml over the national divisions)."""

    root: Path
    config: WorkspaceConfig
    task: Task
    regions: Registry


def load_task_context(root: Path, task: str) -> TaskContext:
    """ptrack.yaml, regions.yaml and one task file (`T08`), validated; not the other tasks, goals or chapters, so a
    change costs the same in any workspace. Raises WorkspaceInvalid listing the problems of these files, and
    PtrackError when the task file is missing. `load_workspace` and `validate` check the rest."""
    lines = _LineFinder()
    problems: list[Problem] = []
    config = _load_file(root / MARKER, WorkspaceConfig, lines, problems)
    if config is not None:
        _check_version(config, root / MARKER)
    regions = _load_file(root / REGIONS, RegionsFile, lines, problems)
    path = root / f"{task}.yaml"
    if not path.is_file():
        raise PtrackError(f"task {task} is not in this workspace", where=str(root), fix="Run `ptrack validate`")
    definition = _load_file(path, Task, lines, problems)
    if definition is not None and definition.id != task:
        message = f"the file is {path.name} but the id is {definition.id}: rename one to match"
        problems.append(Problem(display_path(path), lines.line(path, ("id",)), _loc_text(("id",)), message))
    if problems or config is None or regions is None or definition is None:
        raise WorkspaceInvalid(problems)
    return TaskContext(root, config, definition, Registry([r.to_region() for r in regions.regions]))


@dataclass(frozen=True)
class _Refs:
    goals: list[Goal]
    chapters: list[Chapter]
    regions: list[Region]
    task_files: set[str]


def _cross_check(refs: _Refs, root: Path, tasks: list[tuple[Path, Task]], lines: _LineFinder) -> Iterator[Problem]:
    """What no single file can know: references between files, uniqueness, completeness."""

    def problem(path: Path, loc: tuple[int | str, ...], message: str) -> Problem:
        return Problem(display_path(path), lines.line(path, loc), _loc_text(loc) or None, message)

    regions_path, goals_path, chapters_path = root / REGIONS, root / GOALS, root / CHAPTERS
    seen: set[str] = set()
    registry = Registry(refs.regions)  # the national divisions and the workspace's own regions
    for i, r in enumerate(refs.regions):
        if r.code in seen:
            yield problem(regions_path, ("regions", i, "code"), f"region code {r.code} appears twice")
        seen.add(r.code)
    for i, r in enumerate(refs.regions):
        if r.parent is not None and not registry.has(r.parent):
            yield problem(regions_path, ("regions", i, "parent"), f"unknown region {r.parent}")
        for j, p in enumerate(r.provinces):
            if not registry.is_province(p):
                yield problem(regions_path, ("regions", i, "provinces", j), f"{p} is not a province in this registry")

    serves_ok: set[str] = set()
    for i, g in enumerate(refs.goals):
        if g.id in serves_ok:
            yield problem(goals_path, ("goals", i, "id"), f"goal {g.id} appears twice")
        serves_ok.add(g.id)
        for j, c in enumerate(g.components):
            ref = f"{g.id}.{c.key}"
            if ref in serves_ok:
                yield problem(goals_path, ("goals", i, "components", j, "key"), f"component {ref} appears twice")
            serves_ok.add(ref)

    chapter_labels = [c.label for c in refs.chapters]
    for i, label in enumerate(chapter_labels):
        if label in chapter_labels[:i]:
            yield problem(chapters_path, ("chapters", i, "label"), f"chapter {label} appears twice")

    indicator_ids: dict[str, str] = {}
    task_ids = {t.id for _, t in tasks} | refs.task_files
    for path, t in tasks:
        if path.stem != t.id:
            yield problem(path, ("id",), f"the file is {path.name} but the id is {t.id}: rename one to match")
        if t.chapter not in chapter_labels:
            yield problem(path, ("chapter",), f"unknown chapter {t.chapter}; chapters are {'、'.join(chapter_labels)}")
        for j, ref in enumerate(t.serves):
            if ref not in serves_ok:
                yield problem(path, ("serves", j), f"unknown goal or component {ref}; valid: {', '.join(sorted(serves_ok))}")
        if not registry.has(t.owner):
            yield problem(path, ("owner",), f"unknown region {t.owner} (see `ptrack regions`)")
        for j, ind in enumerate(t.indicators):
            if ind.id in indicator_ids:
                yield problem(path, ("indicators", j, "id"), f"indicator {ind.id} is also defined in {indicator_ids[ind.id]}")
            indicator_ids[ind.id] = path.name
            for k, other in enumerate(ind.also_tasks):
                if other not in task_ids:
                    yield problem(path, ("indicators", j, "also_tasks", k), f"unknown task {other}")
    missing = [task_id(n) for n in range(1, TASK_COUNT + 1) if task_id(n) not in refs.task_files]
    if missing:
        yield Problem(display_path(root), None, None, f"missing task files: {', '.join(m + '.yaml' for m in missing)}")


# ---------------------------------------------------------------------------------------------- region records

RECORDS = "records"


def record_path(root: Path, task: str, region: str) -> Path:
    """The national record is the task file itself; a region's record is records/<region>/<task>.yaml."""
    return root / f"{task}.yaml" if region == "CN" else root / RECORDS / region / f"{task}.yaml"


def _record_files(root: Path, regions: Iterable[str] | None) -> list[Path]:
    base = root / RECORDS
    if not base.is_dir():
        return []
    folders = sorted(p for p in base.iterdir() if p.is_dir()) if regions is None else [base / r for r in sorted(regions)]
    return [f for d in folders if d.is_dir() for f in sorted(d.iterdir()) if _TASK_LIKE_RE.match(f.name)]


def load_region_records(root: Path, regions: Iterable[str] | None = None, *, shallow: bool = False) -> list[RegionRecord]:
    """The region records of these regions (all when None), in file order; raise WorkspaceInvalid listing every problem.

    Read through the index (policy_tracker.index): only files changed since the last command are parsed.
    `shallow`: for listings that read only the top-level fields (status, owner ...); indicators, notes and
    history are left out, which saves most of the time on a large workspace.
    """
    from policy_tracker import index

    folders = None if regions is None else set(regions)

    def work(ix: index.Index) -> list[RegionRecord]:
        refresh_index(ix, folders)
        return list(ix.summaries(folders) if shallow else ix.records(folders))

    return index.run(root, work)


def region_records(root: Path, regions: Iterable[str] | None) -> Iterator[RegionRecord]:
    """`load_region_records`, one record at a time as the index gives them: none is held once the caller moves on.

    The index is brought up to date before this returns, so a broken file raises WorkspaceInvalid here, before
    the caller has written anything."""
    from policy_tracker import index

    folders = None if regions is None else set(regions)
    return _started(index.stream(root, lambda ix: refresh_index(ix, folders), lambda ix: ix.records(folders)))


def _started(rows: Iterator[_T]) -> Iterator[_T]:
    """`rows` with its first item already taken (and given back first): what a stream checks, it has checked."""
    first = list(itertools.islice(rows, 1))
    return itertools.chain(first, rows)


def region_records_as_of(root: Path, regions: Iterable[str] | None, moment: datetime.datetime) -> Iterator[AsOfRow]:
    """The region records of these regions (all when None), in file order, one at a time, each with only what an
    assessment at `moment` needs of its history (`index.Index.as_of`); raise WorkspaceInvalid listing every problem.

    Nothing is held from one record to the next, so memory does not grow with the workspace.
    """
    from policy_tracker import index

    folders = None if regions is None else set(regions)
    return index.stream(root, lambda ix: refresh_index(ix, folders), lambda ix: ix.as_of(folders, moment))


def region_records_existing(root: Path, regions: Iterable[str] | None, moment: datetime.datetime) -> list[tuple[str, str]]:
    """(task, region) of the region records of these regions (all when None) that existed at `moment`
    (`index.Index.existing`); raise WorkspaceInvalid listing every problem."""
    from policy_tracker import index

    folders = None if regions is None else set(regions)

    def work(ix: index.Index) -> list[tuple[str, str]]:
        refresh_index(ix, folders)
        return list(ix.existing(folders, moment))

    return index.run(root, work)


def region_records_as_of_by_task(
    root: Path, regions: Iterable[str] | None, moment: datetime.datetime, tasks: Sequence[str]
) -> Iterator[AsOfRow]:
    """`region_records_as_of` task by task in the order of `tasks`, each task's records by region: the order of a
    listing by task, streamed (the index is brought up to date once)."""
    from policy_tracker import index

    folders = None if regions is None else set(regions)

    def rows(ix: index.Index) -> Iterator[AsOfRow]:
        for task in tasks:
            yield from ix.as_of(folders, moment, task)

    return index.stream(root, lambda ix: refresh_index(ix, folders), rows)


def region_changes(
    root: Path, regions: Iterable[str] | None, since: datetime.datetime, until: datetime.datetime
) -> list[tuple[str, str, HistoryEntry]]:
    """(task, region, entry) of the region records' changes recorded in (since, until], newest first
    (`index.Index.changes_between`); raise WorkspaceInvalid listing every problem."""
    from policy_tracker import index

    folders = None if regions is None else set(regions)

    def work(ix: index.Index) -> list[tuple[str, str, HistoryEntry]]:
        refresh_index(ix, folders)
        return list(ix.changes_between(folders, since, until))

    return index.run(root, work)


def region_changes_streamed(
    root: Path, regions: Iterable[str] | None, since: datetime.datetime, until: datetime.datetime
) -> Iterator[tuple[str, str, HistoryEntry]]:
    """`region_changes` streamed from the index: no entry is held once the caller moves on (the index is brought up
    to date, and a broken file raised as WorkspaceInvalid, when the first entry is taken)."""
    from policy_tracker import index

    folders = None if regions is None else set(regions)
    return index.stream(root, lambda ix: refresh_index(ix, folders), lambda ix: ix.changes_between(folders, since, until))


def _refresh(ix: Index, folders: set[str] | None, lines: _LineFinder, problems: list[Problem]) -> list[Path]:
    """Bring the index up to date, noting every problem found; returns the left-over temporary files of the folders."""
    return listed.refresh(ix, folders, problems)


def _load_record(path: Path, raw: bytes) -> tuple[RegionRecord | None, list[Problem]]:
    """One region record's bytes, validated (for the index; it may run in a worker process), with its problems."""
    shown = display_path(path)
    lines = _LineFinder()
    try:
        data = parse_yaml(_decode(raw, shown), shown)
    except _FileProblem as e:
        return None, [e.problem]
    record, found = _validate(RegionRecord, data, path, lines)
    if record is not None and (record.task != path.stem or record.region != path.parent.name):
        # filed under the wrong path (a bad merge, a copy): refused, not read as the record of either place
        where = f"{RECORDS}/{record.region}/{record.task}.yaml"
        message = f"this is the record of {record.task} in {record.region}; it belongs at {where}"
        return None, [Problem(shown, lines.line(path, ("task",)), "task", message)]
    return record, found


def _odd_file(path: Path, mode: int) -> Problem:
    """Why a link, FIFO or device under records/ is not read (a FIFO would block, a device never end, a link could
    lead outside the workspace)."""
    if stat.S_ISLNK(mode):
        return Problem(display_path(path), None, None, "a symbolic link: ptrack reads records only as plain files")
    return Problem(display_path(path), None, None, f"not a regular file but {_file_kind(mode)}: remove it")


def with_records(ws: Workspace, work: Callable[[Callable[[str, str], Task | RegionRecord]], _T]) -> _T:
    """`work(current)`, where `current(task, region)` is the record as the files say (a new, empty one if none).

    For planning many changes (an import): each region's records are read from the index once, a few regions
    at a time, instead of parsing a file for every row. `work` must be pure: it may run twice.
    """
    from collections import OrderedDict

    from policy_tracker import index

    tasks = {t.id: t for t in ws.tasks}

    def run(ix: Index) -> _T:
        recent: OrderedDict[str, dict[str, RegionRecord]] = OrderedDict()  # a few folders: memory stays bounded

        def current(task: str, region: str) -> Task | RegionRecord:
            if region == "CN":
                return tasks[task]
            if region not in recent:
                refresh_index(ix, {region})
                recent[region] = {r.task: r for r in ix.records({region})}
                if len(recent) > 64:
                    recent.popitem(last=False)
            recent.move_to_end(region)
            found = recent[region].get(task)
            return found if found is not None else RegionRecord.model_validate(_new_region_record(task, region))

        return work(current)

    return index.run(ws.root, run)


def history(
    ws: Workspace,
    *,
    task: str | None = None,
    regions: Iterable[str] | None = None,
    since: datetime.date | None = None,
    by: str | None = None,
) -> Iterator[HistoryRow]:
    """`query.history_rows` of every record (national and region), filtered, newest first, streamed: the region
    records' entries come from the index in order, one at a time, so no command holds every history at once."""
    from policy_tracker import index, query

    wanted = None if regions is None else set(regions)
    national = query.history_rows([("CN", t) for t in ws.tasks], task=task, regions=wanted, since=since, by=by)

    def rows(ix: Index) -> Iterator[HistoryRow]:
        found = ix.history(task=task, folders=wanted, since=since, by=by)
        indexed = (query.HistoryRow(t, r, e) for t, r, e in found if wanted is None or r in wanted)
        return index.merge_history(national, indexed)

    return index.stream(ws.root, lambda ix: refresh_index(ix, wanted), rows)


def newest_change(ws: Workspace) -> str | None:
    """The change set `undo` reverts by default: the newest that changed something (a note alone has nothing to
    revert) and is neither an undo nor undone, so that a second undo steps further back, as in an editor. None
    when there is none. A migration is not skipped: undo then says it cannot revert it."""
    from policy_tracker import index, query

    national = query.history_rows([("CN", t) for t in ws.tasks])

    def work(ix: Index) -> str | None:
        refresh_index(ix, None)
        undone: set[str] = set()
        # newest first: an undo always comes before the change it undid
        for row in index.merge_history(national, (query.HistoryRow(*h) for h in ix.history())):
            if row.entry.undoes is not None:
                undone.add(row.entry.undoes)
            elif row.entry.changes and row.entry.change not in undone:
                return str(row.entry.change)
        return None

    return index.run(ws.root, work)


def change_entries(ws: Workspace, change: str) -> list[HistoryRow]:
    """The history entries of one change set, national records first, then region records in file order."""
    from policy_tracker import index, query

    national = [r for r in query.history_rows([("CN", t) for t in ws.tasks]) if r.entry.change == change]

    def work(ix: Index) -> list[HistoryRow]:
        refresh_index(ix, None)
        return [query.HistoryRow(*found) for found in ix.change_entries(change)]

    return national + index.run(ws.root, work)


def load_record(root: Path, task: str, region: str) -> Task | RegionRecord | None:
    """One record, fresh from disk; None when the region has no record for the task yet."""
    path = record_path(root, task, region)
    if region != "CN" and not path.exists():
        return None
    lines = _LineFinder()
    problems: list[Problem] = []
    record = _load_file(path, Task if region == "CN" else RegionRecord, lines, problems)
    if problems:
        raise WorkspaceInvalid(problems)
    return record  # type: ignore[no-any-return]


def validate_workspace(root: Path, only: Collection[str] | None = None) -> tuple[Workspace, int]:
    """Everything `load_workspace` checks, plus every region record; returns the workspace and the record count.

    `only`: check just these region records (paths relative to the workspace, as git prints them).
    """
    problems: list[Problem] = []
    try:
        ws = load_workspace(root)
    except WorkspaceInvalid as e:
        problems.extend(e.problems)
        ws = None
    from policy_tracker import index

    lines = _LineFinder()
    folders = None if only is None else {p.split("/")[1] for p in only if p.startswith(f"{RECORDS}/") and p.count("/") == 2}

    def wanted(path: Path) -> bool:
        return only is None or path.relative_to(root).as_posix() in only

    def work(ix: index.Index) -> tuple[list[Problem], int, list[Path]]:
        found: list[Problem] = []
        temp = _refresh(ix, folders, lines, found)
        if only is not None:  # a merge request's check: only the files it changed
            shown = {display_path(root / p) for p in only}
            found = [f for f in found if f.file in shown]
        if ws is not None:  # only the records the checks could fault come out of the index, in SQL
            indicators = {t.id: {i.id for i in t.indicators} for t in ws.tasks}
            good = ws.regions_by_code.keys() - RETIRED.keys() - {"CN"}
            suspects = ix.checked(ws.regions_by_code.keys(), good, indicators)
            found.extend(_check_records(ws, (c for c in suspects if wanted(c.path)), lines))
            found.extend(_conflict_problems(ws, root, ((p, r) for p, r in ix.conflicted() if wanted(p)), lines))
        return found, ix.count(), temp

    found, count, temp = index.run(root, work)
    problems.extend(found)
    if only is not None:  # the folders listed were those of the changed files: look at every folder
        temp = _temp_files(root)
    else:
        temp = sorted(p for p in root.iterdir() if listed.TMP_RE.match(p.name)) + temp
        temp = [p for p in temp if not p.name.startswith(journal.STAGING_PREFIX)]  # as `_temp_files`
    problems.extend(Problem(display_path(p), None, None, "left over from an interrupted write: delete it") for p in temp)
    if journal.pending(root):
        pending = display_path(root / journal.JOURNAL_DIR)
        problems.append(Problem(pending, None, None, "an interrupted change is pending: run `ptrack log` to complete it"))
    if problems or ws is None:
        raise WorkspaceInvalid(problems)
    return ws, count


def _temp_files(root: Path) -> list[Path]:
    folders = [root, *((root / RECORDS).glob("*") if (root / RECORDS).is_dir() else [])]
    staging = journal.STAGING_PREFIX  # an import being prepared (a stale one is deleted before validate runs)
    return sorted(
        p for d in folders if d.is_dir() for p in d.iterdir() if listed.TMP_RE.match(p.name) and not p.name.startswith(staging)
    )


def _conflict_problems(
    ws: Workspace, root: Path, records: Iterable[tuple[Path, RegionRecord]], lines: _LineFinder
) -> Iterator[Problem]:
    """Fields a git merge left for a person to choose (policy_tracker.merge)."""
    from policy_tracker.merge import conflict_messages

    files = [(root / f"{t.id}.yaml", t.id, "CN", t.conflicts) for t in ws.tasks if t.conflicts]
    files += [(p, r.task, r.region, r.conflicts) for p, r in records if r.conflicts]
    for path, task, region, conflicts in files:
        for i, (name, message) in enumerate(conflict_messages(conflicts, task, region)):
            yield Problem(display_path(path), lines.line(path, ("conflicts", i)), name, message)


def _check_records(ws: Workspace, records: Iterable[Checked], lines: _LineFinder) -> Iterator[Problem]:
    """What a merge can break in region records: misplaced or duplicate records, dangling regions, unknown indicators."""
    indicators = {t.id: {i.id for i in t.indicators} for t in ws.tasks}
    seen: dict[tuple[str, str], Path] = {}
    for r in records:
        path = r.path

        def problem(loc: tuple[int | str, ...], message: str, path: Path = path) -> Problem:
            return Problem(display_path(path), lines.line(path, loc), _loc_text(loc) or None, message)

        if r.task != path.stem or r.region != path.parent.name:
            yield problem(
                ("task",), f"this is the record of {r.task} in {r.region}; it belongs at {RECORDS}/{r.region}/{r.task}.yaml"
            )
        key = (r.task, r.region.casefold())
        if key in seen:
            yield problem(("region",), f"duplicate record: {display_path(seen[key])} is the same task and region")
        seen[key] = path
        if r.region in RETIRED:
            yield problem(("region",), f"region {r.region} is now {RETIRED[r.region]}: run `ptrack migrate-regions`")
        elif r.region not in ws.regions_by_code:
            yield problem(("region",), f"unknown region {r.region}: add it to regions.yaml or remove this record")
        if r.region == "CN":
            yield problem(("region",), f"the national record of {r.task} is {r.task}.yaml, not a region record")
        if r.owner is not None and r.owner not in ws.regions_by_code:
            yield problem(("owner",), f"unknown region {r.owner}")
        if r.task not in indicators:
            yield problem(("task",), f"unknown task {r.task}")
            continue
        for i, ind_id in enumerate(r.indicator_ids):
            if ind_id not in indicators[r.task]:
                yield problem(("indicators", i, "id"), f"task {r.task} defines no indicator {ind_id}")


# ---------------------------------------------------------------------------------------------- writing

LOCK_FILE = ".ptrack.lock"
LOCK_TIMEOUT_S = 600.0  # generous: a long import may hold the lock a while, and a waiting writer says it waits


class _LockTimeout(Exception):
    pass


@contextmanager
def locked(root: Path, timeout: float = LOCK_TIMEOUT_S, *, read_only_ok: bool = False) -> Iterator[None]:
    """One writer at a time per workspace, across processes (an OS lock: released even if the process dies).

    A writer that finds the lock taken says so on stderr and blocks in the OS until it is free, so waiting
    writers are woken by the release instead of polling for it (and losing the race to a busy writer).
    `read_only_ok`: in a workspace ptrack cannot write to (a read-only share), go on without the lock; for
    commands that only read, such as a dry run.
    """
    path = root / LOCK_FILE
    try:
        handle = _open_lock(path)
    except OSError as e:
        if read_only_ok and e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            yield
            return
        raise PtrackError(f"cannot lock the workspace: {e.strerror}", where=display_path(path)) from None
    try:
        if not _try_lock(handle):
            logging.getLogger(__name__).warning("Waiting for another ptrack that is writing to this workspace ...")
            try:
                _wait_for_lock(handle, timeout)
            except _LockTimeout:
                raise PtrackError(
                    f"another ptrack has been writing to this workspace for over {timeout:.0f} s",
                    where=display_path(path),
                    fix="Wait for it to finish and run the command again",
                ) from None
        yield
    finally:
        _unlock(handle)
        handle.close()


def _open_lock(path: Path) -> IO[bytes]:
    return open(path, "a+b")  # held for the whole block by the caller


def _wait_for_lock(handle: IO[bytes], timeout: float) -> None:
    """Block until the lock is ours; _LockTimeout after `timeout` seconds."""
    if sys.platform == "win32" or threading.current_thread() is not threading.main_thread():
        deadline = time.monotonic() + timeout  # no blocking lock with a timeout here: poll
        while not _try_lock(handle):
            if time.monotonic() > deadline:
                raise _LockTimeout
            time.sleep(0.01)
        return

    def expire(_signum: int, _frame: Any) -> None:
        raise _LockTimeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        _lock_blocking(handle)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(handle: IO[bytes]) -> bool:
        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _lock_blocking(handle: IO[bytes]) -> None:
        msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)

    def _unlock(handle: IO[bytes]) -> None:
        with suppress(OSError):
            msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(handle: IO[bytes]) -> bool:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _lock_blocking(handle: IO[bytes]) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)

    def _unlock(handle: IO[bytes]) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def atomic_write(path: Path, text: str | bytes | Iterable[bytes], expected: bytes | None) -> None:
    """Replace `path` with `text` so that a crash leaves the old file or the new one, never a torn one.

    `expected` is what the file held when it was read (None: it did not exist); if something else wrote it
    since, nothing is written. `text` may come in pieces (an export streamed from the index).
    """
    data = text.encode("utf-8") if isinstance(text, str) else text  # bytes: a Word file or a workbook
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as f:
            if isinstance(data, bytes):
                f.write(data)
            else:
                f.writelines(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        current = path.read_bytes() if path.exists() else None
        if current != expected:
            raise PtrackError(
                f"{display_path(path)} was changed by another program while ptrack was writing it",
                fix="Nothing was written to it; check the file and run the command again",
            )
        os.replace(tmp, path)
    except OSError as e:
        raise PtrackError(
            f"cannot write {display_path(path)}: {e.strerror}",
            fix="The file is as it was; free some space or fix the permissions",
        ) from None
    finally:
        with suppress(FileNotFoundError):
            tmp.unlink()
    journal.fsync_dir(path.parent)


def write_output(path: Path, data: bytes | Iterable[bytes]) -> None:
    """Write an export or a report to a file the user named, atomically, with one clear error if it cannot be
    (see `check_output` for what is refused). A link to an ordinary file is written through, to its target."""
    target, existed = check_output(path)
    try:
        before = target.read_bytes() if existed else None
    except OSError as e:
        raise PtrackError(f"cannot read {path}: {e.strerror}") from None
    atomic_write(target, data, before)


def check_output(path: Path) -> tuple[Path, bool]:
    """Where an -o path ends (links resolved) and whether it exists, or PtrackError before anything is read or
    written: a folder; anything that is not a regular file (a device such as /dev/null, which ptrack would
    replace with a file, or a FIFO, which would hang); a missing folder (a typo must not make folders); a file
    belonging to a ptrack workspace (records, task files, configuration, lock, journal), also through a link."""
    try:
        st = os.stat(path)  # follows links: what the name ends at; never opens it, so a FIFO cannot block
    except FileNotFoundError:
        st = None
    except OSError as e:
        raise PtrackError(f"cannot write {path}: {e.strerror}") from None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise PtrackError(f"{path} is a folder", fix="Give a file name, e.g. -o report.md")
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise PtrackError(
            f"{path} is not a regular file but {_file_kind(st.st_mode)}",
            fix="Give the name of a new or ordinary file, e.g. -o report.md (to discard the output, leave out -o)",
        )
    target = path.resolve()
    owner = _workspace_owning(target)
    if owner is not None:
        raise PtrackError(
            f"{path} is a file of the ptrack workspace {owner}; -o never overwrites a workspace's own files",
            fix="Write the output to another name, e.g. -o report.md",
        )
    if not target.parent.is_dir():
        raise PtrackError(f"the folder {path.parent} does not exist", fix="Create it first, or write to an existing folder")
    return target, st is not None


def _file_kind(mode: int) -> str:
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def _workspace_owning(target: Path) -> Path | None:
    """The workspace whose own file `target` (a resolved path) is, if any: its marker, dataset files, task files,
    records, and ptrack's lock, journal and cache. Other files in a workspace folder (a report) are the user's."""
    for folder in target.parents:
        if not (folder / MARKER).is_file():
            continue
        first, *rest = target.relative_to(folder).parts
        if first in (RECORDS, journal.JOURNAL_DIR) or first.startswith(".ptrack"):
            return folder
        if not rest and (first in DATASET_FILES or _TASK_LIKE_RE.match(first) or first == ".gitignore"):
            return folder
    return None


@functools.cache
def _round_trip() -> Any:
    """ruamel.yaml, set to keep comments, key order and quoting: an update changes only the lines it must."""
    from ruamel.yaml import YAML

    rt = YAML()
    rt.preserve_quotes = True
    rt.width = 4096  # never re-wrap long text: a changed value is a changed line, nothing more
    rt.indent(mapping=2, sequence=2, offset=0)
    rt.representer.add_representer(type(None), lambda r, _: r.represent_scalar("tag:yaml.org,2002:null", "null"))
    rt.representer.add_representer(str, _represent_str)
    return rt


_YAML11 = yaml.resolver.Resolver()  # PyYAML's default: YAML 1.1, as most CI tools and scripts read
_YAML11_EXTRA = re.compile(r"^(?:y|Y|n|N)$")  # booleans in the 1.1 spec that PyYAML leaves out


def _represent_str(representer: Any, data: str) -> Any:
    """A string written plain only when every YAML reader reads it back as that string: `NO`, `on`, `12:30` are
    text to ptrack (YAML 1.2) but False, True and 750 to a YAML 1.1 reader, so they are quoted."""
    node = type(representer).represent_str(representer, data)
    tag = _YAML11.resolve(yaml.ScalarNode, data, (True, False))  # type: ignore[no-untyped-call]
    if not node.style and (tag != "tag:yaml.org,2002:str" or _YAML11_EXTRA.match(data)):
        node.style = "'"
    return node


def dump_yaml(data: Any) -> str:
    buf = io.StringIO()
    _round_trip().dump(data, buf)
    return buf.getvalue()


def _set(doc: Any, key: str, value: Any, before: str) -> None:
    """Set a key, placing a new one before `before` so that a record keeps a readable order."""
    if key in doc or before not in doc:
        doc[key] = value
    elif isinstance(doc, dict) and not hasattr(doc, "insert"):  # a new record, plain data: rebuild it in order
        items = list(doc.items())
        at = list(doc).index(before)
        doc.clear()
        doc.update([*items[:at], (key, value), *items[at:]])
    else:
        doc.insert(list(doc).index(before), key, value)


def _block(seq: Any) -> Any:
    # `history: []` is a flow sequence; entries appended to it must not be written inline.
    if hasattr(seq, "fa"):
        seq.fa.set_block_style()
    return seq


def _apply(doc: Any, changes: list[Change]) -> None:
    for change in changes:
        if change.field in ("status", "owner", "rating", "region", "next_steps"):
            if change.new is None:
                doc.pop(change.field, None)
            else:
                before = {"owner": "lead_units", "region": "revision"}.get(change.field, "owner")
                _set(doc, change.field, change.new, before=before)
            continue
        figure = parse_figure_field(change.field)
        if figure is not None:  # a baseline or the list of targets, set anew
            _apply_figure(doc, figure[0], figure[1], change.new)
            continue
        parsed = parse_observation_field(change.field)
        if parsed is None:  # pragma: no cover - plans only hold the fields above
            raise ValueError(change.field)
        indicator, date = parsed
        if "indicators" not in doc:
            _set(doc, "indicators", [], before="history")
        indicators = _block(doc["indicators"])
        data = next((i for i in indicators if i.get("id") == indicator), None)
        if data is None:
            data = {"id": indicator, "observations": []}
            indicators.append(data)
        observations = _block(data.setdefault("observations", []))
        at = next((k for k, o in enumerate(observations) if str(o.get("date")) == date), None)
        if at is not None:
            del observations[at]
        if change.new is not None:
            position = sum(1 for o in observations if str(o.get("date")) < date)  # keep them in date order
            observations.insert(position, change.new)
    resolved = {c.field for c in changes}
    if "conflicts" in doc:  # a value recorded for a field a merge left in conflict is the person's choice
        for i in reversed(range(len(doc["conflicts"]))):
            if doc["conflicts"][i].get("field") in resolved:
                del doc["conflicts"][i]
        if not doc["conflicts"]:
            del doc["conflicts"]
    _set(doc, "revision", int(doc.get("revision", 0)) + 1, before="status")


def _apply_figure(doc: Any, kind: str, indicator: str, value: Any) -> None:
    if "indicators" not in doc:
        _set(doc, "indicators", [], before="history")
    indicators = _block(doc["indicators"])
    data: Any = next((i for i in indicators if i.get("id") == indicator), None)
    if data is None:
        data = {"id": indicator}
        indicators.append(data)
    if value is None:
        data.pop(kind, None)
    else:
        _set(data, kind, value, before="observations")  # plain data or the round-trip writer's map


_HISTORY_KEY = re.compile(r"^history:[ \t]*(\[\][ \t]*)?(#.*)?$", re.M)


def _split_history(text: str) -> tuple[str, str] | None:
    """The text before a record's history and the history itself, when the history comes last.

    Years of history make a record long, and the round-trip writer is slow on long files: only the part
    before `history:` goes through it, and a new entry is appended to the history as text.
    """
    found = list(_HISTORY_KEY.finditer(text))
    if len(found) != 1:
        return None
    rest = text[found[0].end() :]
    if any(line and not line.startswith((" ", "-", "#")) for line in rest.splitlines()):
        return None  # another top-level key follows the history: rewrite the whole file
    start = found[0].start()
    # comments and blank lines just above `history:` stay with it (the round-trip writer would attach them to
    # the last field before it, and a new indicator would then come after them)
    head = text[:start].splitlines(keepends=True)
    while head and _COMMENT_LINE.match(head[-1]):
        start -= len(head.pop())
    return text[:start], text[start:]


_COMMENT_LINE = re.compile(r"^[ \t]*(#.*)?\r?\n?$")


def _with_entry(history: str, entry: HistoryEntry) -> str:
    item = dump_plain([entry.model_dump(mode="json", exclude_none=True)])  # new text: nothing to round-trip
    key = _HISTORY_KEY.search(history)
    if key is not None and key[1]:  # `history: []`, perhaps with a comment, which stays
        history = history[: key.start()] + "history:" + (f"  {key[2]}" if key[2] else "") + history[key.end() :]
    return history + ("" if history.endswith("\n") else "\n") + item


def _plain_head(head: str, read: Any = None) -> dict[str, Any] | None:
    """The head of a record as plain data, when writing it back plainly gives the same text (no comments, ptrack's
    own layout, as ptrack writes and most records are); else None. libyaml reads and writes it many times faster than
    the round-trip writer, and the result is the same text that writer would produce. `read`: the whole record's
    data, already read, whose keys before its history are the head's (the text comparison proves it)."""
    if "#" in head:
        return None
    if isinstance(read, dict) and list(read)[-1:] == ["history"]:
        data: Any = {k: v for k, v in read.items() if k != "history"}  # no second parse
    else:
        try:
            data = parse_yaml(head, "")
        except _FileProblem:
            return None
    return data if isinstance(data, dict) and dump_plain(data) == head else None


def _rewrite(before: str, changes: list[Change], entry: HistoryEntry, read: Any = None) -> str:
    """`before` with `changes` applied and `entry` added to its history; `read`: its data, if already parsed (changed)."""
    parts = _split_history(before)
    if parts is not None:
        head, history = parts
        doc = _plain_head(head, read)
        if doc is None:  # comments or a layout of its own to keep: the round-trip writer
            doc = _round_trip().load(head)
        _apply(doc, changes)
        return (dump_yaml(doc) if hasattr(doc, "fa") else dump_plain(doc)) + _with_entry(history, entry)
    doc = _round_trip().load(before)
    _apply(doc, changes)
    if "history" not in doc:
        doc["history"] = []
    _block(doc["history"]).append(entry.model_dump(mode="json", exclude_none=True))
    return dump_yaml(doc)


def empty_record(task: str, region: str) -> RegionRecord:
    """The record of a region that has none yet for this task."""
    return RegionRecord.model_validate(_new_region_record(task, region))


def record_from_bytes(path: Path, raw: bytes, task: str, region: str) -> Task | RegionRecord:
    """The record a file's bytes hold (a task file when `region` is CN); raise WorkspaceInvalid if it is broken."""
    return _parse_record(path, _record_text(raw, path), task, region)


def record_bytes(path: Path) -> bytes:
    """A record file's bytes, read as every command reads them (bounded, regular files only)."""
    return _record_bytes(path)


def _new_region_record(task: str, region: str) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "task": task,
        "region": region,
        "revision": 0,
        "status": "not_started",
        "history": [],
    }


if getattr(yaml, "__with_libyaml__", False):
    from yaml.cyaml import CEmitter  # type: ignore[attr-defined]

    class _PlainDumper(CEmitter, SafeRepresenter, _Resolver):
        """libyaml's emitter with ptrack's YAML 1.2 resolver: a string is quoted exactly when ptrack would read it as
        something else (`'2026'`, `'1e3'`, `'true'`), and only then."""

        def __init__(self, stream: Any, **kwargs: Any) -> None:
            CEmitter.__init__(self, stream, allow_unicode=kwargs.get("allow_unicode"), width=kwargs.get("width"))
            SafeRepresenter.__init__(self, default_style=None, default_flow_style=False, sort_keys=False)
            _Resolver.__init__(self)

        def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
            # Asked for every key and scalar written, each time through a dozen regular expressions; keys, dates and
            # ids repeat across thousands of records (an import), so the answers are kept (bounded).
            if kind is not ScalarNode or len(value) > 32:
                return super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]
            key = (value, implicit)
            found = _RESOLVED.get(key)
            if found is None:
                if len(_RESOLVED) > 20_000:
                    _RESOLVED.clear()
                found = _RESOLVED[key] = super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]
            return found

    _RESOLVED: dict[tuple[str, Any], str] = {}

else:  # pragma: no cover - PyYAML without libyaml
    from yaml.emitter import Emitter
    from yaml.serializer import Serializer

    class _PlainDumper(Emitter, Serializer, SafeRepresenter, _Resolver):  # type: ignore[no-redef]
        def __init__(self, stream: Any, **kwargs: Any) -> None:
            Emitter.__init__(self, stream, allow_unicode=kwargs.get("allow_unicode"), width=kwargs.get("width"))
            Serializer.__init__(self)
            SafeRepresenter.__init__(self, default_style=None, default_flow_style=False, sort_keys=False)
            _Resolver.__init__(self)


# Times stay quoted, as the round-trip writer quotes them: a YAML 1.1 reader would make them timestamps.
_PlainDumper.add_implicit_resolver(
    "tag:yaml.org,2002:timestamp",
    re.compile(
        r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}"
        r"(?:(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?"
        r"(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?)?$"
    ),
    list("0123456789"),
)


# And every other scalar a YAML 1.1 reader (PyYAML's default, most CI tools) reads as something else than the
# text ptrack means: `NO`, `on` (booleans), `12:30` (sexagesimal 750) are quoted, as the round-trip writer does.
for _first, _resolvers in yaml.resolver.Resolver.yaml_implicit_resolvers.items():
    for _tag, _regexp in _resolvers:
        _PlainDumper.add_implicit_resolver(_tag, _regexp, [_first])
_PlainDumper.add_implicit_resolver("tag:yaml.org,2002:bool", _YAML11_EXTRA, list("yYnN"))


def dump_plain(data: Any) -> str:
    """Plain data as block YAML in the round-trip writer's layout, without it: for text that has no comments yet."""
    return yaml.dump(data, Dumper=_PlainDumper, allow_unicode=True, width=4096)


def _new_record_text(task: str, region: str, changes: list[Change], entry: HistoryEntry) -> str:
    """A new region record holding one change set: plain data, no round trip (it has no comments to keep)."""
    doc = _new_region_record(task, region)
    del doc["history"]
    _apply(doc, changes)
    return dump_plain(doc) + "history:\n" + dump_plain([entry.model_dump(mode="json", exclude_none=True)])


@dataclass
class Written:
    """One record a change set touched: where, its history entry, its text before and after (line ends as
    `\n`), and the bytes on disk before (None: no file) and after (the file's BOM and CRLF line ends kept)."""

    path: Path
    entry: HistoryEntry
    before: str | None
    after: str
    old: bytes | None = None
    new: bytes = b""


def recover_interrupted(root: Path) -> str | None:
    """Complete or roll back a change set a crash interrupted (see `journal`); one line saying which, or None.

    The staged files of an import killed while preparing (no record was touched yet) are deleted too."""
    journal.clean_stale_staging(root)
    if not journal.pending(root):
        return None
    with locked(root):
        return journal.recover(root)


def change_records(
    root: Path,
    targets: list[tuple[str, str]],
    plan: Callable[[Task | RegionRecord], RecordChange],
    stamp: Stamp,
    *,
    dry_run: bool = False,
) -> list[Written]:
    """Plan, validate and write one change set over (task, region) records, as one locked transaction.

    `plan` sees each record as it is on disk inside the lock, so concurrent writers never lose each
    other's updates. Every new text is validated before anything is written; records with no change are
    left alone. The records are written all or none, through the write-ahead journal (`journal`): a crash,
    a full disk or a signal leaves the workspace wholly before or wholly after the change set. Raises
    PtrackError (nothing written), or Interrupted saying which of the two states a signal left.
    """
    with locked(root, read_only_ok=dry_run):
        recovered = journal.recover(root) if not dry_run else None
        if recovered:
            logging.getLogger(__name__).warning(recovered)
        staged: list[Written] = []
        for task, region in targets:
            path = record_path(root, task, region)
            old = _record_bytes(path) if path.exists() else None
            if old is None and region == "CN":
                raise PtrackError(f"task file {display_path(path)} is missing", fix="Run `ptrack validate`")
            before = _record_text(old, path) if old is not None else None
            current, read = _read_record(path, before, task, region)
            record_plan = plan(current)
            if not record_plan.changes and not record_plan.note:  # a note alone is a change: it is recorded
                continue
            entry = history_entry(record_plan, stamp)
            if before is None:
                after = _new_record_text(task, region, record_plan.changes, entry)
            else:
                after = _rewrite(before, record_plan.changes, entry, read)
            _parse_record(path, after, task, region)  # never write what would not load
            staged.append(Written(path, entry, before, after, old, _encode_like(after, old)))
            _check_size(staged[-1], undo=stamp.undoes is not None)
        if not dry_run:
            journal.apply_change_set(root, [journal.FileChange(w.path, w.old, w.new) for w in staged], change=stamp.change)
        return staged


def prepare_change(
    root: Path,
    task: str,
    region: str,
    raw: bytes | None,
    indexed: RegionRecord | None,
    plan: Callable[[Task | RegionRecord], RecordChange],
    stamp: Stamp,
) -> Written | None:
    """One record's change of a long change set (an import), prepared from its bytes `raw` (None: no file) without
    the lock; None when the plan changes nothing. Raises as `change_records`.

    `indexed`: the index's copy of the record when the index says it holds exactly `raw` (see
    `index.content_hash`). A record in ptrack's own layout is then neither parsed nor re-read: the plan sees the
    indexed copy, the part before the history is written from it (checked to give back the file's own text),
    the new history entry is appended as text, and the result is validated as data (libyaml reads that text
    back as this data). Any other record is parsed and its new text parsed again, as `change_records` does.
    """
    path = record_path(root, task, region)
    if raw is None and region == "CN":
        raise PtrackError(f"task file {display_path(path)} is missing", fix="Run `ptrack validate`")
    before = _record_text(raw, path) if raw is not None else None
    own = _own_layout(before, indexed) if before is not None and indexed is not None else None
    current = indexed if own is not None and indexed is not None else _parse_record(path, before, task, region)
    record_plan = plan(current)
    if not record_plan.changes and not record_plan.note:
        return None
    entry = history_entry(record_plan, stamp)
    if before is None:
        after = _new_record_text(task, region, record_plan.changes, entry)
        _parse_record(path, after, task, region)
    elif own is not None:
        head, history_text = own
        _apply(head, record_plan.changes)
        after = dump_plain(head) + _with_entry(history_text, entry)
        entries = [h.model_dump(mode="json", exclude_none=True) for h in current.history]
        data = {**head, "history": [*entries, entry.model_dump(mode="json", exclude_none=True)]}
        _, problems = _validate(RegionRecord, data, path, _LineFinder())  # never write what would not load
        if problems:
            raise WorkspaceInvalid(problems)
    else:
        after = _rewrite(before, record_plan.changes, entry)
        _parse_record(path, after, task, region)  # never write what would not load
    written = Written(path, entry, before, after, raw, _encode_like(after, raw))
    _check_size(written, undo=stamp.undoes is not None)
    return written


_LEADING = ("schema_version", "task", "region", "revision", "status")  # always written, even at their defaults


def _own_layout(text: str, record: RegionRecord) -> tuple[dict[str, Any], str] | None:
    """(the part of `text` before the history as data, the history as text) when that part is exactly what ptrack
    writes for `record` (no comments, ptrack's key order and quoting); else None."""
    parts = _split_history(text)
    if parts is None or "#" in parts[0]:
        return None
    data = record.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    data.pop("history", None)
    head = {key: getattr(record, key) for key in _LEADING}
    head.update((k, v) for k, v in data.items() if k not in head)
    return (head, parts[1]) if dump_plain(head) == parts[0] else None


@dataclass
class Migration:
    """What `migrate_regions` changes: the records moved or re-owned, and the registry entries it drops."""

    written: list[Written]
    moved: list[tuple[Path, Path]]  # (old path, new path) of each record moved to its region's canonical code
    dropped: list[str]  # retired codes taken out of the workspace's regions.yaml


def migrate_regions(root: Path, retired: dict[str, str], stamp: Stamp, *, dry_run: bool = False) -> Migration:
    """Move every record kept under a retired region code to the canonical code, as one change set.

    records/310000/T08.yaml becomes records/31/T08.yaml with `region: '31'` and a history entry recording the
    move; an `owner` with a retired code is changed the same way (task files included); entries of
    regions.yaml with a retired code are removed. All of it is one journaled change set: wholly or not at all.
    Refused, with nothing written, when a record exists under both codes (merge them by hand first).
    """
    with locked(root):
        recovered = journal.recover(root)
        if recovered:
            logging.getLogger(__name__).warning(recovered)
        written: list[Written] = []
        files: list[journal.FileChange] = []
        moved: list[tuple[Path, Path]] = []
        note = "region codes migrated: " + ", ".join(f"{old} → {new}" for old, new in retired.items())
        paths = [root / f"{task_id(n)}.yaml" for n in range(1, TASK_COUNT + 1)] + _record_files(root, None)
        for path in paths:
            if not path.is_file():
                continue
            old = _record_bytes(path)
            before = _record_text(old, path)
            region = path.parent.name if path.parent.parent == root / RECORDS else "CN"
            record = _parse_record(path, before, path.stem, region)
            changes = []
            target = path
            if region in retired:
                target = record_path(root, path.stem, retired[region])
                if target.exists():
                    raise PtrackError(
                        f"{display_path(path)} and {display_path(target)} are records of one place",
                        fix="Merge them by hand into the second and delete the first, then run migrate-regions again",
                    )
                changes.append(Change(field="region", old=region, new=retired[region]))
            if record.owner is not None and record.owner in retired:
                changes.append(Change(field="owner", old=record.owner, new=retired[record.owner]))
            if not changes:
                continue
            entry = history_entry(RecordChange(path.stem, region, changes, note=note), stamp)
            after = _rewrite(before, changes, entry)
            _parse_record(target, after, path.stem, retired.get(region, region))  # never write what would not load
            new = _encode_like(after, old)
            written.append(Written(target, entry, before, after, None if target != path else old, new))
            if target == path:
                files.append(journal.FileChange(path, old, new))
            else:
                files += [journal.FileChange(target, None, new), journal.FileChange(path, old, None)]
                moved.append((path, target))
        dropped = _drop_retired(root, retired, files)
        if not dry_run:
            journal.apply_change_set(root, files, change=stamp.change)
            for old_path, _ in moved:
                with suppress(OSError):
                    old_path.parent.rmdir()  # the retired code's folder, once empty
        return Migration(written, moved, dropped)


def _drop_retired(root: Path, retired: dict[str, str], files: list[journal.FileChange]) -> list[str]:
    """Take the entries with retired codes out of regions.yaml (their lines only), adding the file to `files`."""
    path = root / REGIONS
    old = path.read_bytes()
    text = old.decode("utf-8-sig")
    pattern = re.compile(r"^- \{code: '?(" + "|".join(re.escape(c) for c in retired) + r")'?,.*\n", re.M)
    dropped = [m[1] for m in pattern.finditer(text)]
    if dropped:
        files.append(
            journal.FileChange(path, old, (_BOM if old.startswith(_BOM) else b"") + pattern.sub("", text).encode("utf-8"))
        )
    return dropped


_BOM = b"\xef\xbb\xbf"


def _check_size(w: Written, *, undo: bool) -> None:
    """Never write what the reader would refuse; a change leaves room for its undo, so undo always works."""
    limit = MAX_RECORD_BYTES if undo else MAX_RECORD_BYTES - UNDO_RESERVE_BYTES
    if len(w.new) > limit:
        raise PtrackError(
            f"{display_path(w.path)} would be {len(w.new):,} bytes, over the {limit:,} a record may hold",
            fix="Nothing was written. Its history is too long for one file: ask the maintainers to archive it",
        )


def _record_bytes(path: Path) -> bytes:
    try:
        return read_bytes(path)
    except _FileProblem as e:
        raise WorkspaceInvalid([e.problem]) from None


def _record_text(raw: bytes, path: Path) -> str:
    """A record's text with `\n` line ends, whatever the file uses."""
    try:
        text = _decode(raw, display_path(path))
    except _FileProblem as e:
        raise WorkspaceInvalid([e.problem]) from None
    return text.replace("\r\n", "\n") if _crlf(raw) else text


def _crlf(raw: bytes) -> bool:
    return b"\r\n" in raw and raw.count(b"\r\n") == raw.count(b"\n")


def _encode_like(text: str, old: bytes | None) -> bytes:
    """New text in the old file's conventions: its byte-order mark and CRLF line ends stay as they were."""
    if old is None:
        return text.encode("utf-8")
    if _crlf(old):
        text = text.replace("\n", "\r\n")
    return (_BOM if old.startswith(_BOM) else b"") + text.encode("utf-8")


def _parse_record(path: Path, text: str | None, task: str, region: str) -> Task | RegionRecord:
    return _read_record(path, text, task, region)[0]


def _read_record(path: Path, text: str | None, task: str, region: str) -> tuple[Task | RegionRecord, Any]:
    """A record's text validated: the record, and the data it was read from (None for a record not yet written)."""
    if text is None:
        return RegionRecord.model_validate(_new_region_record(task, region)), None
    model: type[Task | RegionRecord] = Task if region == "CN" else RegionRecord
    lines = _LineFinder()
    data = None
    try:
        data = parse_yaml(text, display_path(path))
        record, problems = _validate(model, data, path, lines)
    except _FileProblem as e:
        problems = [e.problem]
    if problems:
        raise WorkspaceInvalid(problems)
    return record, data


def merged_record_text(ours: str, values: dict[str, Any]) -> str:
    """`ours` (a record's text) holding `values` as its top-level keys: keys whose value is unchanged keep their
    lines and comments; a new key goes before the history (the merge driver's writer)."""
    import json

    current = parse_yaml(ours, "the merged record")
    doc = _round_trip().load(ours)
    for key in [k for k in doc if k not in values]:
        del doc[key]
    for key, value in values.items():
        if not isinstance(current, dict) or key not in current or current[key] != value:
            # a fresh copy: a value shared between two places would be written as a YAML alias, which ptrack refuses
            _set(doc, key, json.loads(json.dumps(value)), before="history")
    return dump_yaml(doc)


def read_merge_side(path: Path) -> tuple[str, dict[str, Any]] | None:
    """One version git hands the merge driver: its text and data; an empty file is {}; None when not a YAML mapping."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
        data = parse_yaml(text, str(path)) if text.strip() else {}
    except (OSError, UnicodeDecodeError, _FileProblem):
        return None
    return (text, data) if isinstance(data, dict) else None


def check_record_text(path: Path, text: str) -> list[Problem]:
    """The problems that would stop `text` loading as the record at `path` (a task file or a region record)."""
    try:
        data = parse_yaml(text, display_path(path))
    except _FileProblem as e:
        return [e.problem]
    region = str(data.get("region", "CN")) if isinstance(data, dict) else "CN"
    task = str(data.get("task") or data.get("id")) if isinstance(data, dict) else ""
    try:
        _parse_record(path, text, task, region)
    except WorkspaceInvalid as e:
        return e.problems
    return []
