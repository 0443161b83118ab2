"""Change sets: what an update, an import or an undo changes in a record, as pure data (no I/O)."""

from __future__ import annotations

import math
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import JsonValue

from policy_tracker.errors import PtrackError
from policy_tracker.models import (
    Change,
    HistoryEntry,
    IndicatorData,
    Observation,
    Rating,
    RegionRecord,
    Task,
)
from policy_tracker.numbers import format_number

RATINGS = ("green", "amber", "red")
Record = Task | RegionRecord


def new_change_id(now: datetime) -> str:
    """Sortable by time, unique across clones: 20261128T150803-3fa9c1."""
    return f"{now:%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"


def observation_field(indicator: str, date: str) -> str:
    return f"observation:{indicator}:{date}"


def parse_observation_field(name: str) -> tuple[str, str] | None:
    parts = name.split(":")
    return (parts[1], parts[2]) if len(parts) == 3 and parts[0] == "observation" else None


FIGURE_KINDS = ("baseline", "targets")


def figure_field(kind: str, indicator: str) -> str:
    """`baseline:<indicator>` (a baseline) or `targets:<indicator>` (the whole list of targets)."""
    return f"{kind}:{indicator}"


def parse_figure_field(name: str) -> tuple[str, str] | None:
    """(kind, indicator) of a baseline or targets field, else None."""
    parts = name.split(":")
    return (parts[0], parts[1]) if len(parts) == 2 and parts[0] in FIGURE_KINDS else None


@dataclass(frozen=True)
class FigureEdit:
    """A record's baseline, or its list of targets, set anew: data with history like any figure (issue 10).

    `value` is a Baseline as a dict, a list of Target dicts, or None (no baseline, no targets).
    """

    kind: str
    indicator: str
    value: JsonValue


@dataclass(frozen=True)
class NewObservation:
    indicator: str
    value: float
    date: str
    source: str | None = None
    note: str | None = None
    correct: bool = False  # replacing an existing observation of the same date must be asked for
    period: str | None = None  # what the date stands for (a quarter, 2026Q3), or a cumulative span (2026-01/2026-09)


@dataclass(frozen=True)
class Edit:
    """What one caller asks to change in one record."""

    status: str | None = None
    owner: str | None = None
    observations: Sequence[NewObservation] = ()
    rating: str | None = None
    rationale: str | None = None
    note: str | None = None
    source: str | None = None
    figures: Sequence[FigureEdit] = ()
    next_steps: str | None = None  # what will be done next; "" clears it

    def is_empty(self) -> bool:
        return (
            self.status is None
            and self.next_steps is None
            and self.owner is None
            and not self.observations
            and self.rating is None
            and not self.note
            and not self.figures
        )


@dataclass(frozen=True)
class Stamp:
    """Who and when: shared by every record a change set touches."""

    change: str
    at: str
    by: str
    undoes: str | None = None


@dataclass
class RecordChange:
    """The changes to one record, with the why (note), evidence (source) and who of its history entry."""

    task: str
    region: str
    changes: list[Change] = field(default_factory=list)
    note: str | None = None
    source: str | None = None
    by: str | None = None  # who, when it is not the change set's author (a row of an import)


def task_of(record: Record) -> str:
    return record.task if isinstance(record, RegionRecord) else record.id


def region_of(record: Record) -> str:
    return record.region if isinstance(record, RegionRecord) else "CN"


def owner_of(record: Record) -> str:
    return record.owner or region_of(record)


def in_conflict(record: Record, name: str) -> bool:
    """Whether a merge left this field for a person to choose: recording any value resolves it."""
    return any(c.field == name for c in record.conflicts)


def _indicator_data(record: Record, indicator: str) -> IndicatorData | None:
    for ind in record.indicators:
        if ind.id == indicator:
            return IndicatorData(id=ind.id, baseline=ind.baseline, targets=ind.targets, observations=ind.observations)
    return None


def plan_edit(
    record: Record, edit: Edit, *, indicators: Mapping[str, str], require_evidence: Sequence[str], stamp: Stamp
) -> RecordChange:
    """The changes `edit` makes to `record`; refuses what would lose or invent information.

    `indicators` maps the indicator ids this task defines to their names (for messages).
    """
    plan = RecordChange(task_of(record), region_of(record), note=edit.note, source=edit.source)
    if edit.status is not None and (edit.status != record.status or in_conflict(record, "status")):
        if edit.status in require_evidence and not (edit.source or edit.note):
            raise PtrackError(
                f"moving {plan.task} to {edit.status} needs evidence",
                fix="Give its source (a URL or document number) or a note saying how it was done",
            )
        plan.changes.append(Change(field="status", old=record.status, new=edit.status))
    if edit.owner is not None and (edit.owner != owner_of(record) or in_conflict(record, "owner")):
        plan.changes.append(Change(field="owner", old=owner_of(record), new=edit.owner))
    if edit.next_steps is not None and (edit.next_steps.strip() or None) != record.next_steps:
        plan.changes.append(Change(field="next_steps", old=record.next_steps, new=edit.next_steps.strip() or None))
    for obs in edit.observations:
        change = _observation_change(record, plan.task, obs, indicators)
        if change is not None:
            plan.changes.append(change)
    if edit.rating is not None:
        if edit.rating not in RATINGS:
            raise PtrackError(f"unknown rating '{edit.rating}'", fix=f"Use one of: {', '.join(RATINGS)}")
        if not edit.rationale:
            raise PtrackError("a rating needs its rationale", fix="Add --rationale saying why")
        rating = Rating(level=edit.rating, rationale=edit.rationale, by=stamp.by, at=stamp.at)  # type: ignore[arg-type]
        old = record.rating.model_dump(mode="json") if record.rating else None
        plan.changes.append(Change(field="rating", old=old, new=rating.model_dump(mode="json")))
    elif edit.rationale:
        raise PtrackError("--rationale goes with --rating", fix="Give --rating green|amber|red as well")
    for figure in edit.figures:
        change = _figure_change(record, plan.task, figure, indicators, edit)
        if change is not None:
            plan.changes.append(change)
    return plan


