"""The `ptrack` command line: each command parses its options, calls the layers below, and renders."""

from __future__ import annotations

import functools
import io
import itertools
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

import typer
from typer.core import TyperGroup

from policy_tracker import __version__
from policy_tracker.errors import Interrupted, PtrackError, WorkspaceInvalid

if TYPE_CHECKING:
    from policy_tracker.changes import Edit, NewObservation, RecordChange, Stamp
    from policy_tracker.models import RegionRecord, Task, Workspace
    from policy_tracker.progress import TaskProgress
    from policy_tracker.store import TaskContext, Written

# Typer's validation of an option's value speaks pydantic (0.29) or Click (0.26-0.28): these say the same as a sentence.
_TYPE_WORDS = {
    "is not a valid float": "is not a number: give a plain number, such as 68.2",
    "is not a valid int": "is not a whole number: give one, such as 2030",  # Click says int or integer
    "Input should be a valid number, unable to parse string as a number": "is not a number: give a plain number, such as 68.2",
    "Input should be a valid integer, unable to parse string as an integer": "is not a whole number: give one, such as 2030",
    "Input should be a valid integer, got a number with a fractional part": "is not a whole number: give one, such as 2030",
}


# The base of Typer's usage errors, reached through its public BadParameter: typer 0.26-0.28 export no name for
# it (later ones call its base typer.TyperException), and Click itself must not be imported.
_USAGE_ERROR: type[Exception] = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


