"""Frozen spec objects: what the definition files say, after loading and validation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

URGENCIES = ("normal", "urgent", "critical")
# The clock-time limit columns of an urgency: (response, whistle report, handling).
CLOCK_LIMITS = ("response_min", "report_min", "handling_h")
TIERS = (
    "workstation",
    "street_office",
    "agency",
    "department",
    "applicant",
    # 两委: the community party committee and the residents' committee's mediation committee;
    # the party line goes on to the street party working committee.
    "party_committee",
    "mediation_committee",
    "street_party",
)
# Tiers on the party line: a party item is held only there (and by the applicant).
PARTY_TIERS = frozenset({"party_committee", "street_party"})
UNIT_KINDS = (
    "district",
    "department",
    "street_office",
    "workstation",
    "dispatched_agency",
    # 社区党委 and 居委会 (parent: the community's workstation), 人民调解委员会 (parent: its
    # residents' committee), 街道党工委 and the street's service centre (parent: the street).
    "party_committee",
    "residents_committee",
    "mediation_committee",
    "street_party_committee",
    "service_centre",
    # The district organisation department (区委组织部): a party body, not a government one.
    "party_department",
    # 派单中心: the district's hotline (12345) or a street's (12349) dispatch centre; what came
    # in without a place or with an unclear item waits in its queue (parent: district or street).
    "dispatch_centre",
)
# The categories of the list of powers and responsibilities (权责清单), a closed set.
ITEM_TYPES = (
    "行政许可",
    "行政处罚",
    "行政强制",
    "行政征收",
    "行政给付",
    "行政检查",
    "行政确认",
    "行政奖励",
    "行政裁决",
    "其他行政权力",
    "公共服务",
    "党内事务",
    "人民调解",
    "诉求处置",
)
PARTY_ITEM_TYPE = "党内事务"
MEDIATION_ITEM_TYPE = "人民调解"
# How an item's day limits count: working days (the default), calendar days, months.
LIMIT_UNITS = ("working_days", "calendar_days", "months")
ROLES = ("admin", "clerk", "staff", "auditor", "callback", "dispatcher")
# A case at the dispatch centre (12345/12349), before it has a route: its state and tier; a case
# merged into another (合并) ends in MERGED_STATE. Neither is a route's state.
DISPATCH_STATE = "awaiting_dispatch"
DISPATCH_TIER = "dispatch"
MERGED_STATE = "merged"
# Who may act in a state of each tier. "applicant" is the resident (through an outside
# channel); "system" is the sweep firing a configured timeout.
TIER_ROLES: dict[str, frozenset[str]] = {
    "workstation": frozenset({"clerk", "system"}),
    "street_office": frozenset({"staff", "admin", "system"}),
    "agency": frozenset({"staff", "system"}),
    "department": frozenset({"staff", "system"}),
    "applicant": frozenset({"applicant", "clerk", "system"}),
    "party_committee": frozenset({"staff", "system"}),
    "mediation_committee": frozenset({"staff", "system"}),
    "street_party": frozenset({"staff", "system"}),
}
# Which item column holds the day limit of a tier.
TIER_LIMIT_FIELD = {
    "workstation": "ws_limit_wd",
    "street_office": "street_limit_wd",
    "agency": "street_limit_wd",
    "department": "dept_limit_wd",
    "party_committee": "ws_limit_wd",
    "mediation_committee": "ws_limit_wd",
    "street_party": "street_limit_wd",
}


@dataclass(frozen=True)
class TaskSpec:
    """Parallel tasks opened on entering a state: one per unit, each with its own small life
    (awaiting_report -> working -> done); the case stays in the state, held by the commanding
    unit, until the join holds."""

    # "targets": the units named when firing (a whistle's targets); "whistle_to": the item's.
    per: str = "targets"
    # "all": every task not cancelled is done; "required": the lead's task is done.
    join: str = "all"


TASK_PER = ("targets", "whistle_to")
TASK_JOIN = ("all", "required")


@dataclass(frozen=True)
class StateSpec:
    name: str
    tier: str | None = None
    final: bool = False
    # "days": the tier's working-day limit from the item; "response": response_limit_h hours.
    limit: str = "days"
    on_timeout: str | None = None
    label_zh: str | None = None
    tasks: TaskSpec | None = None


@dataclass(frozen=True)
class TransitionSpec:
    trigger: str
    source: str
    dest: str
    roles: tuple[str, ...]
    reason_required: bool = False
    # "whistle_to": the caller names a target department from the item's whistle_to.
    target: str | None = None


@dataclass(frozen=True)
class RouteSpec:
    name: str
    title_zh: str
    title_en: str
    initial: str
    states: tuple[StateSpec, ...]
    transitions: tuple[TransitionSpec, ...]

    def state(self, name: str) -> StateSpec:
        found = _index(self).states.get(name)
        if found is None:
            raise KeyError(name)
        return found

    @property
    def state_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.states)

    @property
    def triggers(self) -> frozenset[str]:
        return frozenset(t.trigger for t in self.transitions)

    def transition(self, source: str, trigger: str) -> TransitionSpec | None:
        return _index(self).transitions.get((source, trigger))

    @property
    def has_tasks(self) -> bool:
        return _index(self).has_tasks

    def tiers_used(self) -> frozenset[str]:
        return frozenset(s.tier for s in self.states if s.tier and s.tier != "applicant")


@dataclass(frozen=True)
class _RouteIndex:
    route: RouteSpec  # kept, so that its id is not reused while the entry lives
    states: dict[str, StateSpec]
    transitions: dict[tuple[str, str], TransitionSpec]
    has_tasks: bool


# A route's states and transitions by name, built on first use and found by the spec object's
# identity (a spec never changes; hashing one would cost more than the scans it saves): a
# firing and its answer look them up a dozen times. Not kept on the spec itself, so that
# vars(spec) stays its fields.
_indexes: dict[int, _RouteIndex] = {}


def _index(route: RouteSpec) -> _RouteIndex:
    hit = _indexes.get(id(route))
    if hit is not None and hit.route is route:
        return hit
    states: dict[str, StateSpec] = {}
    for st in route.states:
        states.setdefault(st.name, st)
    transitions: dict[tuple[str, str], TransitionSpec] = {}
    for t in route.transitions:
        transitions.setdefault((t.source, t.trigger), t)
    if len(_indexes) >= 256:  # specs come from the registry's cache: a handful per process
        _indexes.clear()
    found = _indexes[id(route)] = _RouteIndex(
        route, states, transitions, any(st.tasks is not None for st in route.states)
    )
    return found


@dataclass(frozen=True)
class UnitSpec:
    code: str
    name_zh: str
    name_en: str
    kind: str
    parent: str | None
    host_street: str | None

    @property
    def agency_kind(self) -> str | None:
        """A stationed agency's kind is the last part of its code (A-ZHL-SF -> SF)."""
        if self.kind != "dispatched_agency":
            return None
        return self.code.rsplit("-", 1)[-1]


