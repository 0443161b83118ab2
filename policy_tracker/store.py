"""The workspace on disk: find it, read its YAML safely, validate it into models. The only YAML code."""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import BaseResolver

from policy_tracker.errors import Problem, PtrackError, WorkspaceInvalid
from policy_tracker.models import (
    SCHEMA_VERSION,
    TASK_COUNT,
    Chapter,
    ChaptersFile,
    Goal,
    GoalsFile,
    Region,
    RegionsFile,
    Task,
    Workspace,
    WorkspaceConfig,
    task_id,
)

MARKER = "ptrack.yaml"
GOALS, CHAPTERS, REGIONS = "goals.yaml", "chapters.yaml", "regions.yaml"
DATASET_FILES = (MARKER, GOALS, CHAPTERS, REGIONS)
TASK_FILE_RE = re.compile(r"^T\d{2}\.yaml$")
_TASK_LIKE_RE = re.compile(r"^[Tt]\d+\.ya?ml$")  # names someone meant as a task file
MAX_FILE_BYTES = 2 * 1024 * 1024  # a task record with years of history stays far below this
ENV_DATA = "PTRACK_DATA"

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
    shown = display_path(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise _FileProblem(Problem(shown, None, None, f"file is {size:,} bytes, over the {MAX_FILE_BYTES:,} limit"))
        raw = path.read_bytes()
    except OSError as e:
        raise _FileProblem(Problem(shown, None, None, f"cannot read: {e.strerror}")) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise _FileProblem(Problem(shown, line, None, "not UTF-8 text: save the file as UTF-8")) from None


def parse_yaml(text: str, shown: str) -> Any:
    """Safe-load one YAML document; every refusal becomes a Problem with its line."""
    try:
        loader = _Loader(text)  # built on SafeConstructor: no Python objects, ever
        try:
            data = loader.get_single_data()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as e:
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


def _error_message(err: ErrorDetails) -> str:
    kind, value = err["type"], err.get("input")
    if kind == "extra_forbidden":
        return "unknown field: remove it or check its spelling (`ptrack schema` lists the fields)"
    if kind == "missing":
        return "required field is missing"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"expected fields (name: value), got {type(value).__name__}"
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
        return model.model_validate(data), []
    except ValidationError as e:
        problems = []
        for err in e.errors():
            loc = err["loc"]
            problems.append(Problem(display_path(path), lines.line(path, loc), _loc_text(loc) or None, _error_message(err)))
        return None, problems


# ---------------------------------------------------------------------------------------------- finding it


@dataclass(frozen=True)
class Location:
    root: Path
    reason: str
    created: bool = False


def bundled_dataset() -> Path:
    """The dataset shipped in the package (wheel) or, in a source checkout, the repository's tasks/."""
    here = Path(__file__).resolve().parent
    packaged = here / "_bundled"
    return packaged if (packaged / MARKER).is_file() else here.parent / "tasks"


def user_data_dir() -> Path:
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "ptrack" / "workspace"


def _check_workspace_dir(path: Path, how: str) -> Path:
    if not path.exists():
        raise PtrackError(f"no such directory: {path}", where=how, fix=f"Create a workspace with `ptrack init {path}`")
    if not path.is_dir():
        raise PtrackError(f"not a directory: {path}", where=how, fix="Give the folder that holds ptrack.yaml")
    if not (path / MARKER).is_file():
        raise PtrackError(
            f"{path} is not a ptrack workspace (no {MARKER})",
            where=how,
            fix=f"Create one with `ptrack init {path}`, or point at the folder that holds {MARKER}",
        )
    return path.resolve()


def find_workspace(data: Path | None = None, *, create: bool = True) -> Location:
    """--data, else $PTRACK_DATA, else the nearest enclosing workspace, else the per-user one (made on first use)."""
    if data is not None:
        return Location(_check_workspace_dir(data, "from --data"), "given with --data")
    env = os.environ.get(ENV_DATA)
    if env:
        return Location(_check_workspace_dir(Path(env), f"from ${ENV_DATA}"), f"given by ${ENV_DATA}")
    cwd = Path.cwd()
    for folder in (cwd, *cwd.parents):
        if (folder / MARKER).is_file():
            return Location(folder, f"the nearest folder holding {MARKER}, from {cwd}")
    user = user_data_dir()
    if (user / MARKER).is_file():
        return Location(user, "your per-user workspace (no --data, no $PTRACK_DATA, no ptrack.yaml above here)")
    if not create:
        return Location(user, "your per-user workspace, not created yet")
    _copy_dataset_new(user)
    return Location(user, "your per-user workspace, just created from the bundled dataset", created=True)


def _dataset_files(source: Path) -> list[Path]:
    return sorted(p for p in source.iterdir() if p.name in DATASET_FILES or TASK_FILE_RE.match(p.name))


def _copy_dataset_new(target: Path) -> None:
    """Copy the bundled dataset to a folder that does not exist yet, all at once (rename of a full copy)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".ptrack-init-", dir=target.parent))
    try:
        for f in _dataset_files(bundled_dataset()):
            shutil.copyfile(f, staging / f.name)
        staging.rename(target)
    except OSError as e:
        shutil.rmtree(staging, ignore_errors=True)
        raise PtrackError(f"cannot create the workspace {target}: {e.strerror}", fix="Check the folder's permissions") from None


def init_workspace(target: Path) -> Path:
    """Create a workspace in `target` as a copy of the bundled dataset; refuse to overwrite anything."""
    if target.exists() and not target.is_dir():
        raise PtrackError(f"{target} exists and is not a directory", fix="Choose another path")
    if (target / MARKER).exists():
        raise PtrackError(f"{target} is already a ptrack workspace", fix="Use it as it is, or choose another folder")
    if not target.exists():
        _copy_dataset_new(target)
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
            fix="Upgrade ptrack (pip install -U ptrack)",
        )


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
    if goals is not None and chapters is not None and regions is not None:
        # Cross-file checks run on what did load, so one broken file does not hide other problems.
        refs = _Refs(goals.goals, chapters.chapters, regions.regions, {p.stem for p in task_paths})
        problems.extend(_cross_check(refs, root, tasks, lines))
    if problems or config is None or goals is None or chapters is None or regions is None:
        raise WorkspaceInvalid(problems)
    return Workspace(root, config, goals.goals, chapters.chapters, regions.regions, [t for _, t in tasks])


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
    codes: set[str] = set()
    by_code = {r.code: r for r in refs.regions}
    for i, r in enumerate(refs.regions):
        if r.code in codes:
            yield problem(regions_path, ("regions", i, "code"), f"region code {r.code} appears twice")
        codes.add(r.code)
    for i, r in enumerate(refs.regions):
        if r.parent is not None and r.parent not in codes:
            yield problem(regions_path, ("regions", i, "parent"), f"unknown region {r.parent}")
        for j, p in enumerate(r.provinces):
            if by_code.get(p) is None or by_code[p].kind != "province":
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
        if t.owner not in codes:
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