class _OneLineUsageErrors(TyperGroup):
    """The `ptrack` group, whose usage errors (a missing option, an unknown one, a value of the wrong type) end
    as one line `Error: what. How to fix.` on stderr with Typer's exit code 2, like every other error, instead
    of Typer's usage text and boxed panel."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        extra["windows_expand_args"] = windows_expand_args
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        words = list(sys.argv[1:] if args is None else args)
        try:
            # Not standalone: Typer hands its usage errors back instead of printing them in a panel.
            result = super().main(words, prog_name, complete_var, standalone_mode=False, **extra)
        except typer.Abort:
            print("Aborted!", file=sys.stderr)
            sys.exit(1)
        except _USAGE_ERROR as e:
            if type(e).__name__ == "NoArgsIsHelpError":  # bare `ptrack`: Typer has already shown the help
                sys.exit(getattr(e, "exit_code", 2))
            print(f"Error: {_shown(self._usage_line(e, words))}", file=sys.stderr)
            sys.exit(getattr(e, "exit_code", 2))
        sys.exit(result if isinstance(result, int) else 0)  # an int is typer.Exit's code

    def _usage_line(self, e: Exception, words: list[str]) -> str:
        ctx = getattr(e, "ctx", None)
        command = ctx.command_path if ctx is not None else "ptrack"
        message = " ".join(getattr(e, "format_message", e.__str__)().split())
        option = getattr(e, "option_name", None)
        if option and ctx is not None and ctx.parent is None:  # an option given before the command's name
            for name in self.list_commands(ctx):
                sub = self.get_command(ctx, name)
                if sub is not None and any(option in (*p.opts, *p.secondary_opts) for p in sub.params):
                    named = next((w for w in words if w in self.list_commands(ctx)), "COMMAND")
                    return f"{option} goes after the command name: write ptrack {named} {option} …"
        param = getattr(e, "param", None)
        for pydantic_text, sentence in _TYPE_WORDS.items():
            if pydantic_text in message and param is not None:
                given = next((words[i + 1] for i, w in enumerate(words[:-1]) if w in param.opts), None)
                flag = max(param.opts, key=len)
                return f"{flag}: " + (f"'{given}' {sentence}" if given is not None else sentence.replace("is not", "not"))
        return f"{message.rstrip('.')}. See '{command} -h' for its options."


app = typer.Typer(
    name="ptrack",
    cls=_OneLineUsageErrors,
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class Lang(str, Enum):
    zh = "zh"
    en = "en"
    both = "both"


class Format(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"


class ExportFormat(str, Enum):
    csv = "csv"
    json = "json"
    xlsx = "xlsx"
    sqlite = "sqlite"
    observations = "observations"


class ProgressFormat(str, Enum):
    table = "table"
    json = "json"


class ReportFormat(str, Enum):
    markdown = "markdown"
    html = "html"
    docx = "docx"


class SchemaKind(str, Enum):
    task = "task"
    goals = "goals"
    chapters = "chapters"
    regions = "regions"
    workspace = "workspace"


DataOpt = Annotated[
    Path | None,
    typer.Option(
        "--data",
        "-d",
        help="Workspace folder. Default: $PTRACK_DATA, else the nearest folder above here holding ptrack.yaml, "
        "else your per-user workspace.",
        show_default=False,
    ),
]
LangOpt = Annotated[Lang, typer.Option("--lang", "-l", envvar="PTRACK_LANG", help="Language of titles and labels.")]
FormatOpt = Annotated[
    Format | None,
    typer.Option(
        "--format", "-f", help="Output format. Default: table on a terminal, plain text when piped.", show_default=False
    ),
]

# ---------------------------------------------------------------------------------------------- completion
# Shell completion (bash, zsh, fish, PowerShell: `ptrack --install-completion`). A completer never fails: with
# no workspace or a broken one it offers nothing.


def _completion_root(ctx: typer.Context) -> Path | None:
    from policy_tracker import store

    try:
        data = ctx.params.get("data")
        return store.find_workspace(Path(data) if data else None, create=False).root
    except PtrackError:
        return None


def _typed_task(ctx: typer.Context) -> str | None:
    """The task ID already on the command line: from the parsed parameters, else from the words the shell
    passed (an option still waiting for its value stops Click's parsing before the task is read)."""
    import os
    import shlex

    from policy_tracker import query

    if ctx.params.get("task"):
        return str(ctx.params["task"])
    words = os.environ.get("COMP_WORDS") or os.environ.get("_TYPER_COMPLETE_ARGS") or ""
    try:
        tokens = shlex.split(words)
    except ValueError:
        tokens = words.split()
    for token in tokens[2:]:
        try:
            return query.parse_task_id(token)
        except PtrackError:
            continue
    return None


def complete_task(incomplete: str) -> list[tuple[str, str]]:
    from policy_tracker.models import TASK_COUNT, task_id

    if incomplete.isdigit():  # 8 names T08 too: offer numbers to someone typing numbers
        return [(str(n), task_id(n)) for n in range(1, TASK_COUNT + 1) if str(n).startswith(incomplete)]
    return [(t, "") for n in range(1, TASK_COUNT + 1) if (t := task_id(n)).startswith(incomplete.upper())]


def complete_region(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
    from policy_tracker import store
    from policy_tracker.regions import Registry

    root = _completion_root(ctx)
    own = store.load_regions(root) if root is not None and (root / store.REGIONS).is_file() else []
    return Registry(own).complete(incomplete)


def complete_status(incomplete: str) -> list[tuple[str, str]]:
    from policy_tracker.models import STATUS_LABELS

    return [(key, f"{zh} {en}") for key, (zh, en) in STATUS_LABELS.items() if key.startswith(incomplete.lower())]


def complete_indicator(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
    from policy_tracker import query, store

    root = _completion_root(ctx)
    if root is None:
        return []
    try:
        ws = store.load_workspace(root)
        task = _typed_task(ctx)
        tasks = [query.find_task(ws, task)] if task else ws.tasks
    except PtrackError:
        return []
    suffix = "=" if ctx.info_name == "update" else ""  # update takes ID=VALUE
    return [(i.id + suffix, i.name_zh) for t in tasks for i in t.indicators if i.id.startswith(incomplete)]


def complete_method(incomplete: str) -> list[tuple[str, str]]:
    methods = {"linear": "time-elapsed test (NDRC mid-term evaluation)", "cagr": "growth-rate ratio (Open SDG)"}
    return [(m, why) for m, why in methods.items() if m.startswith(incomplete)]


def complete_goal(incomplete: str) -> list[tuple[str, str]]:
    return [(g, "") for g in ("2030", "2035") if g.startswith(incomplete)]


WithOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--with",
        "-w",
        metavar="DIR",
        help="Also read the region records of this workspace, read-only (repeatable): one view of several offices' "
        "repositories, each record with its origin.",
        show_default=False,
    ),
]

JsonOpt = Annotated[
    str | None,
    typer.Option(
        "--json",
        metavar="FIELDS",
        help="Print JSON with only these comma-separated fields, as gh does; --json alone lists the fields.",
        show_default=False,
    ),
]

F = TypeVar("F", bound=Callable[..., Any])
FormatT = TypeVar("FormatT", bound=Enum)
_T = TypeVar("_T")


def _shown(text: object) -> str:
    """Text for a plain print: control characters in user text are made visible, never sent to the terminal."""
    from policy_tracker.visible import visible

    return visible(str(text))


def _fail(message: str) -> None:
    # Plain print, not Rich: user text such as "[draft]" must not be read as markup.
    print(f"Error: {_shown(message)}", file=sys.stderr)


PANELS = {
    "Browse": ("list", "show", "goals", "regions"),
    "Record progress": ("update", "log", "undo", "import", "export"),
    "Assess": ("progress", "target", "baseline", "matrix", "report"),
    "Workspace": ("init", "where", "validate", "schema", "migrate-regions", "merge-driver", "owners"),
}


def command(name: str) -> Callable[[F], F]:
    """Register a command whose user-fixable errors end as one line on stderr and exit code 1."""

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            _refuse_options_as_values(fn, kwargs)
            try:
                with _terminate_as_interrupt():
                    return fn(*args, **kwargs)
            except Interrupted as e:
                print(e.what, file=sys.stderr)
                raise typer.Exit(e.exit_code) from None
            except KeyboardInterrupt:
                # Writes hold signals back until they are done (see journal): here, nothing was being written.
                print("Interrupted: nothing was written", file=sys.stderr)
                raise typer.Exit(130) from None
            except WorkspaceInvalid as e:
                for problem in e.problems:
                    print(_shown(problem), file=sys.stderr)
                _fail(str(e))
                raise typer.Exit(1) from None
            except PtrackError as e:
                _fail(str(e))
                raise typer.Exit(1) from None

        panel = next(title for title, names in PANELS.items() if name in names)
        app.command(name, rich_help_panel=panel)(wrapper)
        return fn

    return decorate


@functools.cache
def _option_names(fn: Callable[..., Any]) -> dict[str, str]:
    """Every name of every option of a command (--note, -m, --help) -> the parameter it sets ("" for --help)."""
    import inspect
    import typing

    from typer.models import OptionInfo

    names = {"--help": "", "-h": ""}
    hints = typing.get_type_hints(fn, include_extras=True)
    for param in inspect.signature(fn).parameters.values():
        info = next((m for m in getattr(hints.get(param.name), "__metadata__", ()) if isinstance(m, OptionInfo)), None)
        if info is None:
            continue
        # in Annotated[..., typer.Option("--note", "-m")] Typer keeps the first name as the "default"
        first = (info.default,) if isinstance(info.default, str) and info.default.startswith("-") else ()
        decls = (*first, *(info.param_decls or ())) or (f"--{param.name.replace('_', '-')}",)
        names.update((name, param.name) for decl in decls for name in decl.split("/") if name.startswith("-"))
    return names


def _refuse_options_as_values(fn: Callable[..., Any], values: dict[str, Any]) -> None:
    """`update -m --dry-run` would record the note "--dry-run": a value that names one of the command's own
    options is a slip, never meant, so it is refused rather than taken; so is a blank value."""
    names = _option_names(fn)
    flags = {param: name for name, param in reversed(list(names.items())) if name.startswith("--")}
    for param, value in values.items():
        given = value if isinstance(value, list) else [value]
        if any(isinstance(v, str) and not v.strip() and (v or param not in flags) for v in given):
            # `--source "  "` is no evidence, and `undo ""` names no change: neither is taken as given
            # (an empty option, `-m ""`, is an option left out, which the command then judges)
            hint = flags.get(param, param.upper())
            raise typer.BadParameter("the value is blank: give words, or leave it out", param_hint=hint)
        slip = next((str(v) for v in given if isinstance(v, str | Path) and str(v) in names), None)
        if slip is not None:
            flag = flags.get(param, param)
            raise typer.BadParameter(
                f"'{slip}' is one of this command's options, not a value. Give {flag} its value, and {slip} on its own"
                f" (to record the text '{slip}' itself, put it in a sentence)",
                param_hint=flag,
            )


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that a command ends the same way (exit 143)."""


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(_signum: int, _frame: Any) -> None:
        raise _Terminated

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    except _Terminated:
        print("Interrupted: nothing was written", file=sys.stderr)
        raise typer.Exit(143) from None
    finally:
        signal.signal(signal.SIGTERM, previous)


def _version(value: bool) -> None:
    if value:
        print(f"ptrack {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", "-V", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """Track the implementation of 《中共中央 国务院关于推动城市高质量发展的意见》 (2025): its 2030 and 2035
    goals and its 23 tasks.

    Start with: [bold]ptrack list --goal 2030[/]
    """
    # A console that cannot encode a character (PYTHONIOENCODING=ascii, a Chinese-Windows cp936 code page
    # meeting ³ or ░) shows a replacement for it instead of crashing the command.
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper) and stream.errors == "strict":
            stream.reconfigure(errors="replace")


def _workspace(data: Path | None, *, models: bool = True) -> Workspace:
    """The workspace, validated into models; `models=False`: its dataset as plain objects, from the index when no
    file changed (`dataset`: no YAML, no pydantic), for commands that only read the dataset's attributes."""
    root = _workspace_root(data)
    if not models:
        from policy_tracker import dataset

        return dataset.load(root)
    from policy_tracker import store

    return store.load_workspace(root)


def _workspace_root(data: Path | None) -> Path:
    """The workspace's folder, made from the bundled dataset on first use, with any interrupted change completed."""
    from policy_tracker import locate  # not store: a listing answered from the index never loads it

    location = locate.find_workspace(data)
    if location.created:
        print(f"Created your workspace at {location.root} from the bundled dataset (`ptrack where` explains).", file=sys.stderr)
    _recover(location.root)
    return location.root


def _recover(root: Path) -> None:
    from policy_tracker import journal

    if not journal.pending(root) and next(root.glob(f"{journal.STAGING_PREFIX}*.tmp"), None) is None:
        return  # the usual case: nothing was interrupted (no journal, no import's staging), found without the writer
    from policy_tracker import store

    recovered = store.recover_interrupted(root)
    if recovered:
        print(recovered, file=sys.stderr)


def _json_fields(spec: str, available: tuple[str, ...], items: Callable[[], list[dict[str, Any]]], single: bool = False) -> None:
    """`--json FIELDS`: the items with only those fields; a bare `--json` lists the fields."""
    from policy_tracker import jsonfields, render

    fields = jsonfields.chosen(spec, available)
    if fields is None:
        sys.stdout.write(jsonfields.listing(available))
        return
    projected = jsonfields.project(items(), fields)
    sys.stdout.write(render.dump_json(projected[0] if single and projected else projected))


def _format(fmt: Format | None, allowed: tuple[Format, ...], piped: Format) -> Format:
    if fmt is None:
        return Format.table if sys.stdout.isatty() else piped
    if fmt not in allowed:
        raise PtrackError(f"--format {fmt.value} is not available here", fix=f"Use one of: {', '.join(f.value for f in allowed)}")
    return fmt


@command("list")
def list_tasks(
    goal: Annotated[
        str | None, typer.Option("--goal", "-g", autocompletion=complete_goal, help="Only tasks serving this goal: 2030 or 2035.")
    ] = None,
    component: Annotated[
        str | None,
        typer.Option(
            "--component", "-c", help="Only tasks serving this goal component: key (green), number (4) or words (绿色)."
        ),
    ] = None,
    chapter: Annotated[str | None, typer.Option("--chapter", help="Only this chapter: 三 or 3.")] = None,
    status: Annotated[
        list[str] | None,
        typer.Option(
            "--status", "-s", autocompletion=complete_status, metavar="STATUS", help="Only this status (repeat for several)."
        ),
    ] = None,
    region: Annotated[
        str | None,
        typer.Option(
            "--region",
            "-r",
            autocompletion=complete_region,
            help="Only tasks owned by this region or a region inside it (长三角, 31, Shanghai).",
        ),
    ] = None,
    search: Annotated[
        str | None, typer.Option("--search", "-q", help="Only tasks whose titles, measures or notes contain this text.")
    ] = None,
    sort: Annotated[str, typer.Option("--sort", help="Sort by id, chapter, status, owner or title.")] = "id",
    lang: LangOpt = Lang.both,
    fmt: FormatOpt = None,
    data: DataOpt = None,
    also: WithOpt = None,
    json_fields: JsonOpt = None,
) -> None:
    """List the tasks, filtered and sorted.

    Examples:

      ptrack list --goal 2030 --component green

      ptrack list --status in_progress --status blocked --region 长三角

      ptrack list --search 城市更新 --format csv > tasks.csv

      ptrack list --with ../jiangsu --with ../zhejiang --status blocked

      ptrack list --region 长三角 --json id,region,status,owner
    """
    from policy_tracker import query

    out = _format(fmt, tuple(Format), piped=Format.csv)
    # JSON prints every field of the models; the other formats read the dataset's attributes (from the index)
    ws = _workspace(data, models=also is not None or json_fields is not None or out is Format.json)
    others = _others(ws, also)
    heading: list[tuple[str, str, str]] = []  # the table's title: the goal's and the component's (prefix, zh, en)
    goal_id = component_key = None
    if component is not None and goal is None:
        goal = next((g.id for g in ws.goals if g.components), None) or "2030"
    if goal is not None:
        g = query.find_goal(ws.goals, goal)
        goal_id = g.id
        heading.append((f"{g.id} · ", g.headline_zh, g.headline_en))
        if component is not None:
            c = query.find_component(g, component)
            component_key = c.key
            heading.append((f"{c.number} ", c.zh, c.en))
    chapter_label = query.find_chapter(ws.chapters, chapter).label if chapter is not None else None
    statuses = frozenset(query.parse_status(s) for s in status or [])
    rows = query.national_rows(ws.tasks)
    members = None
    if region is not None:
        members = frozenset(query.region_members(ws.regions, query.find_region(ws.regions, region).code))
    selection = query.TaskFilter(goal_id, component_key, chapter_label, statuses, members, search)
    if others:
        rows = _rolled_up(ws, others, rows, members)
    elif region is not None and out is Format.csv and json_fields is None and sort == "id":
        # the region records stream from the index to the output in the listing's order: none is held
        from policy_tracker.listing import rows_csv_chunks  # not render: a piped listing loads no Rich

        sys.stdout.writelines(rows_csv_chunks(_listing_cells(ws, rows, members, selection)))
        return
    elif region is not None:
        from policy_tracker import store

        # a listing reads only the top-level fields, except JSON, which prints every field
        records = store.load_region_records(ws.root, members, shallow=out is not Format.json and json_fields is None)
        rows += query.region_rows(ws.tasks, records)
    selected = query.sort_rows(query.filter_rows(rows, selection), sort, ws.chapters)

    if json_fields is not None:
        from policy_tracker import jsonfields

        available = (*jsonfields.RECORD_FIELDS, "origin") if others else jsonfields.RECORD_FIELDS
        _json_fields(
            json_fields,
            available,
            lambda: [jsonfields.record_item(r.task, r.region, r.record, r.owner, r.origin) for r in selected],
        )
    elif out is Format.csv:
        from policy_tracker.listing import rows_csv  # not render: a piped listing loads no Rich

        sys.stdout.write(rows_csv(selected))
    else:
        _list_rendered(ws, selected, out, bool(others), lang, heading)


def _list_rendered(ws: Workspace, selected: list[Any], out: Format, others: bool, lang: Lang, heading: list[Any]) -> None:
    from policy_tracker import render

    if out is Format.json and others:
        sys.stdout.write(
            render.dump_json([{**r.record.model_dump(mode="json", by_alias=True), "origin": r.origin} for r in selected])
        )
    elif out is Format.json:
        sys.stdout.write(render.models_json([r.record for r in selected]))
    elif out is Format.markdown:
        sys.stdout.write(render.rows_markdown(ws, selected, lang.value))
    else:
        title = " · ".join(f"{prefix}{render.pick(zh, en, lang.value, ' ')}" for prefix, zh, en in heading) or None
        render.print_rows(render.make_console(), ws, selected, lang.value, title)


def _listing_cells(ws: Workspace, national: list[Any], members: Any, selection: Any) -> Iterator[tuple[object, ...]]:
    """The CSV cells of a listing by id: the national rows that pass `selection`, merged in order with the region
    records of `members` streamed from the index (task, then region), filtered as they come."""
    import dataclasses
    import heapq

    from policy_tracker import listed, query  # not store: a warm listing reads no file
    from policy_tracker.listing import row_cells

    tasks = {
        r.task.id: r.task for r in query.filter_rows(national, dataclasses.replace(selection, statuses=frozenset(), regions=None))
    }
    statuses = selection.statuses
    ours = (
        ((r.task.number, False, r.region), row_cells(r.task, r.region, r.status, r.owner))
        for r in query.sort_rows(query.filter_rows(national, selection), "id", ws.chapters)
    )
    streamed = listed.region_listing(ws.root, members)  # here, not when the rows are first pulled: errors before output
    theirs = (
        ((tasks[task].number, region != "CN", region), row_cells(tasks[task], region, status, owner or region))
        for task, region, status, owner in streamed
        if task in tasks and (not statuses or status in statuses)
    )
    return (cells for _, cells in heapq.merge(ours, theirs, key=lambda x: x[0]))


def _rolled_name(ws: Workspace, others: list[Workspace]) -> str:
    """The workspace's name, and in a roll-up the folders whose records it holds."""
    from policy_tracker import rollup

    if not others:
        return ws.config.name
    return f"{ws.config.name} (roll-up of {', '.join(rollup.origin_name(w) for w in (ws, *others))})"


def _others(ws: Workspace, folders: list[Path] | None) -> list[Workspace]:
    if not folders:
        return []
    from policy_tracker import rollup

    return rollup.open_others(ws, folders)


def _rolled_up(ws: Workspace, others: list[Workspace], rows: list[Any], members: frozenset[str] | None) -> list[Any]:
    """National rows (from `ws`) and every workspace's region records (of `members`), each row with its origin."""
    import dataclasses

    from policy_tracker import query, rollup

    rolled = rollup.load(ws, others, members)
    home = rollup.origin_name(ws)
    out = [dataclasses.replace(r, origin=home) for r in rows]
    for r in query.region_rows(ws.tasks, rolled.records):
        out.append(dataclasses.replace(r, origin=rolled.origin[(r.task.id, r.region)]))
    print(f"Rolled up: {', '.join(rolled.sources)}", file=sys.stderr)
    return out


@command("show")
def show(
    task: Annotated[str, typer.Argument(help="Task ID: T08, t8 or 8.", show_default=False, autocompletion=complete_task)],
    region: Annotated[
        str | None, typer.Option("--region", "-r", autocompletion=complete_region, help="Show this region's record of the task.")
    ] = None,
    lang: LangOpt = Lang.both,
    fmt: FormatOpt = None,
    data: DataOpt = None,
    json_fields: JsonOpt = None,
) -> None:
    """Show one task: titles, chapter, goals served, status, owner, measures with provenance, indicators, history.

    Examples:

      ptrack show T08

      ptrack show 8 --region 上海市

      ptrack show T08 --region 上海市 --json status,revision,history
    """
    from policy_tracker import query, render

    query.parse_task_id(task)  # a malformed ID is reported before the workspace is even read
    ws = _workspace(data)
    definition = query.find_task(ws, task)
    code = query.find_region(ws.regions, region).code if region is not None else "CN"
    record = _current_record(ws, definition.id, code) if code != "CN" else definition
    out = _format(fmt, (Format.table, Format.json, Format.markdown), piped=Format.markdown)
    if json_fields is not None:
        from policy_tracker import jsonfields

        owner = record.owner or code
        item = jsonfields.record_item(definition, code, record, owner)
        _json_fields(json_fields, jsonfields.RECORD_FIELDS, lambda: [item], single=True)
    elif out is Format.json:
        sys.stdout.write(render.dump_json(record.model_dump(mode="json")))
    elif out is Format.markdown:
        sys.stdout.write(render.task_markdown(ws, definition, record))
    else:
        render.make_console().print(render.task_panel(ws, definition, record, lang.value))


@command("goals")
def goals(lang: LangOpt = Lang.both, fmt: FormatOpt = None, data: DataOpt = None) -> None:
    """Show the 2030 and 2035 goals, their components, the tasks serving each, and counts by status.

    Which tasks serve which component is the tracker's reading (the Opinions do not say); it is kept in each
    task's `serves` field.

    Example: ptrack goals --lang en
    """
    from policy_tracker import render

    ws = _workspace(data)
    out = _format(fmt, (Format.table, Format.json, Format.markdown), piped=Format.markdown)
    if out is Format.json:
        sys.stdout.write(render.goals_json(ws))
    elif out is Format.markdown:
        sys.stdout.write(render.goals_markdown(ws, lang.value))
    else:
        render.make_console().print(render.goals_view(ws, lang.value))


@command("regions")
def regions(
    region: Annotated[
        str | None,
        typer.Option(
            "--region", "-r", autocompletion=complete_region, help="Only this region and everything inside it, counties included."
        ),
    ] = None,
    lang: LangOpt = Lang.both,
    fmt: FormatOpt = None,
    data: DataOpt = None,
) -> None:
    """Show the region registry: every province, prefecture-level city and county (NBS 2023 division codes),
    the city clusters, and the workspace's own regions.

    The tree stops at the cities; `--region` shows one region with its counties. Any code, name (with or
    without 市/省/区/县) or alias of a region names it everywhere in ptrack.

    Examples:

      ptrack regions --region 江苏

      ptrack regions --format csv > regions.csv
    """
    from policy_tracker import query, render

    ws = _workspace(data)
    root = query.find_region(ws.regions, region).code if region is not None else None
    shown = [r for r in ws.regions if r.code in query.region_members(ws.regions, root)] if root is not None else ws.regions
    out = _format(fmt, (Format.table, Format.json, Format.csv), piped=Format.csv)
    if out is Format.json:
        sys.stdout.write(render.dump_json([r.as_json() for r in shown]))
    elif out is Format.csv:
        sys.stdout.write(render.regions_csv(shown))
    else:
        render.make_console().print(render.regions_tree(shown, lang.value, root))


# ---------------------------------------------------------------------------------------------- writing

ByOpt = Annotated[
    str | None,
    typer.Option("--by", help="Who makes the change. Default: $PTRACK_USER, else git's user.name.", show_default=False),
]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Show exactly what would change; write nothing.")]


def _who(by: str | None, root: Path | None = None) -> str:
    name = _who_if_known(by, root)
    if name is None:
        raise PtrackError(
            "no name is given for who makes this change", fix="Give --by NAME, or set PTRACK_USER (or git's user.name)"
        )
    return name


def _who_if_known(by: str | None, root: Path | None = None) -> str | None:
    """--by, else $PTRACK_USER, else git's user.name as the workspace `root` sees it (its own repository's
    config, wherever ptrack is run from), else None."""
    import os
    import subprocess

    if by and by.strip():
        return by.strip()
    if os.environ.get("PTRACK_USER", "").strip():
        return os.environ["PTRACK_USER"].strip()
    try:
        where = ["-C", str(root)] if root is not None else []
        name = subprocess.run(
            ["git", *where, "config", "user.name"], capture_output=True, text=True, timeout=5, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        name = ""
    return name.strip() or None


def _stamp(by: str, undoes: str | None = None) -> Stamp:
    from policy_tracker import clock
    from policy_tracker.changes import Stamp, new_change_id

    now = clock.now()  # China time, so change ids from offices in any zone sort in the order they were made
    # milliseconds: changes made within one second still sort in the order they were made
    return Stamp(change=new_change_id(now), at=now.isoformat(timespec="milliseconds"), by=by, undoes=undoes)


def _report_written(written: list[Written], ws: Workspace | TaskContext, stamp: Stamp, dry_run: bool) -> None:
    import difflib

    from policy_tracker import store
    from policy_tracker.changes import change_lines

    if not written:
        print("Nothing to change: the records already hold these values.", file=sys.stderr)
        return
    head = "Would record" if dry_run else "Recorded"
    print(f"{head} change {stamp.change} by {_shown(stamp.by)}, {len(written)} record{'s' if len(written) > 1 else ''}:")
    for w in written:
        print(f"  {store.display_path(w.path)}")
        for line in change_lines(w.entry):
            print(f"    {_shown(line)}")
    if dry_run:
        for w in written:
            before = (w.before or "").splitlines(keepends=True)
            name = store.display_path(w.path)
            sys.stdout.writelines(difflib.unified_diff(before, w.after.splitlines(keepends=True), name, name + " (after)"))
        print("Dry run: nothing was written.", file=sys.stderr)


@command("update")
def update(
    task: Annotated[str, typer.Argument(help="Task ID: T08, t8 or 8.", show_default=False, autocompletion=complete_task)],
    region: Annotated[
        str | None,
        typer.Option(
            "--region",
            "-r",
            autocompletion=complete_region,
            help="The region whose record to change (default: the national record).",
        ),
    ] = None,
    status: Annotated[str | None, typer.Option("--status", "-s", autocompletion=complete_status, help="New status.")] = None,
    owner: Annotated[
        str | None, typer.Option("--owner", autocompletion=complete_region, help="The region responsible for the record.")
    ] = None,
    indicator: Annotated[
        list[str] | None,
        typer.Option(
            "--indicator",
            "-i",
            autocompletion=complete_indicator,
            metavar="ID=VALUE",
            help="Add an observation (repeatable); needs --date and --source.",
        ),
    ] = None,
    date: Annotated[
        str | None,
        typer.Option("--date", help="The date the values refer to: 2026-09-30, 2026/9/30, 2026年9月, 2026Q3…"),
    ] = None,
    source: Annotated[str | None, typer.Option("--source", help="Evidence: a URL or a document number.")] = None,
    note: Annotated[str | None, typer.Option("--note", "-m", help="Why: recorded in the history.")] = None,
    rating: Annotated[str | None, typer.Option("--rating", help="Your judgement: green, amber or red.")] = None,
    rationale: Annotated[str | None, typer.Option("--rationale", help="Why that rating (required with --rating).")] = None,
    next_steps: Annotated[
        str | None,
        typer.Option("--next", help="What will be done next (the report's 下一步); an empty text clears it.", show_default=False),
    ] = None,
    correct: Annotated[
        bool, typer.Option("--correct", help="Replace an observation of the same date (kept in history).")
    ] = False,
    period: Annotated[
        str | None,
        typer.Option("--period", help="A cumulative figure's span: 2026-01/2026-09 (year to date, 时序进度)."),
    ] = None,
    by: ByOpt = None,
    dry_run: DryRunOpt = False,
    data: DataOpt = None,
) -> None:
    """Change a record: status, owner, observations, rating, next steps. One call is one change set in the history.

    Examples:

      ptrack update T08 --region 上海 --status in_progress --note "Renovation programme approved" --source 沪府办〔2026〕12号

      ptrack update 13 -i pm25_prefecture_cities=27.5 --date 2026 --source https://www.mee.gov.cn/... --by 王芳

      ptrack update T08 --rating amber --rationale "Starts lag the annual plan" --dry-run

      ptrack update T09 --region 江苏省 --next "四季度完成管网改造资金拨付"
    """
    from policy_tracker import query
    from policy_tracker.changes import Edit

    tid = query.parse_task_id(task)
    ws = _task_context(data, tid)  # not the whole workspace: one change costs the same at any size
    definition = ws.task
    code = query.find_region(ws.regions, region).code if region is not None else "CN"
    # spaces around a note or a source say nothing, and an import (which reads cells trimmed) would lose them
    note, source, rationale = (x.strip() if x else x for x in (note, source, rationale))
    observations = [_observation(text, date, source, note, correct, period) for text in indicator or []]
    if period is not None and not observations:
        raise PtrackError("--period goes with --indicator", fix="Give the values with --indicator ID=VALUE")
    if date is not None and not observations:
        raise PtrackError("--date goes with --indicator", fix="Give the values with --indicator ID=VALUE")
    edit = Edit(
        status=query.parse_status(status) if status is not None else None,
        owner=query.find_region(ws.regions, owner).code if owner is not None else None,
        observations=tuple(observations),
        rating=rating.strip().lower() if rating is not None else None,
        rationale=rationale,
        note=note,
        source=source,
        next_steps=next_steps,
    )
    if edit.is_empty() and edit.rationale is None:
        edit = _ask(definition.id, code)
    _write_edit(ws, definition, edit, _stamp(_who(by, ws.root)), tid, code, dry_run)


def _observation(
    text: str, date: str | None, source: str | None, note: str | None, correct: bool, period: str | None = None
) -> NewObservation:
    from policy_tracker import query
    from policy_tracker.changes import NewObservation
    from policy_tracker.models import Observation

    name, sep, value_text = text.partition("=")
    if not sep or not name.strip():
        raise PtrackError(f"--indicator '{text}' is not ID=VALUE", fix="For example: --indicator urbanisation_rate_resident=68.2")
    try:
        value = float(value_text)
    except ValueError:
        raise PtrackError(f"'{value_text}' is not a number (in --indicator {text})", fix="Give a plain number: 68.2") from None
    if date is None:
        raise PtrackError(f"the value of {name.strip()} needs the date it refers to", fix="Add --date YYYY (or YYYY-MM-DD)")
    given = query.person_date(date, "--date")  # every form an import reads; a quarter keeps its period
    checked = given.date
    if period is not None:
        from policy_tracker.assessment import period_end, year_to_date_months

        span = year_to_date_months(Observation(date=checked, value=value, source="-", period=period))
        if span is None or period_end(checked) != period_end(f"{span[0]}-{span[2]:02d}"):
            raise PtrackError(
                f"--period '{period}' is not a year-to-date span ending at {checked}",
                fix="Write --period YYYY-MM/YYYY-MM within one year, ending with the month of --date (2026-01/2026-09)",
            )
    return NewObservation(name.strip(), value, checked, source=source, note=note, correct=correct, period=period or given.period)


def _ask(task: str, region: str) -> Edit:
    """With no change given on a terminal, ask for one; without a terminal, say what is missing."""
    from policy_tracker import query
    from policy_tracker.changes import Edit
    from policy_tracker.models import STATUSES

    if not sys.stdin.isatty():
        raise PtrackError(
            f"nothing to change for {task} {region}",
            fix="Give --status, --owner, --indicator ID=VALUE, --rating or --note (see ptrack update --help)",
        )
    status = typer.prompt(
        f"New status for {task} {region} ({', '.join(STATUSES)}; Enter to keep)", default="", show_default=False
    )
    note = typer.prompt("Why (note)", default="", show_default=False)
    source = typer.prompt("Evidence (URL or document number)", default="", show_default=False)
    edit = Edit(status=query.parse_status(status) if status else None, note=note or None, source=source or None)
    if edit.is_empty():
        raise PtrackError("nothing to change", fix="Nothing was written")
    return edit


def _task_context(data: Path | None, task: str) -> TaskContext:
    """What a change to one task's records needs (`store.load_task_context`), not the whole workspace."""
    from policy_tracker import query, store

    return store.load_task_context(_workspace_root(data), query.parse_task_id(task))


def _figure_edit(
    ws: TaskContext, task: str, region: str | None, kind: str, value: Any, indicator: str, note: str, source: str, by: str | None
) -> tuple[Any, Any, Any, str, str]:
    from policy_tracker import query
    from policy_tracker.changes import Edit, FigureEdit

    tid = query.parse_task_id(task)
    definition = ws.task
    code = query.find_region(ws.regions, region).code if region is not None else "CN"
    edit = Edit(figures=(FigureEdit(kind, indicator, value),), note=note, source=source)
    return definition, edit, _stamp(_who(by, ws.root)), tid, code


def _current_indicator(ws: TaskContext, tid: str, code: str, indicator: str) -> Any:
    from policy_tracker import store
    from policy_tracker.changes import _indicator_data

    record = store.load_record(ws.root, tid, code)
    return _indicator_data(record, indicator) if record is not None else None


def _write_edit(ws: TaskContext, definition: Any, edit: Any, stamp: Any, tid: str, code: str, dry_run: bool) -> None:
    from policy_tracker import store
    from policy_tracker.changes import plan_edit

    names = {i.id: i.name_zh for i in definition.indicators}
    written = store.change_records(
        ws.root,
        [(tid, code)],
        lambda record: plan_edit(record, edit, indicators=names, require_evidence=ws.config.require_evidence, stamp=stamp),
        stamp,
        dry_run=dry_run,
    )
    _report_written(written, ws, stamp, dry_run)


FigureIndicatorOpt = Annotated[
    str, typer.Option("--indicator", "-i", autocompletion=complete_indicator, help="Indicator ID.", show_default=False)
]
FigureRegionOpt = Annotated[
    str | None,
    typer.Option("--region", "-r", autocompletion=complete_region, help="The region's record (default: national)."),
]
FigureNoteOpt = Annotated[str, typer.Option("--note", "-m", help="Why: recorded in the history (required).", show_default=False)]
FigureSourceOpt = Annotated[
    str, typer.Option("--source", help="The document that sets it: a URL or a document number (required).", show_default=False)
]


TARGET_YEARS = (2000, 2100)  # the years a target may be due in


@command("target")
def target(
    task: Annotated[str, typer.Argument(help="Task ID: T08, t8 or 8.", show_default=False, autocompletion=complete_task)],
    indicator: FigureIndicatorOpt,
    plan: Annotated[str, typer.Option("--from", help="The plan that sets the target (its title).", show_default=False)],
    source: FigureSourceOpt,
    note: FigureNoteOpt,
    value: Annotated[float | None, typer.Option("--value", help="The target value (omit with --remove).")] = None,
    year: Annotated[int | None, typer.Option("--year", help="The year it is due.")] = None,
    period: Annotated[str | None, typer.Option("--period", help="Instead of a year: 2026-2030, 每年 (2025-)…")] = None,
    comparator: Annotated[str | None, typer.Option("--comparator", help="One of >= <= > < ~ = (default: reach it).")] = None,
    issued: Annotated[str | None, typer.Option("--issued", help="When the plan was issued: 2026-02, 2026年2月…")] = None,
    remove: Annotated[bool, typer.Option("--remove", help="Remove this plan's target for that year or period.")] = False,
    region: FigureRegionOpt = None,
    by: ByOpt = None,
    dry_run: DryRunOpt = False,
    data: DataOpt = None,
) -> None:
    """Set (or remove) a record's target for an indicator, with who, when, the source and why in its history.

    A target is data with history: a later change never alters a past --as-of report. The same plan's target
    for the same year (or period) is replaced; another plan's is kept beside it (the most recently issued wins).

    Example:

      ptrack target T01 -r 江苏 -i urbanisation_rate_resident --value 75 --year 2030
      --from "江苏省十五五规划纲要" --issued 2026-02 --source https://… -m "the province's own 2030 target"
    """
    from pydantic import ValidationError

    from policy_tracker import query
    from policy_tracker.models import Target

    ws = _task_context(data, task)
    definition, _, _, tid, code = _figure_edit(ws, task, region, "targets", None, indicator, note, source, by)
    current = _current_indicator(ws, tid, code, indicator)
    kept = [
        t for t in (current.targets if current else []) if not (t.target_from == plan and t.year == year and t.period == period)
    ]
    if not remove and year is not None and not TARGET_YEARS[0] <= year <= TARGET_YEARS[1]:
        # the Opinions plan to 2035 and plans run to mid-century: a year outside this is a typing slip (1999, 20300)
        raise PtrackError(
            f"--year {year} is not a plausible target year",
            fix=f"Give the year the plan sets, between {TARGET_YEARS[0]} and {TARGET_YEARS[1]}",
        )
    if not remove:
        try:
            new = Target.model_validate(
                {"year": year, "value": value, "comparator": comparator, "period": period, "target_from": plan,
                 "issued": issued and query.person_date(issued, "--issued").date, "source": source},
                strict=False,
            )  # fmt: skip
        except ValueError as err:  # pydantic's ValidationError: its first problem, in words, under the option's name
            problem = err.errors()[0] if isinstance(err, ValidationError) else None
            field = str(problem["loc"][0]) if problem and problem["loc"] else ""
            flag = {"target_from": "--from: "}.get(field, f"--{field}: ") if field else ""
            first = flag + problem["msg"].removeprefix("Value error, ") if problem else str(err)
            raise PtrackError(
                f"not a valid target: {first}", fix="Give --value and --year (or --period); --comparator >= <= > < ~ ="
            ) from None
        if value is None:
            raise PtrackError("a target needs --value", fix="Give --value, or --remove to take the target out")
        kept.append(new)
    elif len(kept) == len(current.targets if current else []):
        raise PtrackError(
            f"no target from '{plan}' for {year or period} to remove", fix="Check --from and --year with `ptrack show`"
        )
    targets = [t.model_dump(mode="json", exclude_defaults=True) for t in kept] or None
    definition, edit, stamp, tid, code = _figure_edit(ws, task, region, "targets", targets, indicator, note, source, by)
    _write_edit(ws, definition, edit, stamp, tid, code, dry_run)


@command("baseline")
def baseline(
    task: Annotated[str, typer.Argument(help="Task ID: T08, t8 or 8.", show_default=False, autocompletion=complete_task)],
    indicator: FigureIndicatorOpt,
    value: Annotated[float, typer.Option("--value", help="The baseline value.", show_default=False)],
    date: Annotated[str, typer.Option("--date", help="The date it refers to: 2024, 2024/12/31…", show_default=False)],
    source: FigureSourceOpt,
    note: FigureNoteOpt,
    region: FigureRegionOpt = None,
    by: ByOpt = None,
    dry_run: DryRunOpt = False,
    data: DataOpt = None,
) -> None:
    """Set a record's baseline for an indicator (one base year), with who, when, the source and why in its history.

    Example:

      ptrack baseline T01 -r 江苏 -i urbanisation_rate_resident --value 75.1 --date 2024
      --source https://… -m "2024 statistical bulletin"
    """
    from policy_tracker import query
    from policy_tracker.models import Baseline

    ws = _task_context(data, task)
    given = query.person_date(date, "--date")
    new = Baseline.model_validate({"value": value, "date": given.date, "source": source}, strict=False)
    figure = new.model_dump(mode="json", exclude_defaults=True)
    definition, edit, stamp, tid, code = _figure_edit(ws, task, region, "baseline", figure, indicator, note, source, by)
    _write_edit(ws, definition, edit, stamp, tid, code, dry_run)


@command("log")
def log(
    task: Annotated[str | None, typer.Argument(help="Only this task.", show_default=False, autocompletion=complete_task)] = None,
    region: Annotated[
        str | None,
        typer.Option("--region", "-r", autocompletion=complete_region, help="Only records of this region or inside it."),
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Only changes on or after this date (2026-06-01, 2026Q2…).")
    ] = None,
    by: Annotated[str | None, typer.Option("--by", help="Only changes by this person.")] = None,
    fmt: FormatOpt = None,
    data: DataOpt = None,
    json_fields: JsonOpt = None,
) -> None:
    """Show the recorded changes, newest first: when, who, which record, what changed and why.

    Examples:

      ptrack log T08 --region 长三角 --since 2026-06-01

      ptrack log --by 王芳 --format csv > changes.csv

      ptrack log --json at,by,task,region,note
    """
    from policy_tracker import query, render, store

    tid = query.parse_task_id(task) if task is not None else None
    ws = _workspace(data)
    members = query.region_members(ws.regions, query.find_region(ws.regions, region).code) if region else None
    since_date = query.parse_day(since, "--since") if since is not None else None
    entries = store.history(ws, task=tid, regions=members, since=since_date, by=by)
    out = _format(fmt, (Format.table, Format.json, Format.csv), piped=Format.csv)
    if json_fields is not None:
        import json

        from policy_tracker import jsonfields

        _json_fields(json_fields, jsonfields.HISTORY_FIELDS, lambda: json.loads(render.history_json(entries)))
    elif out is Format.json:
        sys.stdout.writelines(render.history_json_chunks(entries))  # streamed: no command holds every history
    elif out is Format.csv:
        sys.stdout.writelines(render.history_csv_chunks(entries, ws))
    else:
        console = render.make_console()
        console.print(render.history_table(list(entries), ws, console.width))


def _records(ws: Workspace, regions: frozenset[str] | set[str] | None, with_national: bool) -> list[Any]:
    """(region, record) pairs: the national records, then the region records of `regions` (all when None)."""
    from policy_tracker import store

    pairs: list[Any] = [("CN", t) for t in ws.tasks] if with_national else []
    pairs += [(r.region, r) for r in store.load_region_records(ws.root, regions)]
    return pairs


@command("undo")
def undo(
    change: Annotated[
        str | None, typer.Argument(help="The change set to revert (default: the last one).", show_default=False)
    ] = None,
    by: ByOpt = None,
    dry_run: DryRunOpt = False,
    data: DataOpt = None,
) -> None:
    """Revert a change set by recording a new one that restores the previous values; history is never rewritten.

    Without an id, the newest change that is neither an undo nor undone: undo again to step further back.
    Reverting an import reverts all of it. Refused when a record has changed since.

    Examples:

      ptrack undo

      ptrack undo 20261128T150803-3fa9c1 --dry-run
    """
    from policy_tracker import store
    from policy_tracker.changes import plan_undo, region_of, task_of

    ws = _workspace(data)
    target = change.strip() if change is not None else store.newest_change(ws)
    if target is None:
        raise PtrackError("there is nothing to undo: no change is recorded that is not an undo or undone already")
    mine = {(e.task, e.region): e.entry for e in store.change_entries(ws, target)}
    if not mine:
        raise PtrackError(f"no change set {target}", fix="`ptrack log` lists them")
    stamp = _stamp(_who(by, ws.root), undoes=target)
    written = store.change_records(
        ws.root,
        sorted(mine),
        lambda record: plan_undo(record, mine[(task_of(record), region_of(record))]),
        stamp,
        dry_run=dry_run,
    )
    _report_written(written, ws, stamp, dry_run)


@command("import")
def import_csv(
    file: Annotated[
        Path,
        typer.Argument(help="CSV file (UTF-8, with or without BOM, or GB18030) or Excel workbook (.xlsx).", show_default=False),
    ],
    encoding: Annotated[
        str | None,
        typer.Option(
            "--encoding",
            help="The file's encoding (utf-8 or gb18030). Default: UTF-8, or GB18030 when the whole file clearly is.",
            show_default=False,
        ),
    ] = None,
    by: ByOpt = None,
    dry_run: DryRunOpt = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="List every record's changes, not only the summary.")] = False,
    data: DataOpt = None,
) -> None:
    """Import a spreadsheet of updates, all or nothing, as one change set.

    Columns, in English or Chinese (case, spaces and full-width letters ignored): task 任务, region 地区,
    status 状态, indicator 指标, value 数值, date 日期, source 来源, note 说明, by 填报人 (only task is
    required). A row with indicator and value adds an observation (date and source required). Regions by
    code or name (南京 or 南京市); dates as 2026-09-30, 2026/9/30, 2026年9月, 2026年, 2026Q3 or 2026年第三季度
    (a quarter is stored as its last day, with the quarter as its period); values may carry thousands
    separators and the indicator's unit (68.2%). One bad row means no change at all, and every problem is
    listed as `row N, column C: problem`. Ends with a summary per region; --verbose lists every record.

    Example: ptrack import jiangsu-2026-q3.csv --dry-run
    """
    from policy_tracker import bulk, exchange, render, store
    from policy_tracker.changes import plan_edit

    ws = _workspace(data)
    try:
        raw = file.read_bytes()
    except OSError as e:
        raise PtrackError(f"cannot read {file}: {e.strerror}") from None
    if raw.startswith(b"PK\x03\x04") or file.suffix.lower() == ".xlsx":  # a workbook (a zip), whatever its name
        from policy_tracker.workbook import read_workbook_rows

        rows = read_workbook_rows(raw, str(file))
    else:
        text = exchange.decode(raw, str(file), encoding)
        del raw  # up to 20 MB: the rows are all that is kept
        rows = exchange.read_rows(text, str(file))
        del text

    # Grouped by record without reading any; each record is then read once, checked and staged outside the lock
    # (policy_tracker.bulk), and the change set is committed under it: other writers wait for the commit only.
    groups = exchange.group_rows(rows, ws)
    reporters = {key: next((r.get("by") for r in group if r.get("by")), None) for key, group in groups.items() if key}
    unnamed = [key for key, name in reporters.items() if name is None]
    who = _who_if_known(by, ws.root)
    stamp = _stamp(who or "、".join(sorted({n for n in reporters.values() if n})) or "?")
    names = {t.id: {i.id: i.name_zh for i in t.indicators} for t in ws.tasks}

    def plan(record: Task | RegionRecord, item: exchange.RecordImport) -> RecordChange:
        evidence = ws.config.require_evidence
        change = plan_edit(record, item.edit, indicators=names[item.task], require_evidence=evidence, stamp=stamp)
        if change.changes or change.note:  # a row that changes nothing and says nothing is no change
            change.note = f"import of {file.name}" + (f": {change.note}" if change.note else "")
        change.by = item.by
        return change

    checking = dry_run or (who is None and bool(unnamed))  # without a name nothing is written: the rows are checked
    with render.progress_phases() as phase:
        outcome = bulk.import_groups(
            ws, groups, plan, stamp, dry_run=checking, keep_text=dry_run and verbose, keep_entries=verbose, progress=phase
        )
    if outcome.problems:
        for p in outcome.problems:
            print(_shown(f"{file}: {p}"), file=sys.stderr)
        n = len(outcome.problems)
        raise PtrackError(f"{n} problem{'s' if n > 1 else ''} in {file}; nothing was imported")
    # Every row may name who reported it (填报人): then the file says who, and no --by is needed, dry run or not.
    if who is None and unnamed:
        first = sorted(groups[key][0].number for key in unnamed)
        rows_without = ", ".join(str(n) for n in first[:3]) + (" ..." if len(unnamed) > 3 else "")
        raise PtrackError(
            f"no name is given for who reported rows {rows_without}",
            fix="Fill the by (填报人) column, or give --by NAME, or set PTRACK_USER",
        )
    written, unchanged = outcome.written, outcome.unchanged
    stamp = outcome.stamp or stamp  # stamped anew at the commit when another writer changed one of its records
    by_record = {key for key in groups if key}
    if not written:
        print(f"Nothing to change: the records already hold these values ({unchanged:,} rows unchanged).", file=sys.stderr)
        return
    regions = {store.record_path(ws.root, task, region): region for task, region in by_record}
    summary = exchange.import_summary(written, regions, unchanged, ws, stamp, file.name, dry_run=dry_run, added=outcome.added)
    sys.stdout.write(summary)
    if verbose:
        _report_written(written, ws, stamp, dry_run)
    elif dry_run:
        print("Dry run: nothing was written. --verbose shows each record's changes.", file=sys.stderr)


