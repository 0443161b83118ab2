"""Pydantic records of a ptrack workspace: goals, chapters, regions, tasks, indicators, history."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, JsonValue, model_validator

from policy_tracker.regions import Region as Region  # the registry's plain data, named here as every model is
from policy_tracker.regions import RegionKind, Registry, SizeClass, Tier

# the plain terms live in `terms`, which the read path imports without pydantic
from policy_tracker.terms import SCHEMA_VERSION as SCHEMA_VERSION  # re-exported: callers import these from models
from policy_tracker.terms import STATUS_LABELS as STATUS_LABELS
from policy_tracker.terms import STATUSES as STATUSES
from policy_tracker.terms import TASK_COUNT as TASK_COUNT
from policy_tracker.terms import chinese_numeral as chinese_numeral
from policy_tracker.terms import parse_instant as parse_instant
from policy_tracker.terms import task_id as task_id

Status = Literal["not_started", "in_progress", "completed", "blocked", "deferred"]
Direction = Literal["higher_is_better", "lower_is_better", "context"]
TextRecovered = Literal["verbatim_complete_probable", "verbatim_partial", "secondary_only", "title_only"]

_PERIOD_RE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


def _period_date(value: object) -> object:
    """A reference date: a year (2024), a month (2024-06) or a day (2024-06-30); a bare YAML year is an int."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return value  # the str type check then reports it
    m = _PERIOD_RE.match(value)
    if not m:
        raise ValueError(f"'{value}' is not a date: write YYYY, YYYY-MM or YYYY-MM-DD")
    year, month, day = int(m[1]), int(m[2] or 1), int(m[3] or 1)
    try:
        dt.date(year, month, day)
    except ValueError:
        raise ValueError(f"'{value}' is not a real date") from None
    return value


def _instant_text(value: object) -> object:
    if isinstance(value, str):
        parse_instant(value)
    return value


Instant = Annotated[str, Field(min_length=1), AfterValidator(_instant_text)]

PeriodDate = Annotated[str, BeforeValidator(_period_date), Field(examples=["2024", "2024-06", "2024-06-30"])]
NonEmpty = Annotated[str, Field(min_length=1)]
RegionCode = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,32}$", examples=["CN", "11", "YRD", "310000"])]
TaskId = Annotated[str, Field(pattern=r"^T\d{2}$", examples=["T08"])]
IndicatorId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]


class Record(BaseModel):
    """Strict: unknown fields and wrong types are errors, never silently coerced."""

    model_config = ConfigDict(extra="forbid", strict=True)


_UNIT = Field(
    None,
    description="the unit as published, only where it differs from the indicator's unit (人 where the indicator is in 万人)",
    examples=["人", "万部"],
)
_BASIS = Field(
    None,
    description="which of a publisher's figures this is when it publishes more than one; another basis is another series",
    examples=["扣除沙尘异常超标天"],
)


class Observation(Record):
    date: PeriodDate
    value: float | None = Field(description="null when the source gives only words (see value_text)")
    unit: str | None = _UNIT
    basis: str | None = _BASIS
    qualifier: Literal[">", "<", "~"] | None = Field(None, description="the source says more than / less than / about")
    value_text: str | None = None
    period: str | None = Field(None, description="when the value covers several years, e.g. 2021-2025")
    publisher: str | None = None
    source: NonEmpty
    also_sources: list[str] = []
    note: str | None = None


class Baseline(Record):
    value: float
    date: PeriodDate
    unit: str | None = _UNIT
    basis: str | None = _BASIS
    publisher: str | None = None
    source: NonEmpty
    note: str | None = None


class Target(Record):
    """A target set by a related official plan: for a year, or for a period the plan names instead of a year."""

    year: int | None = Field(None, description="the year the plan sets; null when it names only a period")
    value: float | None
    unit: str | None = _UNIT
    basis: str | None = _BASIS
    comparator: Literal[">=", "<=", ">", "<", "~", "="] | None = None
    value_text: str | None = None
    period: str | None = Field(
        None,
        description="a cumulative (2021-2025) or standing (每年, from 2025) target's period, as the plan gives it",
        examples=["2021-2025", "每年 (from 2025)"],
    )
    target_from: NonEmpty = Field(description="the official plan that sets the target (the Opinions set none)")
    issued: PeriodDate | None = Field(None, description="when that plan was issued, as precisely as known; null if unknown")
    predates_opinions: bool | None = None
    source: NonEmpty
    note: str | None = None

    @model_validator(mode="after")
    def _year_or_period(self) -> Target:
        if self.year is None and self.period is None:
            raise ValueError("a target needs a year or a period (a standing or multi-year target): write one of them")
        return self


