"""The `ptrack` command line: each command parses its options, calls the layers below, and renders."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from policy_tracker import __version__
from policy_tracker.errors import PtrackError, WorkspaceInvalid

if TYPE_CHECKING:
    from policy_tracker.models import Workspace

app = typer.Typer(
    name="ptrack",
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

F = TypeVar("F", bound=Callable[..., Any])


def _fail(message: str) -> None:
    # Plain print, not Rich: user text such as "[draft]" must not be read as markup.
    print(f"Error: {message}", file=sys.stderr)


def command(name: str) -> Callable[[F], F]:
    """Register a command whose user-fixable errors end as one line on stderr and exit code 1."""

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except WorkspaceInvalid as e:
                for problem in e.problems:
                    print(problem, file=sys.stderr)
                _fail(str(e))
                raise typer.Exit(1) from None
            except PtrackError as e:
                _fail(str(e))
                raise typer.Exit(1) from None

        app.command(name)(wrapper)
        return fn

    return decorate


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


def _workspace(data: Path | None) -> Workspace:
    from policy_tracker import store

    location = store.find_workspace(data)
    if location.created:
        print(f"Created your workspace at {location.root} from the bundled dataset (`ptrack where` explains).", file=sys.stderr)
    return store.load_workspace(location.root)


def _format(fmt: Format | None, allowed: tuple[Format, ...], piped: Format) -> Format:
    if fmt is None:
        return Format.table if sys.stdout.isatty() else piped
    if fmt not in allowed:
        raise PtrackError(f"--format {fmt.value} is not available here", fix=f"Use one of: {', '.join(f.value for f in allowed)}")
    return fmt


@command("list")
def list_tasks(
    goal: Annotated[str | None, typer.Option("--goal", "-g", help="Only tasks serving this goal: 2030 or 2035.")] = None,
    component: Annotated[
        str | None,
        typer.Option(
            "--component", "-c", help="Only tasks serving this goal component: key (green), number (4) or words (绿色)."
        ),
    ] = None,
    chapter: Annotated[str | None, typer.Option("--chapter", help="Only this chapter: 三 or 3.")] = None,
    status: Annotated[
        list[str] | None, typer.Option("--status", "-s", metavar="STATUS", help="Only this status (repeat for several).")
    ] = None,
    region: Annotated[
        str | None,
        typer.Option("--region", "-r", help="Only tasks owned by this region or a region inside it (长三角, 31, Shanghai)."),
    ] = None,
    search: Annotated[
        str | None, typer.Option("--search", "-q", help="Only tasks whose titles, measures or notes contain this text.")
    ] = None,
    sort: Annotated[str, typer.Option("--sort", help="Sort by id, chapter, status, owner or title.")] = "id",
    lang: LangOpt = Lang.both,
    fmt: FormatOpt = None,
    data: DataOpt = None,
) -> None:
    """List the tasks, filtered and sorted.

    Examples:

      ptrack list --goal 2030 --component green

      ptrack list --status in_progress --status blocked --region 长三角

      ptrack list --search 城市更新 --format csv > tasks.csv
    """
    from policy_tracker import query, render

    ws = _workspace(data)
    title = None
    goal_id = component_key = None
    if component is not None and goal is None:
        goal = next((g.id for g in ws.goals if g.components), None) or "2030"
    if goal is not None:
        g = query.find_goal(ws.goals, goal)
        goal_id = g.id
        title = f"{g.id} · {render.pick(g.headline_zh, g.headline_en, lang.value, ' ')}"
        if component is not None:
            c = query.find_component(g, component)
            component_key = c.key
            title += f" · {c.number} {render.pick(c.zh, c.en, lang.value, ' ')}"
    chapter_label = query.find_chapter(ws.chapters, chapter).label if chapter is not None else None
    statuses = frozenset(query.parse_status(s) for s in status or [])
    regions = None
    if region is not None:
        r = query.find_region(ws.regions, region)
        regions = frozenset(query.region_members(ws.regions, r.code))
    selection = query.TaskFilter(goal_id, component_key, chapter_label, statuses, regions, search)
    tasks = query.sort_tasks(query.filter_tasks(ws.tasks, selection), sort, ws.chapters)

    out = _format(fmt, tuple(Format), piped=Format.csv)
    if out is Format.json:
        sys.stdout.write(render.models_json(tasks))
    elif out is Format.csv:
        sys.stdout.write(render.tasks_csv(tasks))
    elif out is Format.markdown:
        sys.stdout.write(render.tasks_markdown(ws, tasks, lang.value))
    else:
        render.print_tasks(render.make_console(), ws, tasks, lang.value, title)


@command("show")
def show(
    task: Annotated[str, typer.Argument(help="Task ID: T08, t8 or 8.", show_default=False)],
    lang: LangOpt = Lang.both,
    fmt: FormatOpt = None,
    data: DataOpt = None,
) -> None:
    """Show one task: titles, chapter, goals served, status, owner, measures with provenance, indicators, history.

    Example: ptrack show T08
    """
    from policy_tracker import query, render

    query.parse_task_id(task)  # a malformed ID is reported before the workspace is even read
    ws = _workspace(data)
    record = query.find_task(ws, task)
    out = _format(fmt, (Format.table, Format.json, Format.markdown), piped=Format.markdown)
    if out is Format.json:
        sys.stdout.write(render.dump_json(record.model_dump(mode="json")))
    elif out is Format.markdown:
        sys.stdout.write(render.task_markdown(ws, record))
    else:
        render.make_console().print(render.task_panel(ws, record, lang.value))


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
def regions(lang: LangOpt = Lang.both, fmt: FormatOpt = None, data: DataOpt = None) -> None:
    """Show the region registry as a tree: China, provinces, cities, and the city clusters with their provinces.

    Example: ptrack regions --format csv
    """
    from policy_tracker import render

    ws = _workspace(data)
    out = _format(fmt, (Format.table, Format.json, Format.csv), piped=Format.csv)
    if out is Format.json:
        sys.stdout.write(render.models_json(ws.regions))
    elif out is Format.csv:
        sys.stdout.write(render.regions_csv(ws.regions))
    else:
        render.make_console().print(render.regions_tree(ws.regions, lang.value))


@command("validate")
def validate(data: DataOpt = None) -> None:
    """Check every file of the workspace and print every problem as file:line: field: message.

    Exits 0 when the workspace is clean and 1 otherwise, so it can run in CI and in a pre-commit hook.

    Example: ptrack validate --data .
    """
    from policy_tracker import store

    location = store.find_workspace(data)
    try:
        ws = store.load_workspace(location.root)
    except WorkspaceInvalid as e:
        for problem in e.problems:
            print(problem)
        _fail(f"{e} in {location.root}. Fix the lines above")
        raise typer.Exit(1) from None
    n_ind = sum(len(t.indicators) for t in ws.tasks)
    print(f"OK: {location.root}: {len(ws.tasks)} tasks, {n_ind} indicators, {len(ws.regions)} regions, no problems.")


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