def _current_record(ws: Workspace, task: str, region: str) -> Task | RegionRecord:
    from policy_tracker import store
    from policy_tracker.models import RegionRecord

    record = store.load_record(ws.root, task, region)
    return record if record is not None else RegionRecord(schema_version=1, task=task, region=region)


@command("export")
def export(
    fmt: Annotated[
        ExportFormat | None,
        typer.Option(
            "--format",
            "-f",
            help="csv (opens in Excel, reads back with import), json (every field), xlsx (a workbook: tasks, "
            "records, observations, assessments, matrix), sqlite (a database for Datasette, DuckDB or SQL) or "
            "observations (one typed row per figure, for pandas and R). Default: from the -o file's extension, else csv.",
            show_default=False,
        ),
    ] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file (default: stdout).")] = None,
    region: Annotated[
        str | None,
        typer.Option("--region", "-r", autocompletion=complete_region, help="Only records of this region or inside it."),
    ] = None,
    lang: LangOpt = Lang.both,
    data: DataOpt = None,
    also: WithOpt = None,
) -> None:
    """Export the records: status and observations as CSV for spreadsheets, everything as JSON, or a workbook.

    The CSV is UTF-8 with a byte-order mark (Excel shows the Chinese text intact), no cell can run as a
    formula, and `ptrack import` reads it back as no change. The workbook (xlsx) has a sheet per table with
    frozen headers, a drop-down of statuses, numbers as numbers and codes as text; `--lang zh` gives Chinese
    headers; its records sheet, too, reads back through `ptrack import` as no change.

    Examples:

      ptrack export -o all.csv

      ptrack export --region 江苏省 --lang zh -o 江苏.xlsx

      ptrack export --region 长三角 --format json -o yrd.json

      ptrack export --with ../shanghai --with ../jiangsu -o national.csv

      ptrack export -o tracker.db                            # then: datasette tracker.db, or duckdb

      ptrack export --format observations -o figures.csv    # pandas.read_csv(..., parse_dates=["date"])
    """
    from policy_tracker import exchange, query, render, store

    ws = _workspace(data)
    others = _others(ws, also)
    members = query.region_members(ws.regions, query.find_region(ws.regions, region).code) if region else None
    with_national = members is None or "CN" in members
    origins: list[str] = []
    written = [0]
    records: Iterable[Any]
    if others:
        rows = _rolled_up(ws, others, query.national_rows(ws.tasks) if with_national else [], frozenset(members or []) or None)
        records = [(r.region, r.record) for r in rows]
        origins = [r.origin for r in rows]
    else:  # one record at a time from the index, counted as it goes
        records = _counted(
            itertools.chain(
                [("CN", t) for t in ws.tasks] if with_national else [],
                ((r.region, r) for r in store.region_records(ws.root, members)),
            ),
            written,
        )
    kind = fmt or _format_of(
        output,
        {".csv": ExportFormat.csv, ".xlsx": ExportFormat.xlsx, ".json": ExportFormat.json, ".db": ExportFormat.sqlite,
         ".sqlite": ExportFormat.sqlite},
        ExportFormat.csv,
    )  # fmt: skip
    payload: bytes | Iterable[bytes]
    if kind is ExportFormat.csv and others:
        table = [[*line, origin] for pair, origin in zip(records, origins, strict=True) for line in exchange.export_rows([pair])]
        payload = exchange.export_csv(table, header=(*exchange.COLUMNS, "origin"))
    elif kind is ExportFormat.csv:
        payload = exchange.export_csv_chunks(exchange.iter_export_rows(records))
    elif kind is ExportFormat.json and others:
        payload = render.dump_json(
            [{"region": region, "origin": origin, "record": r.model_dump(mode="json", by_alias=True)}
             for (region, r), origin in zip(records, origins, strict=True)]
        ).encode("utf-8")  # fmt: skip
    elif kind is ExportFormat.json:
        payload = (text.encode("utf-8") for text in render.records_json_chunks(records))
    elif kind is ExportFormat.sqlite:
        from policy_tracker.analysis import sqlite_bytes

        if output is None and sys.stdout.isatty():
            raise PtrackError("a database cannot be shown on the terminal", fix="Add -o FILE.db")
        payload = sqlite_bytes(ws.tasks, records, origins or None)
    elif kind is ExportFormat.observations:
        from policy_tracker.analysis import observations_csv_chunks

        payload = (text.encode("utf-8") for text in observations_csv_chunks(records, origins or None))
    else:
        from policy_tracker.matrix import build_matrix
        from policy_tracker.workbook import export_workbook

        _, assessed, scope, _ = _assess(ws, None, region or "CN", None, "linear", None)
        matrix = build_matrix(ws.tasks, ws.regions, scope, assessed, max_columns=None)
        payload = export_workbook(list(records), ws.tasks, ws.regions, assessed, matrix, lang.value)
    binary = ("a workbook", "xlsx") if kind is ExportFormat.xlsx else None
    if not _deliver(payload, output, binary):
        return
    print(f"Wrote {len(records) if isinstance(records, list) else written[0]} records to {output}", file=sys.stderr)