def _figure_change(record: Record, task: str, figure: FigureEdit, indicators: Mapping[str, str], edit: Edit) -> Change | None:
    if figure.indicator not in indicators:
        known = ", ".join(indicators) or "none"
        raise PtrackError(f"task {task} has no indicator '{figure.indicator}'", fix=f"Its indicators: {known}")
    if not edit.note:
        raise PtrackError(f"changing the {figure.kind} of {figure.indicator} needs a reason", fix="Add --note saying why")
    field_name = figure_field(figure.kind, figure.indicator)
    old = current_value(record, field_name)
    if _same(old, figure.value):
        return None
    return Change(field=field_name, old=old, new=figure.value)


def _observation_change(record: Record, task: str, obs: NewObservation, indicators: Mapping[str, str]) -> Change | None:
    if obs.indicator not in indicators:
        known = ", ".join(indicators) or "none"
        raise PtrackError(f"task {task} has no indicator '{obs.indicator}'", fix=f"Its indicators: {known}")
    if not math.isfinite(obs.value):
        raise PtrackError(f"'{obs.value}' is not a usable number for {obs.indicator}", fix="Give a finite number")
    if not obs.source:
        raise PtrackError(
            f"a value for {obs.indicator} needs its source",
            fix="Add --source with a URL or document number: every figure carries its source",
        )
    new = Observation(date=obs.date, value=obs.value, period=obs.period, source=obs.source, note=obs.note)
    data = _indicator_data(record, obs.indicator)
    existing = next((o for o in data.observations if o.date == new.date), None) if data else None
    field_name = observation_field(obs.indicator, new.date)
    if existing is not None:
        fixes_source = obs.correct and (existing.source, existing.note) != (new.source, new.note)
        if existing.value == new.value and not in_conflict(record, field_name) and not fixes_source:
            return None  # already recorded: nothing to change (--correct may still fix its source or note)
        if not obs.correct:
            raise PtrackError(
                f"{task} {region_of(record)} already has {obs.indicator} = {_shown(existing)} for {new.date}"
                f" (source {existing.source})",
                fix="To replace it, say so with --correct; the old value stays in the history",
            )
    old = existing.model_dump(mode="json", exclude_none=True, exclude_defaults=True) if existing else None
    return Change(field=field_name, old=old, new=new.model_dump(mode="json", exclude_none=True, exclude_defaults=True))


def _shown(o: Observation) -> str:
    return format_number(o.value) if o.value is not None else repr(o.value_text)


def history_entry(plan: RecordChange, stamp: Stamp) -> HistoryEntry:
    return HistoryEntry(
        change=stamp.change,
        at=stamp.at,
        by=plan.by or stamp.by,
        changes=plan.changes,
        note=plan.note,
        source=plan.source,
        undoes=stamp.undoes,
    )


def _short(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, list):  # a list of targets
        return "; ".join(_short(v) + (f" ({v.get('year') or v.get('period')})" if isinstance(v, dict) else "") for v in value)
    if isinstance(value, dict):
        if "level" in value:  # a rating
            return f"{value['level']} ({value.get('rationale', '')})"
        if "value" in value or "value_text" in value:  # an observation
            shown = value.get("value") if value.get("value") is not None else value.get("value_text")
            return format_number(shown) if isinstance(shown, float | int) and not isinstance(shown, bool) else str(shown)
    return str(value)


def change_lines(entry: HistoryEntry) -> list[str]:
    """One line per changed field, as `log`, `update` and the report show it: `status: not_started → in_progress`."""
    lines = []
    for c in entry.changes:
        parsed = parse_observation_field(c.field)
        figure = parse_figure_field(c.field)
        name = f"{parsed[0]} {parsed[1]}" if parsed else f"{figure[1]} {figure[0]}" if figure else c.field
        lines.append(f"{name}: {_short(c.old)} → {_short(c.new)}")
    if not entry.changes and entry.note:
        lines.append("note only")
    return lines


