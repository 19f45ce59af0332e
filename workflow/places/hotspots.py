"""Hot spots (主动治理): the cases opened in a period, by community and item, so that a street or
the district sees where complaints repeat and acts before the next one.

Who sees what: a street office's staff and administrators see their own street's communities;
the district's users (administrators, auditors, staff) see every street, or one they choose.
Nobody else: a workstation sees its own cases in its inbox already."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflow import config
from workflow.actors import Actor
from workflow.catalog import registry
from workflow.errors import InvalidInput, NotHolder
from workflow.inputs import FIRST_YEAR, LAST_YEAR, date_range_text, in_range
from workflow.store.models import Case

MAX_DAYS = 366


@dataclass
class Hotspots:
    """Counts of the period's cases: by community and item, by community, by item."""

    start: dt.datetime
    end: dt.datetime
    street: str | None
    # The communities shown (the street's, or all): workstation codes.
    communities: list[str]
    cells: dict[tuple[str, str], int] = field(default_factory=dict)
    by_community: dict[str, int] = field(default_factory=dict)
    by_item: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.by_community.values())

    def top(self, n: int = 20) -> list[tuple[str, str, int]]:
        """The N largest (community, item, count) cells, largest first."""
        rows = sorted(self.cells.items(), key=lambda kv: (-kv[1], kv[0]))
        return [(ws, item, count) for (ws, item), count in rows[:n]]


def streets_for(session: Session, actor: Actor, street: str | None) -> str | None:
    """The street ACTOR may see hot spots of, given the one asked for (None: every street)."""
    units = registry.units(session)
    mine = units.units.get(actor.unit or "")
    if street is not None:
        u = units.units.get(street)
        if u is None or u.kind != "street_office":
            raise InvalidInput(
                f"{street!r} is not a street office",
                {"street": ["unknown"]},
                code="not_a_street",
                params={"street": street},
            )
    if mine is not None and mine.kind == "district":
        return street
    if mine is not None and mine.kind == "street_office" and actor.role in ("staff", "admin"):
        if street not in (None, mine.code):
            raise NotHolder(
                f"a street office sees its own street's hot spots, {mine.code}",
                code="own_street_hotspots",
                params={"street": mine.code},
            )
        return mine.code
    raise NotHolder("hot spots are for the street offices and the district", code="hotspots_for")


def period(start: dt.datetime, end: dt.datetime) -> None:
    if end <= start:
        raise InvalidInput(
            "the period ends before it starts", {"to": ["after from"]}, code="period_ends_before"
        )
    if end - start > dt.timedelta(days=MAX_DAYS):
        raise InvalidInput(
            f"a period of at most {MAX_DAYS} days",
            {"to": [f"at most {MAX_DAYS} days after from"]},
            code="period_at_most",
            params={"days": MAX_DAYS},
        )


def days(session: Session, first: dt.date, last: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The instants [START, END) of the days FIRST..LAST (both included) in the district's time."""
    for name, day in (("from", first), ("to", last)):
        if not in_range(day):
            raise InvalidInput(
                f"{name}: a day {date_range_text()}",
                {name: [date_range_text()]},
                code="day_between",
                params={
                    "field": name,
                    "first": f"{FIRST_YEAR}-01-01",
                    "last": f"{LAST_YEAR}-12-31",
                },
            )
    if last < first:
        raise InvalidInput(
            "the period ends before it starts",
            {"to": ["on or after from"]},
            code="period_ends_before",
        )
    zone = ZoneInfo(config.of(session).timezone)
    start = dt.datetime.combine(first, dt.time(), zone).astimezone(dt.UTC)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), zone).astimezone(dt.UTC)
    return start, end


def hotspots(
    session: Session, *, start: dt.datetime, end: dt.datetime, street: str | None = None
) -> Hotspots:
    """The cases opened in [START, END), in STREET (None: the district), counted."""
    period(start, end)
    units = registry.units(session)
    communities = sorted(
        u.code
        for u in units.units.values()
        if u.kind == "workstation" and (street is None or u.parent == street)
    )
    q = (
        select(Case.workstation, Case.item, func.count())
        .where(Case.created_at >= start, Case.created_at < end)
        # 合并: a complaint merged into another is the same problem, counted once (the master).
        .where(Case.merged_into.is_(None))
        .group_by(Case.workstation, Case.item)
    )
    if street is not None:
        q = q.where(Case.street == street)
    out = Hotspots(start, end, street, communities)
    by_community: dict[str, int] = defaultdict(int)
    by_item: dict[str, int] = defaultdict(int)
    for ws, item, count in session.execute(q):
        out.cells[(ws, item)] = int(count)
        by_community[ws] += int(count)
        by_item[item] += int(count)
    out.by_community = {ws: by_community.get(ws, 0) for ws in communities}
    out.by_item = dict(sorted(by_item.items(), key=lambda kv: (-kv[1], kv[0])))
    return out