def _deliver(payload: bytes | Iterable[bytes], output: Path | None, binary: tuple[str, str] | None) -> bool:
    """Write `payload` to `-o` (True) or to standard output (False); `binary` (what, suffix) is refused on a terminal."""
    if output is not None:
        from policy_tracker import store

        store.write_output(output, payload)
        return True
    if binary is not None and sys.stdout.isatty():
        raise PtrackError(f"{binary[0]} cannot be shown on the terminal", fix=f"Add -o FILE.{binary[1]}")
    sys.stdout.buffer.writelines([payload] if isinstance(payload, bytes) else payload)
    sys.stdout.flush()
    return False


def _counted(items: Iterable[_T], count: list[int]) -> Iterator[_T]:
    """`items` as they come, counted in `count[0]`."""
    for item in items:
        count[0] += 1
        yield item


# ---------------------------------------------------------------------------------------------- progress

AsOfOpt = Annotated[
    str | None, typer.Option("--as-of", help="Compute as of the end of this day, month or quarter (China time); default: today.")
]
MethodOpt = Annotated[
    str,
    typer.Option(
        "--method", autocompletion=complete_method, help="linear (time-elapsed test) or cagr (growth-rate ratio, Open SDG)."
    ),
]


def _assess(
    ws: Workspace,
    goal: str | None,
    region: str | None,
    as_of: str | None,
    method: str,
    tolerance: float | None,
    others: list[Workspace] | None = None,
    kept: dict[tuple[str, str], Any] | None = None,
    only: frozenset[str] | None = None,
) -> tuple[Any, list[TaskProgress], Any, list[Any]]:
    """Progress of the records in scope, each as it was at the as-of date; also the records held as they are now:
    the national ones, or in a roll-up all of them (a region's own records are streamed from the index, one at a
    time, with only the history the date needs). `kept` receives the records, as of the date, that have a rating
    or next steps (without their indicators and history), by (task, region). `only`: assess only the region
    records of these regions (a matrix's columns)."""
    import datetime as dt

    from policy_tracker import clock, progress, query, store

    if method not in ("linear", "cagr"):
        raise PtrackError(f"unknown method '{method}'", fix="Use linear or cagr")
    day = query.parse_day(as_of, "--as-of", end=True) if as_of is not None else clock.today()
    moment = dt.datetime.combine(day, dt.time.max, tzinfo=clock.CHINA)
    settings = progress.Settings(tolerance=ws.config.tolerance if tolerance is None else tolerance, method=method)  # type: ignore[arg-type]
    scope = query.find_region(ws.regions, region) if region is not None else None
    rows = query.national_rows(ws.tasks)
    if others:  # a roll-up: every workspace's region records, or those of the scope
        members = frozenset(query.region_members(ws.regions, scope.code)) if scope is not None else None
        rows = _rolled_up(ws, others, rows, members)
        if members is not None:
            rows = query.filter_rows(rows, query.TaskFilter(regions=members))
    elif scope is not None:
        members = frozenset(query.region_members(ws.regions, scope.code))
        rows = query.filter_rows(rows, query.TaskFilter(regions=members))
    in_scope = rows
    goal_id = query.find_goal(ws.goals, goal).id if goal is not None else None
    if goal_id is not None:
        rows = query.filter_rows(rows, query.TaskFilter(goal=goal_id))
    horizons = tuple(sorted(g.year for g in ws.goals)) or (2030,)
    assessed = []

    def assess(row: query.RecordRow, note: str | Literal[False] | None = False) -> None:
        assessed.append(progress.task_progress(row, day, settings, horizons, latest_note=note))
        if kept is not None and (row.record.rating or row.record.next_steps):
            kept[(row.task.id, row.region)] = row.record.model_copy(update={"indicators": [], "history": []})

    for row in rows:
        record = progress.as_of_record(row.record, moment)
        if record is not None:
            assess(query.RecordRow(record if row.region == "CN" else row.task, row.region, record, row.origin))  # type: ignore[arg-type]
    if scope is not None and not others:  # the region records, one at a time: none is held once assessed
        inside = frozenset(query.region_members(ws.regions, scope.code))
        streamed = inside if only is None else inside & only
        for row, note in _as_of_rows(ws, store.region_records_as_of(ws.root, streamed, moment), goal_id):
            assess(row, note)
    order = query.sort_keys("id", ws.chapters)
    assessed.sort(key=lambda t: order(query.RecordRow(t.task, t.region, t.task)))
    return day, assessed, scope, in_scope