def current_value(record: Record, field_name: str) -> JsonValue:
    """The value a change's field has now in the record (to check an undo is still safe)."""
    if field_name == "status":
        return record.status
    if field_name == "owner":
        return owner_of(record)
    if field_name == "next_steps":
        return record.next_steps
    if field_name == "region":  # a record moved to its region's canonical code (migrate-regions)
        return region_of(record)
    if field_name == "rating":
        return record.rating.model_dump(mode="json") if record.rating else None
    figure = parse_figure_field(field_name)
    if figure is not None:
        data = _indicator_data(record, figure[1])
        if data is None:
            return None
        if figure[0] == "baseline":
            return data.baseline.model_dump(mode="json", exclude_defaults=True) if data.baseline else None
        return [t.model_dump(mode="json", exclude_defaults=True) for t in data.targets] or None
    parsed = parse_observation_field(field_name)
    if parsed is None:
        raise PtrackError(f"unknown field '{field_name}' in the history", fix="Run `ptrack validate`")
    data = _indicator_data(record, parsed[0])
    found = next((o for o in data.observations if o.date == parsed[1]), None) if data else None
    return found.model_dump(mode="json", exclude_none=True, exclude_defaults=True) if found else None


def _same(a: JsonValue, b: JsonValue) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        keys = set(a) | set(b)
        # a field left out and the same field empty are one value (`also_sources: []` is its default)
        return all(_same(a.get(k), b.get(k)) or (a.get(k) in (None, []) and b.get(k) in (None, [])) for k in keys)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return float(a) == float(b)
    return a == b


def plan_undo(record: Record, entry: HistoryEntry) -> RecordChange:
    """The changes that put back what `entry` changed, refused if the record moved on since."""
    if any(c.field == "region" for c in entry.changes):
        raise PtrackError(
            f"{entry.change} moved records to their region's canonical code (migrate-regions); it cannot be undone",
            fix="Undo an earlier change by giving its id (`ptrack log` lists them)",
        )
    plan = RecordChange(task_of(record), region_of(record), note=f"undo of {entry.change}")
    if not entry.changes:
        raise PtrackError(f"change {entry.change} only recorded a note: there is nothing to revert", fix="Add a new note instead")
    for change in reversed(entry.changes):
        now = current_value(record, change.field)
        if not _same(now, change.new):
            raise PtrackError(
                f"cannot undo {entry.change}: {plan.task} {plan.region} {change.field} has changed since (now {now})",
                fix="Make the change you want with `ptrack update`",
            )
        earlier = _side_by_side(record, entry, change)
        if earlier is not None:
            raise PtrackError(
                f"cannot undo {entry.change}: it changed {change.field} from {_short(change.old)}, but {earlier.change}"
                f" by {earlier.by} had set it to something else before (a merge kept both?); undoing would drop that change",
                fix="Make the change you want with `ptrack update`",
            )
        plan.changes.append(Change(field=change.field, old=change.new, new=change.old))
    return plan


def history_problems(record: Record) -> list[tuple[tuple[int | str, ...], str]]:
    """Where a record's history does not lead to the record as it is: (location, message) pairs, [] when it does.

    The history model: entries in time order; `revision` counts them; the last change of each field ends where
    the record is (its `new` is the field's current value), except for a field a merge left in `conflicts`,
    which waits for a person to choose. A hand edit of a recorded field breaks this, and so does a git merge
    resolved by hand that kept the wrong revision. (Two changes of one field made side by side, each from the
    same old value, are left to `undo`, which refuses to revert the later one: see `plan_undo`.)
    """
    found: list[tuple[tuple[int | str, ...], str]] = []
    n = len(record.history)
    if record.revision != n:
        found.append(
            (("revision",), f"revision is {record.revision} but the history has {n} entries: it counts them, so set it to {n}")
        )
    waiting = {c.field for c in getattr(record, "conflicts", [])}
    last: dict[str, tuple[int, JsonValue]] = {}
    for i, entry in enumerate(record.history):
        for change in entry.changes:
            last[change.field] = (i, change.new)
    for name, (i, new) in last.items():
        if name in waiting:
            continue
        try:
            now = current_value(record, name)
        except PtrackError:
            found.append((("history", i, "changes"), f"unknown field '{name}' in the history"))
            continue
        if not _same(now, new):
            found.append((
                ("history", i),
                f"the history ends with {name} = {_short(new)} but the record holds {_short(now)}: it was changed"
                " without ptrack; put the value back, then make the change with `ptrack update`",
            ))  # fmt: skip
    return found


def _side_by_side(record: Record, entry: HistoryEntry, change: Change) -> HistoryEntry | None:
    """The entry before `entry` that changed the same field to something else than `entry` started from: two
    changes made side by side (a merge kept both); reverting the later would silently drop the earlier."""
    before: tuple[HistoryEntry, Change] | None = None
    for other in record.history:
        if other.change == entry.change:
            break
        for c in other.changes:
            if c.field == change.field:
                before = (other, c)
    if before is None or _same(before[1].new, change.old):
        return None
    return before[0]