class IndicatorData(Record):
    """An indicator's figures for one record: the national ones in the task file, a region's in its record."""

    id: IndicatorId
    baseline: Baseline | None = None
    targets: list[Target] = []
    observations: list[Observation] = []


def comparable(a: Observation | Baseline | Target, b: Observation | Baseline | Target) -> str | None:
    """Why two figures of one indicator cannot be compared, or None when they can.

    Figures in different units (as published) or on different bases are different series; a unit or basis
    left out means the indicator's own. The reason reads after "not comparable: ".
    """
    if a.unit != b.unit:
        return f"units differ ({a.unit or 'the indicator unit'} vs {b.unit or 'the indicator unit'})"
    if a.basis != b.basis:
        return f"bases differ ({a.basis or 'no stated basis'} vs {b.basis or 'no stated basis'})"
    return None


def latest_observation(observations: list[Observation]) -> Observation | None:
    """The most recent observation with a number (one in words only does not count)."""
    numeric = [o for o in observations if o.value is not None]
    return max(numeric, key=lambda o: o.date) if numeric else None


class Indicator(Record):
    id: IndicatorId
    name_zh: NonEmpty
    name_en: NonEmpty
    unit: NonEmpty
    direction: Direction
    frequency: Literal["annual", "quarterly", "monthly"] | None = Field(
        None, description="how often it is published; an observation older than twice that is flagged stale"
    )
    definition: str | None = None
    also_tasks: list[TaskId] = []
    baseline: Baseline | None = None
    targets: list[Target] = []
    observations: list[Observation] = []
    notes: str | None = None


class Measure(Record):
    zh: NonEmpty
    en: NonEmpty
    basis: Literal["verbatim", "secondary"]
    source: str | None = Field(None, description="when absent, the task's `sources` cover the measure")
    note: str | None = None


class Change(Record):
    field: NonEmpty
    old: JsonValue = None
    new: JsonValue = None


class HistoryEntry(Record):
    change: NonEmpty = Field(description="the change set (one update, import or undo) this entry belongs to")
    at: Instant = Field(description="ISO 8601 time with time zone")
    by: NonEmpty
    changes: list[Change]
    note: str | None = None
    source: str | None = None
    undoes: str | None = Field(None, description="the change set this one reverts")


class ConflictChoice(Record):
    value: JsonValue = None
    change: str | None = Field(None, description="the change set that recorded this value")
    by: str | None = None


class Conflict(Record):
    """A field two offices changed differently in concurrent commits: git's merge driver (`ptrack merge-driver`)
    keeps the value from before both, lists both choices here, and `validate` asks a person to choose."""

    field: NonEmpty = Field(description="status, owner, rating or observation:<indicator>:<date>")
    choices: list[ConflictChoice]


class Rating(Record):
    """A reviewer's judgement, as opposed to what the numbers say."""

    level: Literal["green", "amber", "red"]
    rationale: NonEmpty
    by: NonEmpty
    at: NonEmpty


class Task(Record):
    schema_version: int
    id: TaskId
    number: int = Field(ge=1, le=TASK_COUNT)
    label: NonEmpty
    title_zh: NonEmpty
    title_en: NonEmpty
    chapter: NonEmpty
    serves: list[NonEmpty] = Field(min_length=1, description="goal ids ('2030') or components ('2030.green')")
    text_recovered: TextRecovered
    revision: int = Field(0, ge=0, description="counts the recorded changes to this record")
    status: Status
    rating: Rating | None = None
    next_steps: str | None = Field(None, description="what will be done next (ptrack update --next)")
    owner: RegionCode = "CN"
    lead_units: list[str] = []
    co_units: list[str] = []
    measures: list[Measure] = []
    places: list[str] = []
    sources: list[str] = []
    indicators: list[Indicator] = []
    notes: list[str] = []
    conflicts: list[Conflict] = Field([], description="unresolved concurrent changes (see docs/collaboration.md)")
    history: list[HistoryEntry] = []

    @model_validator(mode="after")
    def _number_matches(self) -> Task:
        if self.id != task_id(self.number):
            raise ValueError(f"id {self.id} does not match number {self.number} (expected {task_id(self.number)})")
        expected = f"（{chinese_numeral(self.number)}）"
        if self.label != expected:
            raise ValueError(f"label {self.label} does not match number {self.number} (expected {expected})")
        return self