def _as_of_rows(ws: Workspace, parts: Iterable[Any], goal_id: str | None) -> Iterator[tuple[Any, str | None]]:
    """(row, latest note) of each region record streamed as of a date (`store.region_records_as_of`) whose task
    is known and serves the goal, and that existed at the date."""
    from policy_tracker import progress, query

    by_id = {t.id: t for t in ws.tasks}
    for part in parts:
        task = by_id.get(part.record.task)
        if task is None or (goal_id is not None and not query.serves_goal(task, goal_id)):
            continue
        record = progress.as_of_parts(part.record, part.later, part.earlier)
        if record is not None:
            yield query.RecordRow(task, record.region, record), part.note


def _progress_json_streamed(
    ws: Workspace, goal: str | None, region: str, as_of: str | None, method: str, tolerance: float | None
) -> Iterator[str]:
    """progress's JSON for a region, never every record held: the summaries are made from the records of the
    region and its members (the others only counted, in SQL), then every record is assessed again as it is
    written, task by task (`store.region_records_as_of_by_task`). The same text as `render.progress_json`."""
    import datetime as dt

    from policy_tracker import clock, progress, query, render, store
    from policy_tracker.matrix import scope_regions

    scope = query.find_region(ws.regions, region)
    columns = frozenset(r.code for r in scope_regions(ws.regions, scope))
    day, own, scope, _ = _assess(ws, goal, region, as_of, method, tolerance, only=columns)
    moment = dt.datetime.combine(day, dt.time.max, tzinfo=clock.CHINA)
    inside = frozenset(query.region_members(ws.regions, scope.code))
    goal_id = query.find_goal(ws.goals, goal).id if goal is not None else None
    known = {t.id for t in ws.tasks if goal_id is None or query.serves_goal(t, goal_id)}
    reported = [(t, r) for t, r in store.region_records_existing(ws.root, inside, moment) if t in known]
    view = _overview(ws, goal, day, own, scope, method, tolerance, reported)
    settings = progress.Settings(tolerance=ws.config.tolerance if tolerance is None else tolerance, method=method)  # type: ignore[arg-type]
    horizons = tuple(sorted(g.year for g in ws.goals)) or (2030,)
    national = {t.task.id: t for t in own if t.region == "CN"}
    ordered = [t.id for t in sorted(ws.tasks, key=lambda t: t.number)]
    parts = store.region_records_as_of_by_task(ws.root, inside, moment, ordered)

    def records() -> Iterator[TaskProgress]:
        current = None
        for row, note in _as_of_rows(ws, parts, goal_id):
            while current != row.task.id:  # the national record of each task before its regions'
                current = ordered[0 if current is None else ordered.index(current) + 1]
                if current in national:
                    yield national[current]
            yield progress.task_progress(row, day, settings, horizons, latest_note=note)
        for task in ordered[0 if current is None else ordered.index(current) + 1 :]:
            if task in national:
                yield national[task]

    return render.progress_json_chunks(view, None, records())