@dataclass(frozen=True)
class ItemSpec:
    code: str
    name_zh: str
    name_en: str
    window: str
    kind: str
    route: str
    department: str
    ws_limit_wd: int | None
    street_limit_wd: int | None
    dept_limit_wd: int | None
    response_limit_h: int | None
    street_agency: str | None
    whistle_to: tuple[str, ...]
    materials: tuple[str, ...]
    legal_basis: str
    # Optional columns (a list without them loads as before).
    limit_unit: str = "working_days"
    # Residents may file it from an app (Open311): incidents, consultations, complaints.
    public: bool = False
    # 属地管理: the duty's lead unit and assisting units, the default lead and assistants of a
    # whistle for the item.
    lead_unit: str | None = None
    assist_units: tuple[str, ...] = ()
    # 紧急程度: the item's default urgency, and its clock-time limits (round the clock) for
    # urgent and critical cases; None: the scheme's default.
    urgency: str = "normal"
    urgent_response_min: int | None = None
    urgent_report_min: int | None = None
    urgent_handling_h: int | None = None
    critical_response_min: int | None = None
    critical_report_min: int | None = None
    critical_handling_h: int | None = None

    def day_limit(self, tier: str) -> int | None:
        name = TIER_LIMIT_FIELD.get(tier)
        return getattr(self, name) if name else None


def check_working_hours(hours: Sequence[tuple[dt.time, dt.time]]) -> str | None:
    """Why HOURS are not usable working hours (ordered, non-empty, non-overlapping), or None."""
    if not hours:
        return "at least one interval of working hours"
    last: dt.time | None = None
    for start, end in hours:
        if end <= start:
            return f"{start:%H:%M}-{end:%H:%M} ends before it starts"
        if last is not None and start < last:
            return f"{start:%H:%M}-{end:%H:%M} overlaps or precedes the interval before it"
        last = end
    return None


@dataclass(frozen=True)
class CalendarSpec:
    holidays: tuple[dt.date, ...] = ()
    workdays: tuple[dt.date, ...] = ()
    working_hours: tuple[tuple[dt.time, dt.time], ...] = (
        (dt.time(8, 30), dt.time(12, 0)),
        (dt.time(13, 30), dt.time(17, 30)),
    )


@dataclass(frozen=True)
class Definitions:
    """Everything in one definitions folder, validated."""

    units: tuple[UnitSpec, ...]
    items: tuple[ItemSpec, ...]
    routes: tuple[RouteSpec, ...]
    calendar: CalendarSpec = field(default_factory=CalendarSpec)
    appraisal: dict[str, Any] | None = None
    # The communities' boundaries and the address table (places/), as published; None: none.
    places: dict[str, Any] | None = None

    def unit(self, code: str) -> UnitSpec:
        for u in self.units:
            if u.code == code:
                return u
        raise KeyError(code)

    def item(self, code: str) -> ItemSpec:
        for i in self.items:
            if i.code == code:
                return i
        raise KeyError(code)

    def route(self, name: str) -> RouteSpec:
        for r in self.routes:
            if r.name == name:
                return r
        raise KeyError(name)