class RegionRecord(Record):
    """How one task stands in one region: records/<region>/<task>.yaml."""

    schema_version: int
    task: TaskId
    region: RegionCode
    revision: int = Field(0, ge=0)
    status: Status = "not_started"
    rating: Rating | None = None
    next_steps: str | None = Field(None, description="what will be done next (ptrack update --next)")
    owner: RegionCode | None = Field(None, description="the region responsible; default: the record's region")
    lead_units: list[str] = []
    co_units: list[str] = []
    indicators: list[IndicatorData] = []
    notes: list[str] = []
    conflicts: list[Conflict] = Field([], description="unresolved concurrent changes (see docs/collaboration.md)")
    history: list[HistoryEntry] = []


class Component(Record):
    key: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    number: int = Field(ge=1)
    zh: NonEmpty
    en: NonEmpty
    reading: str | None = Field(None, description="which chapters the tracker reads as serving it, and why")


class Goal(Record):
    id: Annotated[str, Field(pattern=r"^\d{4}$")]
    year: int
    headline_zh: NonEmpty
    headline_en: NonEmpty
    components: list[Component] = []


class GoalsFile(Record):
    schema_version: int
    mapping_basis: str | None = None
    goals: list[Goal]
    source: str | None = None


class Chapter(Record):
    label: NonEmpty
    number: int
    title_zh: NonEmpty
    title_en: NonEmpty
    notes: list[str] = []


class ChaptersFile(Record):
    schema_version: int
    source: str | None = None
    chapters: list[Chapter]


class RegionEntry(Record):
    """An entry of a workspace's regions.yaml, validated; the registry holds it as a plain `Region`."""

    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True, title="Region")

    code: RegionCode
    zh: NonEmpty
    en: NonEmpty
    kind: RegionKind
    parent: RegionCode | None = Field(None, description="the enclosing region (a province's is CN)")
    provinces: list[RegionCode] = Field([], description="a city cluster: the provinces it lies in")
    aliases: list[str] = []
    tier: Tier | None = None
    size_class: SizeClass | None = Field(None, alias="class")
    note: str | None = None

    def to_region(self) -> Region:
        return Region(self.code, self.zh, self.en, self.kind, self.parent, list(self.provinces), list(self.aliases),
                      self.tier, self.size_class, self.note)  # fmt: skip


class RegionsFile(Record):
    schema_version: int
    regions: list[RegionEntry]


class DocumentInfo(Record):
    title_zh: NonEmpty
    title_en: NonEmpty
    issuer_zh: str | None = None
    issued: PeriodDate
    published: PeriodDate | None = None
    published_by: str | None = None


def _owners_map(value: object) -> object:
    """YAML reads `31:` as a number and one owner as text: keys become region codes, each value a list."""
    if not isinstance(value, dict):
        return value
    return {
        (str(k) if isinstance(k, int) and not isinstance(k, bool) else k): ([v] if isinstance(v, str) else v)
        for k, v in value.items()
    }


class WorkspaceConfig(Record):
    schema_version: int
    name: NonEmpty
    document: DocumentInfo | None = None
    require_evidence: list[Status] = Field(
        ["completed"], description="statuses a record may only move to with a --source or a --note"
    )
    tolerance: float = Field(
        0.05, ge=0, le=0.25, description="how far (as a share) progress may sit from the time elapsed and still be in line"
    )
    owners: Annotated[dict[RegionCode, list[NonEmpty]], BeforeValidator(_owners_map)] = Field(
        {},
        description="who may change each region's records: region code -> git users, teams (@group/team) or e-mails; "
        "owners of a region also own the regions inside it (ptrack owners --codeowners, validate --changed)",
    )


@dataclass
class Workspace:
    """A loaded, validated workspace; `root` is the folder holding ptrack.yaml.

    `regions` is the registry (policy_tracker.regions.Registry): every division of China plus the regions of
    the workspace's own regions.yaml, loaded only as far as a command needs them.
    """

    root: Path
    config: WorkspaceConfig
    goals: list[Goal]
    chapters: list[Chapter]
    regions: Sequence[Region]
    tasks: list[Task]
    regions_by_code: Mapping[str, Region] = field(init=False)

    def __post_init__(self) -> None:
        if not isinstance(self.regions, Registry):
            self.regions = Registry(self.regions)
        self.regions_by_code = self.regions.by_code


FILE_MODELS: dict[str, type[BaseModel]] = {
    "task": Task,
    "goals": GoalsFile,
    "chapters": ChaptersFile,
    "regions": RegionsFile,
    "workspace": WorkspaceConfig,
}