def _report_records(
    ws: Workspace,
    goal: str | None,
    day: Any,
    scope: Any,
    method: str,
    tolerance: float | None,
    own: list[TaskProgress],
    kept: dict[tuple[str, str], Any],
) -> tuple[Iterator[tuple[TaskProgress, Any]], list[tuple[str, str]]]:
    """The report's records for a region, streamed task by task in report order (as `_progress_json_streamed`), each
    assessed as it comes with its record as of the date; and (task, region) of every record that existed then."""
    import datetime as dt

    from policy_tracker import clock, progress, query, store

    moment = dt.datetime.combine(day, dt.time.max, tzinfo=clock.CHINA)
    inside = frozenset(query.region_members(ws.regions, scope.code))
    goal_id = query.find_goal(ws.goals, goal).id if goal is not None else None
    known = {t.id for t in ws.tasks if goal_id is None or query.serves_goal(t, goal_id)}
    reported = [(t, r) for t, r in store.region_records_existing(ws.root, inside, moment) if t in known]
    settings = progress.Settings(tolerance=ws.config.tolerance if tolerance is None else tolerance, method=method)  # type: ignore[arg-type]
    horizons = tuple(sorted(g.year for g in ws.goals)) or (2030,)
    national = {t.task.id: t for t in own if t.region == "CN"}
    ordered = [t.id for t in sorted(ws.tasks, key=lambda t: t.number)]

    def records() -> Iterator[tuple[TaskProgress, Any]]:
        parts = store.region_records_as_of_by_task(ws.root, inside, moment, ordered)
        given = 0  # the tasks (in `ordered`) whose national record has been given: it comes before its regions'
        for row, note in _as_of_rows(ws, parts, goal_id):
            for task in ordered[given : ordered.index(row.task.id) + 1]:
                if task in national:
                    yield national[task], kept.get((task, "CN"))
            given = max(given, ordered.index(row.task.id) + 1)
            yield progress.task_progress(row, day, settings, horizons, latest_note=note), row.record
        for task in ordered[given:]:
            if task in national:
                yield national[task], kept.get((task, "CN"))

    return records(), reported


def _overview(
    ws: Workspace,
    goal: str | None,
    day: Any,
    assessed: list[TaskProgress],
    scope: Any,
    method: str,
    tolerance: float | None,
    deeper: Iterable[tuple[str, str]] = (),
) -> Any:
    from policy_tracker import progress

    goals = [g for g in ws.goals if goal is None or g.id == goal]
    total = sum(1 for t in ws.tasks if goal is None or goal in {s.split(".")[0] for s in t.serves})
    settings = progress.Settings(tolerance=ws.config.tolerance if tolerance is None else tolerance, method=method)  # type: ignore[arg-type]
    return progress.overview(
        goals,
        assessed,
        day,
        scope=scope,
        regions=ws.regions,
        tasks_total=total,
        settings=settings,
        definitions=ws.tasks,
        deeper=deeper,
    )


@command("progress")
def progress_view(
    goal: Annotated[
        str | None, typer.Option("--goal", "-g", autocompletion=complete_goal, help="Only tasks serving this goal: 2030 or 2035.")
    ] = None,
    region: Annotated[
        str | None,
        typer.Option(
            "--region", "-r", autocompletion=complete_region, help="This region's own records, and its members separately."
        ),
    ] = None,
    as_of: AsOfOpt = None,
    method: MethodOpt = "linear",
    tolerance: Annotated[
        float | None, typer.Option("--tolerance", help="In line within ± this share, 0 to 0.25 (default 0.05).")
    ] = None,
    lang: LangOpt = Lang.both,
    fmt: Annotated[
        ProgressFormat | None,
        typer.Option("--format", "-f", help="table or json. Default: table on a terminal, JSON when piped.", show_default=False),
    ] = None,
    data: DataOpt = None,
    also: WithOpt = None,
    json_fields: JsonOpt = None,
) -> None:
    """Are we on track? Coverage and counts per goal and 2030 component, in words first; the assessed
    indicators with anticipated progress; earlier milestones; each record's status beside its data.

    Progress is measured at each indicator's data date (the end of its latest figure's period); --as-of only
    decides which data are known.

    Examples:

      ptrack progress --goal 2030

      ptrack progress --region 江苏 --as-of 2026-06-30

      ptrack progress --with ../shanghai --with ../jiangsu --format json

      ptrack progress --goal 2030 --json task,region,status,data
    """
    from policy_tracker import render

    ws = _workspace(data)
    others = _others(ws, also)
    out = _format(Format(fmt.value) if fmt else None, (Format.table, Format.json), piped=Format.json)
    if out is Format.json and json_fields is None and not others and region is not None:
        sys.stdout.writelines(_progress_json_streamed(ws, goal, region, as_of, method, tolerance))
        return
    day, assessed, scope, in_scope = _assess(ws, goal, region, as_of, method, tolerance, others)
    view = _overview(ws, goal, day, assessed, scope, method, tolerance)
    origins = {(r.task.id, r.region): r.origin for r in in_scope} if others else None
    if json_fields is not None:
        import json

        from policy_tracker import jsonfields

        available = (*jsonfields.PROGRESS_FIELDS, "origin") if others else jsonfields.PROGRESS_FIELDS
        _json_fields(json_fields, available, lambda: json.loads(render.progress_json(view, origins))["records"])
    elif out is Format.json:
        sys.stdout.writelines(render.progress_json_chunks(view, origins))
    else:
        render.make_console().print(render.progress_view(ws, view, lang.value))


@command("matrix")
def matrix_view(
    region: Annotated[
        str,
        typer.Option(
            "--region",
            "-r",
            autocompletion=complete_region,
            help="The region: its own records and those of the regions one level inside it.",
        ),
    ] = "CN",
    as_of: AsOfOpt = None,
    lang: LangOpt = Lang.both,
    fmt: FormatOpt = None,
    data: DataOpt = None,
) -> None:
    """Who has reported what: the 23 tasks down, a region and the regions inside it across.

    Each cell is the record's status and what its numbers say; 未报送 (not reported) where a region has no record
    for the task, with how many regions inside it did (未报送 · 下辖1个已报送: a county of the city reported). A
    province shows its cities, a cluster its members; on a terminal, regions where nothing at all was reported
    (nor inside them) are named below the table instead of taking a column.

    Examples:

      ptrack matrix --region 江苏省

      ptrack matrix --region 长三角 --as-of 2026-09-30 --format csv > yrd-matrix.csv
    """
    import datetime as dt

    from policy_tracker import clock, query, render, store
    from policy_tracker.matrix import build_matrix, scope_regions

    ws = _workspace(data)
    scope = query.find_region(ws.regions, region)
    columns = frozenset(r.code for r in scope_regions(ws.regions, scope))
    day, assessed, scope, _ = _assess(ws, None, region, as_of, "linear", None, only=columns)
    # the records inside the columns' regions are only counted (未报送 · 下辖N个已报送): from the index, none assessed
    moment = dt.datetime.combine(day, dt.time.max, tzinfo=clock.CHINA)
    members = query.region_members(ws.regions, scope.code)
    known = {t.id for t in ws.tasks}
    reported = [(t, r) for t, r in store.region_records_existing(ws.root, members, moment) if t in known]
    out = _format(fmt, (Format.table, Format.json, Format.csv), piped=Format.csv)
    m = build_matrix(
        ws.tasks, ws.regions, scope, assessed, max_columns=None if out is not Format.table else 12, reported=reported
    )
    if out is Format.json:
        sys.stdout.write(render.matrix_json(m, lang.value))
    elif out is Format.csv:
        sys.stdout.write(render.matrix_csv(m, lang.value))
    else:
        render.make_console().print(render.matrix_table(m, lang.value))


@command("report")
def report(
    goal: Annotated[
        str | None, typer.Option("--goal", "-g", autocompletion=complete_goal, help="Only tasks serving this goal: 2030 or 2035.")
    ] = None,
    region: Annotated[
        str | None, typer.Option("--region", "-r", autocompletion=complete_region, help="This region and the regions inside it.")
    ] = None,
    as_of: AsOfOpt = None,
    since: Annotated[str | None, typer.Option("--since", help="List the changes recorded since this date.")] = None,
    method: MethodOpt = "linear",
    tolerance: Annotated[float | None, typer.Option("--tolerance", help="In line within ± this share (default 0.05).")] = None,
    lang: LangOpt = Lang.both,
    fmt: Annotated[
        ReportFormat | None,
        typer.Option(
            "--format",
            "-f",
            help="markdown, html (one self-contained web page) or docx (Word). Default: from the -o file's "
            "extension, else markdown.",
            show_default=False,
        ),
    ] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file (default: stdout).")] = None,
    data: DataOpt = None,
    also: WithOpt = None,
) -> None:
    """Write the progress report for a review meeting: markdown, a web page or a Word file.

    Summary, exceptions first, charts, tables per goal component and chapter, indicators with their sources,
    the changes since a date, and the methodology. Every format shows the same content.

    The same workspace and options always give the same content, so a report for a date can be made again later.

    Examples:

      ptrack report --as-of 2026-06-30 --since 2026-01-01 -o report-2026H1.md

      ptrack report --region 江苏省 --lang zh --format docx -o 进展报告.docx

      ptrack report --region 长三角 --lang zh -o yrd.html

      ptrack report --with ../shanghai --with ../jiangsu -o national.md
    """
    from policy_tracker.report_md import render_markdown_chunks

    ws = _workspace(data)
    others = _others(ws, also)
    day, model = _report_model(ws, others, goal, region, as_of, since, method, tolerance, lang.value)
    kind = fmt or _report_format(output)
    payload: bytes | Iterator[bytes]
    if kind is ReportFormat.docx:
        from policy_tracker.report_docx import render_docx_chunks

        payload = render_docx_chunks(model)
    elif kind is ReportFormat.html:
        from policy_tracker.report_html import render_html_chunks

        payload = (text.encode("utf-8") for text in render_html_chunks(model))
    else:
        payload = (text.encode("utf-8") for text in render_markdown_chunks(model))
    if not _deliver(payload, output, ("a Word file", "docx") if kind is ReportFormat.docx else None):
        return
    print(f"Wrote the report as of {day} to {output}", file=sys.stderr)


def _report_model(
    ws: Workspace,
    others: list[Workspace],
    goal: str | None,
    region: str | None,
    as_of: str | None,
    since: str | None,
    method: str,
    tolerance: float | None,
    lang: Any,
    whole: bool = False,
) -> tuple[Any, Any]:
    """(as-of day, report.Report) for `report`'s options. A region's records are streamed task by task from the
    index and assessed once as they come (`_report_records`); `whole`: every record assessed and held first, as
    the national and roll-up reports are (the tests compare the two)."""
    import datetime as dt
    import heapq

    from policy_tracker import __version__, clock, progress, query, store
    from policy_tracker.matrix import build_matrix, scope_regions
    from policy_tracker.query import instant
    from policy_tracker.report import ReportInput, build_report

    records: dict[tuple[str, str], Any] = {}  # as they were at the as-of date: the ratings' rationale, next steps
    if region is not None and not others and not whole:  # a region's records streamed from the index, task by task
        columns = frozenset(r.code for r in scope_regions(ws.regions, query.find_region(ws.regions, region)))
        day, own, scope, in_scope = _assess(ws, goal, region, as_of, method, tolerance, kept=records, only=columns)
        tasks, reported = _report_records(ws, goal, day, scope, method, tolerance, own, records)
        view = _overview(ws, goal, day, own, scope, method, tolerance, reported)
    else:
        day, own, scope, in_scope = _assess(ws, goal, region, as_of, method, tolerance, others, kept=records)
        tasks, reported = ((t, records.get((t.task.id, t.region))) for t in own), []
        view = _overview(ws, goal, day, own, scope, method, tolerance)
    since_day = query.parse_day(since, "--since") if since is not None else None
    changes: Iterable[Any] = []
    if since_day is not None:
        start, end = (
            dt.datetime.combine(since_day, dt.time.min, tzinfo=clock.CHINA),
            dt.datetime.combine(day, dt.time.max, tzinfo=clock.CHINA),
        )
        changes = progress.history_between(in_scope, start, end)
        if scope is not None and not others:  # the region records' changes, streamed from the index's history rows
            by_id = {t.id: t for t in ws.tasks}
            members = query.region_members(ws.regions, scope.code)
            found = (
                (query.RecordRow(by_id[task], region, by_id[task]), entry)
                for task, region, entry in store.region_changes_streamed(ws.root, members, start, end)
                if task in by_id
            )
            changes = heapq.merge(changes, found, key=lambda c: (instant(c[1].at), c[1].change), reverse=True)
    document = ws.config.document
    definitions = [t for t in ws.tasks if goal is None or query.serves_goal(t, query.find_goal(ws.goals, goal).id)]
    model = build_report(
        ReportInput(
            title_zh=document.title_zh if document else ws.config.name,
            title_en=document.title_en if document else ws.config.name,
            workspace=_rolled_name(ws, others),
            version=__version__,
            as_of=day,
            region=scope,
            goals=[g for g in ws.goals if goal is None or g.id == goal],
            chapters=ws.chapters,
            regions=ws.regions,
            tasks=tasks,
            changes=changes,
            since=since_day,
            tolerance=ws.config.tolerance if tolerance is None else tolerance,
            method=method,
            matrix=build_matrix(definitions, ws.regions, scope, own, reported=reported) if scope is not None else None,
            definitions=definitions,
            overview=view,
        ),
        lang,
    )
    return day, model


def _report_format(output: Path | None) -> ReportFormat:
    """The format an -o file's extension names (.md, .docx, .html, .htm); markdown without one."""
    known = {".md": ReportFormat.markdown, ".markdown": ReportFormat.markdown, ".docx": ReportFormat.docx,
             ".html": ReportFormat.html, ".htm": ReportFormat.html}  # fmt: skip
    return _format_of(output, known, ReportFormat.markdown)


def _format_of(output: Path | None, known: dict[str, FormatT], default: FormatT) -> FormatT:
    """The format an -o file's extension names; the default without one. An extension the command cannot
    write (out.pdf) is an error: writing CSV into a .pdf would leave a file no reader opens."""
    if output is None:
        return default
    from policy_tracker import store

    store.check_output(output)  # a refused path (a workspace file, a device) says so before its extension does
    suffix = output.suffix.lower()
    if suffix and suffix not in known:
        raise PtrackError(
            f"ptrack cannot write a {suffix} file",
            fix=f"Name the file with one of {', '.join(known)}, or give --format",
        )
    return known.get(suffix, default)


# ---------------------------------------------------------------------------------------------- the workspace


@command("migrate-regions")
def migrate_regions(by: ByOpt = None, dry_run: DryRunOpt = False, data: DataOpt = None) -> None:
    """Move records kept under retired region codes to the code the registry uses now, with history kept.

    Before the registry held every division, a municipality had two records: 上海 as the city 310000 and
    上海市 as the province 31. It is one place with one code now (31, and 11, 12, 50 for 北京, 天津, 重庆).
    This moves records/310000/T08.yaml to records/31/T08.yaml (a history entry says so), changes owners
    that name a retired code, and drops the retired entries from regions.yaml, all as one change set.

    Example: ptrack migrate-regions --dry-run
    """
    from policy_tracker import store
    from policy_tracker.regions import RETIRED

    ws = _workspace(data)
    stamp = _stamp(_who(by, ws.root))
    done = store.migrate_regions(ws.root, dict(RETIRED), stamp, dry_run=dry_run)
    if not done.written and not done.dropped:
        print("Nothing to migrate: no record uses a retired region code.", file=sys.stderr)
        return
    head = "Would move" if dry_run else "Moved"
    print(f"{head} {len(done.moved)} record{'' if len(done.moved) == 1 else 's'} as change {stamp.change} by {_shown(stamp.by)}:")
    for old, new in done.moved:
        print(f"  {store.display_path(old)} → {store.display_path(new)}")
    for w in done.written:
        if not any(new == w.path for _, new in done.moved):
            print(f"  {store.display_path(w.path)}: owner changed")
    if done.dropped:
        print(f"  regions.yaml: retired entries {', '.join(done.dropped)} removed")
    if dry_run:
        print("Dry run: nothing was written.", file=sys.stderr)


@command("validate")
def validate(
    changed: Annotated[
        str | None,
        typer.Option(
            "--changed",
            metavar="BASE",
            help="Check only the records changed since BASE (git diff BASE...HEAD), and that their authors own those regions.",
        ),
    ] = None,
    by: Annotated[
        str | None,
        typer.Option(
            "--by",
            help="With --changed: the author to check. Default: $PTRACK_USER, else each commit's author.",
            show_default=False,
        ),
    ] = None,
    data: DataOpt = None,
) -> None:
    """Check every file of the workspace and print every problem as file:line: field: message.

    Exits 0 when the workspace is clean and 1 otherwise, so it can run in CI and in a pre-commit hook. With
    --changed, a merge request's check: only the records it changed, and each change made by an owner of the
    record's region (the owners map in ptrack.yaml).

    Examples:

      ptrack validate --data .

      ptrack validate --changed origin/main
    """
    from policy_tracker import store

    location = store.find_workspace(data)
    _recover(location.root)
    touched = None
    if changed is not None:
        from policy_tracker import gitrepo, owners

        touched = owners.touched_records(gitrepo.changed_files(location.root, changed))
    try:
        ws, n_records = store.validate_workspace(location.root, only=None if touched is None else {t.path for t in touched})
    except WorkspaceInvalid as e:
        for problem in e.problems:
            print(_shown(problem))
        _fail(f"{e.what} in {location.root}. Fix the lines above")
        raise typer.Exit(1) from None
    if changed is not None and touched is not None:
        refused = _outside_owners(ws, changed, touched, by)
        for line in refused:
            print(_shown(line))
        if refused:
            n = len(refused)
            _fail(f"{n} change{'s' if n > 1 else ''} outside the author's regions since {changed}. Ask the region's owners")
            raise typer.Exit(1)
        checked = "each by an owner of its region" if ws.config.owners else "no owners map in ptrack.yaml, authors not checked"
        n = len(touched)
        print(f"OK: {location.root}: {n} changed record{'' if n == 1 else 's'} since {changed}, valid, {checked}.")
        return
    n_ind = sum(len(t.indicators) for t in ws.tasks)
    records = f"{n_records} region record{'' if n_records == 1 else 's'}"
    print(f"OK: {location.root}: {len(ws.tasks)} tasks, {records}, {n_ind} indicators, {len(ws.regions)} regions, no problems.")


def _outside_owners(ws: Workspace, base: str, touched: list[Any], by: str | None) -> list[str]:
    """One line per changed record whose author owns neither its region nor a region it lies in."""
    import os

    from policy_tracker import gitrepo, owners

    if not ws.config.owners:
        return []
    given = (by or os.environ.get("PTRACK_USER", "")).strip()
    out = []
    for t in touched:
        people = [(given, "")] if given else gitrepo.authors(ws.root, base, t.path)
        for name, email in people:
            author = [x for x in (name, email) if x]
            if owners.may_change(ws.regions, ws.config.owners, author, t.region):
                continue
            region = ws.regions_by_code.get(t.region)
            label = f"{region.zh} {t.region}" if region else t.region
            mine = owners.regions_of(ws.regions, ws.config.owners, author)
            allowed = ", ".join(owners.owners_of(ws.regions, ws.config.owners, t.region))
            out.append(
                f"{t.path}: {name} changed a record of {label}, whose owners are {allowed}; "
                f"{name} owns {', '.join(mine) if mine else 'no region'} in ptrack.yaml"
            )
    return out


@command("owners")
def owners_view(
    codeowners: Annotated[
        bool, typer.Option("--codeowners", help="Write the CODEOWNERS file GitLab and GitHub enforce, from the owners map.")
    ] = False,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="With --codeowners: where (default: CODEOWNERS in the workspace; - for stdout)."),
    ] = None,
    data: DataOpt = None,
) -> None:
    """Show who may change each region's records: the owners map in ptrack.yaml, with what each region inherits.

    The map (`owners:` in ptrack.yaml) names, per region code, git users, teams (@group/team) or e-mails; the
    owners of a region also own the regions inside it, and CN's own everything. `validate --changed` enforces it
    in CI; `--codeowners` makes the git server ask those owners to approve.

    Examples:

      ptrack owners

      ptrack owners --codeowners -o .gitlab/CODEOWNERS
    """
    from policy_tracker import gitrepo, owners, store

    ws = _workspace(data)
    mapping = ws.config.owners
    if not mapping:
        raise PtrackError(
            "ptrack.yaml has no owners map",
            fix='Add one, e.g. `owners: {"31": [shanghai-office], CN: [ndrc-team]}`; see docs/collaboration.md',
        )
    if not codeowners:
        for code, own in mapping.items():
            region = ws.regions_by_code.get(code)
            inherited = [o for o in owners.owners_of(ws.regions, mapping, code) if o not in own]
            shown = ", ".join([*own, *(f"{o} (inherited)" for o in inherited)])
            print(_shown(f"{code}\t{region.zh if region else '(not in the registry)'}\t{shown}"))
        print("Every other region belongs to the owners of the nearest region above it listed here.", file=sys.stderr)
        return
    text = owners.codeowners(ws.regions, mapping, gitrepo.prefix(ws.root))
    if output is not None and str(output) == "-":
        sys.stdout.write(text)
        return
    target = output if output is not None else ws.root / "CODEOWNERS"
    store.write_output(target, text.encode("utf-8"))
    print(f"Wrote {target}", file=sys.stderr)


@command("schema")
def schema(kind: Annotated[SchemaKind, typer.Argument(help="Which file's schema.")] = SchemaKind.task) -> None:
    """Print the JSON Schema of a workspace file, for editors that check YAML as you type.

    Example: ptrack schema task > task.schema.json, then put
    `# yaml-language-server: $schema=task.schema.json` at the top of a task file.
    """
    from policy_tracker import render
    from policy_tracker.models import FILE_MODELS

    sys.stdout.write(render.dump_json(FILE_MODELS[kind.value].model_json_schema(by_alias=True)))


@command("init")
def init(directory: Annotated[Path, typer.Argument(help="Folder to create (or an empty one).", show_default=False)]) -> None:
    """Create a workspace in DIRECTORY as a copy of the bundled dataset, for a team to keep in git.

    Example: ptrack init urban-tracker && cd urban-tracker && git init && git add . && git commit -m "Start"
    """
    from policy_tracker import store

    root = store.init_workspace(directory)
    print(f"Created a ptrack workspace in {root}. Inside it, ptrack uses it without --data.", file=sys.stderr)


@command("where")
def where(data: DataOpt = None) -> None:
    """Say which workspace ptrack uses here, and why.

    Example: ptrack where
    """
    from policy_tracker import store

    location = store.find_workspace(data, create=False)
    print(location.root)
    print(f"  why: {location.reason}")


@command("merge-driver")
def merge_driver(
    base: Annotated[Path, typer.Argument(help="The common ancestor (git's %O).", show_default=False)],
    ours: Annotated[Path, typer.Argument(help="Our version (git's %A); the result is written here.", show_default=False)],
    theirs: Annotated[Path, typer.Argument(help="Their version (git's %B).", show_default=False)],
    path: Annotated[str | None, typer.Argument(help="The record's path, for messages (git's %P).", show_default=False)] = None,
) -> None:
    """Merge two versions of a record for git: histories united in time order, concurrent changes combined.

    Git runs it for the files `ptrack init` routes to it in .gitattributes; enable it once per clone with:

      git config merge.ptrack.driver "ptrack merge-driver %O %A %B"

    Exits 0 when merged, 1 when both sides changed a field differently: the record then keeps both choices
    and `ptrack validate` says how to choose. A file it cannot read is merged line by line (git merge-file).

    Example: ptrack merge-driver base.yaml ours.yaml theirs.yaml records/31/T08.yaml
    """
    import subprocess

    from policy_tracker import merge, store

    shown = path or str(ours)
    sides = [store.read_merge_side(p) for p in (base, ours, theirs)]
    text = None
    result = None
    if all(side is not None for side in sides):
        (_, o), (ours_text, a), (_, b) = sides  # type: ignore[misc]
        if not o and isinstance(a.get("task"), str) and isinstance(a.get("region"), str):
            o = merge.default_record(a["task"], a["region"])  # both sides created it
        result = merge.merge_records(o, a, b)
        text = store.merged_record_text(ours_text, result.data)
        if store.check_record_text(Path(shown), text):
            text = None
    if text is None or result is None:
        print(f"ptrack: {shown} is not a record ptrack can merge; merging it line by line", file=sys.stderr)
        labels = ["-L", "ours", "-L", "base", "-L", "theirs"]
        run = subprocess.run(["git", "merge-file", *labels, str(ours), str(base), str(theirs)], check=False)
        raise typer.Exit(1 if run.returncode else 0)
    ours.write_text(text, encoding="utf-8")
    if result.conflicts:
        from policy_tracker.models import Conflict

        task = str(result.data.get("task") or result.data.get("id"))
        region = str(result.data.get("region", "CN"))
        conflicts = [Conflict.model_validate(c, strict=False) for c in result.conflicts]
        for name, message in merge.conflict_messages(conflicts, task, region):
            print(f"ptrack: {shown}: {name}: {message}", file=sys.stderr)
        raise typer.Exit(1)
