"""Finding cases: one query for the search box, the lists beside the inbox and their filters,
for the API's ``GET /cases`` and the console alike.

``q`` matches, in the caller's scope:
- a case number (``1024`` or ``#1024``);
- the last digits of the applicant's phone (3 or more digits), for those who may reach the
  resident (workflow.privacy.searches_phone);
- the applicant's name, anywhere in it from 3 characters on, or its start for 1-2 characters
  (王, 王五), for those who read names (workflow.privacy.searches_names);
- the place (description and address), anywhere in it from 3 characters on;
- the item, by its code or any part of its name.

Text is found through the search index (workflow.store.search_index): FTS5 trigram on SQLite,
pg_trgm on PostgreSQL, so a search stays fast at a million cases."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    Select,
    Text,
    and_,
    bindparam,
    cast,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
    table,
    text,
    true,
    union_all,
)
from sqlalchemy import case as sql_case
from sqlalchemy import (
    column as sql_column,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql import operators, visitors
from sqlalchemy.sql.elements import BinaryExpression, BindParameter, True_
from sqlalchemy.sql.schema import Column

from workflow import privacy
from workflow.actors import Actor
from workflow.catalog import registry
from workflow.errors import InvalidInput
from workflow.instants import utcnow
from workflow.queries.paging import (
    Branch,
    Key,
    Seek,
    any_of,
    estimated_as,
    narrowing,
    sampling,
    seek,
)
from workflow.queries.scope import MAX_ID, case_filter, held_scope, unit_kind
from workflow.spec.model import URGENCIES
from workflow.store import search_index
from workflow.store.models import Case, CaseUnit, TrailEvent, UTCDateTime

LIGHTS = ("green", "yellow", "red", "none")
# The lists beside the search: every case in scope, the unit's inbox, the cases it handled
# (held at some time), opened, and the whistles its street blew.
VIEWS = ("all", "inbox", "handled", "opened", "whistled")
MAX_Q = 100
# Up to this many matches a list counts them exactly (reading at most as many index entries as
# it counts); beyond it, the count is an estimate from a sample (workflow.queries.paging).
COUNT_CAP = 1_000
DIGITS = re.compile(r"#?(\d+)")
# After every real instant: where a case without a stage limit sorts among those with one.
NEVER = dt.datetime(9999, 12, 31, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Filters:
    """What a list of cases is narrowed by; every field optional."""

    q: str = ""
    view: str = "all"
    state: str | None = None
    holder: str | None = None
    item: str | None = None
    light: str | None = None
    street: str | None = None
    urgency: str | None = None
    opened_from: dt.date | None = None
    opened_until: dt.date | None = None  # inclusive
    overdue: bool = False  # past the whole case's limit, still open
    tz: str = "Asia/Shanghai"

    def check(self) -> None:
        """InvalidInput naming each bad field."""
        errors: dict[str, list[str]] = {}
        if len(self.q) > MAX_Q:
            errors["q"] = [f"at most {MAX_Q} characters"]
        if self.view not in VIEWS:
            errors["view"] = [f"one of {', '.join(VIEWS)}"]
        if self.light and self.light not in LIGHTS:
            errors["light"] = [f"one of {', '.join(LIGHTS)}"]
        if self.urgency and self.urgency not in URGENCIES:
            errors["urgency"] = [f"one of {', '.join(URGENCIES)}"]
        if self.opened_from and self.opened_until and self.opened_from > self.opened_until:
            errors["opened_until"] = ["before opened_from"]
        if errors:
            raise InvalidInput(
                "bad search: " + ", ".join(sorted(errors)),
                errors,
                code="bad_search",
                params={"fields": sorted(errors)},
            )


def _like_escape(text_: str) -> str:
    return text_.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _fts_phrase(text_: str) -> str:
    return '"' + text_.replace('"', '""') + '"'


# The FTS table as SQLAlchemy sees it: its rowid is the case's id.
_FTS = table(search_index.FTS, sql_column("rowid", Integer()))


def _sqlite_match(columns: Sequence[str], words: str) -> ColumnElement[bool]:
    """The cases whose COLUMNS of the FTS table hold WORDS (3 characters or more)."""
    match = "{" + " ".join(columns) + "} : " + _fts_phrase(words)
    # unique: two matches in one query must not share one parameter
    matches = text(f"{search_index.FTS} MATCH :m").bindparams(bindparam("m", match, unique=True))
    return Case.id.in_(select(_FTS.c.rowid).where(matches))


def _name_start(session: Session, q: str) -> ColumnElement[bool]:
    """Names that begin with Q, through the binary-ordered name index (a name of 1-2
    characters has no trigram). On PostgreSQL a Q of two characters carries the same condition
    spelled for the index of the names' first two characters (_name_start2), which where()
    reads."""
    name: Any = Case.applicant_name
    pg = session.get_bind().dialect.name == "postgresql"
    if pg:
        name = name.collate("C")
    starts = and_(name >= q, name < q + "\U0010ffff")
    if pg and len(q) == 2:
        starts = starts._annotate({"name_start2": _name_start2(q, starts)})
    return starts


def _name_start2(q: str, starts: ColumnElement[bool]) -> ColumnElement[bool]:
    """_name_start()'s condition for a Q of two characters (STARTS) as the index by the names'
    first two characters and id reads it (search_index.NAME_START2_INDEX; in a clerk's scope
    the index by workstation, then those, WORKSTATION_NAME_START2_INDEX): the same names (a
    name begins with Q, and its third character is not the last code point, which the range's
    upper bound leaves out), and a page of them newest first is a page of the index, where the
    name index's every match was read and sorted by id (11,000 for two characters at five
    million cases). An estimate asks the planner of STARTS (paging.estimated_as): the same
    estimate as before."""
    name = Case.applicant_name
    # (the index's expression: its length literal)
    first2 = func.left(name, literal_column("2"))
    third = func.substr(name, literal_column("3"), literal_column("1"))
    return estimated_as(and_(first2 == q, third != "\U0010ffff"), starts)


def _text_matches(session: Session, actor: Actor, q: str) -> list[ColumnElement[bool]]:
    sqlite = session.get_bind().dialect.name == "sqlite"
    found: list[ColumnElement[bool]] = []
    names = privacy.searches_names(actor)
    if len(q) >= 3:
        columns = ["place", *(["name"] if names else [])]
        if sqlite:
            found.append(_sqlite_match(columns, q))
        else:
            pattern = "%" + _like_escape(q) + "%"
            found.append(literal_column(search_index.PG_PLACE, Text()).ilike(pattern, escape="\\"))
            if names:
                found.append(Case.applicant_name.ilike(pattern, escape="\\"))
    elif names:
        found.append(_name_start(session, q))
    return found


def _phone_ends(session: Session, digits: str, *, by_workstation: bool) -> ColumnElement[bool]:
    """The cases whose applicant's phone ends with DIGITS. On PostgreSQL pg_trgm's index serves
    the LIKE; in a workstation's scope (BY_WORKSTATION: a clerk's) the same phones spelled as
    the reversed phone's start, a range of the index by workstation and reversed phone
    (search_index.WORKSTATION_PHONE_INDEX), where the workstation's every case was read into a
    bitmap to keep the trigram index's matches in it. (DIGITS are digits: no LIKE wildcards.)"""
    ends = Case.applicant_phone.like("%" + digits)
    if session.get_bind().dialect.name == "sqlite":
        return and_(_sqlite_match(["phone"], digits), ends)
    if by_workstation:
        return func.reverse(Case.applicant_phone).like(digits[::-1] + "%")
    return ends


def _items_named(session: Session, q: str) -> list[str]:
    """The codes of the items whose code or name (Chinese or English) holds Q."""
    needle = q.casefold()
    items, _version = registry.items(session)
    hits = []
    for code, it in items.items():
        if any(needle in w.casefold() for w in (code, it.name_zh, it.name_en)):
            hits.append(code)
    return hits


def q_filter(
    session: Session, actor: Actor, q: str, *, by_workstation: bool = False
) -> ColumnElement[bool] | None:
    """The cases Q finds for ACTOR (before scope); None: Q is empty. BY_WORKSTATION: the scope
    fixes the workstation (a clerk's), and a phone's last digits are spelled for the index by
    workstation and reversed phone on PostgreSQL (_phone_ends)."""
    q = " ".join(q.split())
    if not q:
        return None
    found: list[ColumnElement[bool]] = []
    number = DIGITS.fullmatch(q)
    if number:
        digits = number.group(1)
        if 1 <= int(digits) <= MAX_ID:
            found.append(Case.id == int(digits))
        if q.startswith("#"):  # a case number, nothing else
            return or_(*found) if found else false()
        if len(digits) >= 3 and privacy.searches_phone(actor):
            found.append(_phone_ends(session, digits, by_workstation=by_workstation))
    if not number or len(q) >= 3:
        found.extend(_text_matches(session, actor, q))
    codes = _items_named(session, q)
    if codes:
        found.append(Case.item.in_(codes))
    if not found:
        return false()
    if len(found) > 1 and len(q) >= 3 and session.get_bind().dialect.name == "sqlite":
        return _one_set(found)
    # The items the word names, a name's start: each counted by its own index (paging.any_of);
    # not a case number (one case at most, never more than the cap).
    quick = [
        i
        for i, cond in enumerate(found)
        if not _by_trigrams(cond) and not (number and cond.compare(Case.id == int(number.group(1))))
    ]
    return any_of(found, quick)


def _by_trigrams(cond: ColumnElement[bool]) -> bool:
    """Whether COND is a text match (LIKE) that only the trigram index serves."""
    return any(
        getattr(el, "operator", None) in (operators.ilike_op, operators.like_op)
        for el in visitors.iterate(cond)
    )


# More items than this that a word names are one branch (their ids sorted), not one each.
MAX_ITEM_BRANCHES = 8


def _fts_branch(columns: Sequence[str], words: str, *checks: ColumnElement[bool]) -> Branch:
    match = "{" + " ".join(columns) + "} : " + _fts_phrase(words)
    matches = text(f"{search_index.FTS} MATCH :m").bindparams(bindparam("m", match, unique=True))
    return Branch(select(_FTS.c.rowid.label("id")).where(matches), _FTS.c.rowid, checks)


def _case_branch(cond: ColumnElement[bool]) -> Branch:
    return Branch(select(Case.id.label("id")), Case.id, (cond,))


def q_branches(session: Session, actor: Actor, q: str) -> list[Branch] | None:
    """What Q finds (q_filter's alternatives, the same cases) as branches a list reads in id
    order (workflow.queries.paging.Branch), on SQLite when the full-text index is one of them:
    a page of a common word's matches (an address) reads a page of the index, not every match.
    None: q_filter's condition serves (PostgreSQL, no text search, a case number)."""
    if session.get_bind().dialect.name != "sqlite":
        return None
    q = " ".join(q.split())
    if not q or q.startswith("#"):
        return None
    branches: list[Branch] = []
    number = DIGITS.fullmatch(q)
    if number:
        digits = number.group(1)
        if 1 <= int(digits) <= MAX_ID:
            branches.append(_case_branch(Case.id == int(digits)))
        if len(digits) >= 3 and privacy.searches_phone(actor):
            ends = Case.applicant_phone.like("%" + digits)
            branches.append(_fts_branch(["phone"], digits, ends))
    if not number or len(q) >= 3:
        names = privacy.searches_names(actor)
        if len(q) >= 3:
            branches.append(_fts_branch(["place", *(["name"] if names else [])], q))
        elif names:
            branches.append(_case_branch(_name_start(session, q)))
    if not any(b.key is not Case.id for b in branches):
        return None
    codes = _items_named(session, q)
    if len(codes) > MAX_ITEM_BRANCHES:
        branches.append(_case_branch(Case.item.in_(codes)))
    else:
        branches.extend(_case_branch(Case.item == code) for code in codes)
    return branches


def _held_branches(session: Session, actor: Actor, f: Filters) -> list[Branch] | None:
    """A unit's scope of the cases it holds or held (privacy.held_by) as branches: the ids
    case_units hands over for the unit and those of the cases it holds now, merged newest
    first (workflow.queries.paging.Branch). SQLite: the estimate beyond the count's cap then
    reads runs of each index's ids, where asking each sampled case of the set built the set
    whole (15,000 ids for a department at a million cases) for every page. PostgreSQL: the
    page and the count read the two indexes merged in id order, where the set of every case
    the unit held was hashed (or sorted) whole for each (a department's 60,000 cases at five
    million); the estimate is the planner's, as before."""
    if not held_scope(session, actor):
        return None
    if f.view == "inbox":
        return None  # what the unit holds is in its scope by itself (where())
    if session.get_bind().dialect.name == "postgresql" and f.q:
        return None  # q's condition is asked of each case; its matches may be few
    unit = actor.unit or ""
    return [
        Branch(select(CaseUnit.case_id.label("id")).where(CaseUnit.unit == unit), CaseUnit.case_id),
        _case_branch(Case.holder == unit),
    ]


def branches(
    session: Session, actor: Actor, f: Filters
) -> tuple[list[ColumnElement[bool]], list[Branch] | None, list[ColumnElement[bool]] | None]:
    """The WHERE clauses of the cases ACTOR finds with F, the branches a list of them is read
    through, newest first (workflow.queries.paging.Branch): a text search's (q_branches), or
    else a unit's scope of what it holds or held, or else the days of an opening period
    (opened_days; None: the clauses alone), and the clauses that count the same cases more
    cheaply than the branches (None: the branches count them)."""
    f.check()
    found = q_branches(session, actor, f.q)
    if found is not None:
        return where(session, actor, f, with_q=False), found, None
    held = _held_branches(session, actor, f)
    if held is not None:
        return where(session, actor, f, with_scope=False), held, None
    clauses = where(session, actor, f, ids_opened=False)
    by_day = opened_days(session, f, clauses)
    if by_day is not None:
        # Counted as before, by the index on the opening instant (its first thousand entries;
        # the branches' union would merge the days' entries to count them); on SQLite the days
        # named too, which every case opened in the period meets anyway, so that an estimate
        # samples the index by day (sample_index), not the cases' rows. (PostgreSQL's estimate
        # is its planner's of the period's condition, as before.)
        days, named = by_day
        counted = [*clauses, named] if named is not None else list(clauses)
        return [c for c in clauses if not c._annotations.get("opened")], days, counted
    return with_ids_opened(session, clauses), None, None


# SQLite's index of the cases by the day (UTC) they were opened, then id: the cases of a period
# are read day by day, each day's newest first, merged.
OPENED_DAY_INDEX = search_index.OPENED_DAY_INDEX
# Its expression as the index declares it (SQLite uses an expression index only for the same
# expression: the numbers literal, not parameters). The instants are stored as ISO text in UTC.
OPENED_DAY = func.substr(Case.created_at, literal_column("1"), literal_column("10"))
# A longer period is read from the index on the opening instant, as before (a branch a day).
MAX_OPENED_DAYS = 16


# PostgreSQL's day of opening as its index declares it (migration 0037_pg11): the date in the
# city's zone (literal, as in the index: the planner matches the expression).
PG_OPENED_DAY_ZONE = search_index.PG_OPENED_DAY_ZONE
PG_OPENED_DAY = cast(
    func.timezone(literal_column(f"'{PG_OPENED_DAY_ZONE}'"), Case.created_at), Date()
)


def opened_days(
    session: Session, f: Filters, clauses: Sequence[ColumnElement[bool]]
) -> tuple[list[Branch], ColumnElement[bool] | None] | None:
    """The cases opened in F's period as a branch per day (UTC) it spans, each read newest
    first from the index by day and id (OPENED_DAY_INDEX), the two days at its ends checked
    against its bounds, and the condition that names those days: a page of a week's cases
    newest first reads a page of each day's entries, where it read the week's every entry from
    the index on the opening instant and sorted their ids (ids follow the opening time in
    practice, but nothing promises it: an import). SQLite only, for a bounded period of at most
    MAX_OPENED_DAYS days with no other condition than the period (CLAUSES, F's: a scope or a
    filter of its own would be asked of each case of the day's, where its own index reads the
    period's few). None: CLAUSES serve.

    PostgreSQL: each day of the period in the city's zone (PG_OPENED_DAY_ZONE, the period's own
    when F's zone is that one: no day is cut at the period's ends), read newest first from its
    index by that day and id, merged; no condition named for the estimate (None: it is the
    planner's, of the period's condition). It read the period's lowest and highest id from the
    index on the opening instant, every entry of the period (190,000 for a week at five million
    cases), for each page (with_ids_opened, still used in another zone)."""
    if not (f.opened_from and f.opened_until):
        return None
    opened = tuple(c for c in clauses if c._annotations.get("opened"))
    if any(not isinstance(c, True_) for c in clauses if not c._annotations.get("opened")):
        return None
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        n = (f.opened_until - f.opened_from).days + 1
        if f.tz != PG_OPENED_DAY_ZONE or n > MAX_OPENED_DAYS:
            return None
        local_days = [f.opened_from + dt.timedelta(days=k) for k in range(n)]
        return [
            Branch(select(Case.id.label("id")).where(PG_OPENED_DAY == day), Case.id)  # noqa: SIM300
            for day in local_days
        ], None
    if dialect != "sqlite":
        return None
    tz = ZoneInfo(f.tz)
    start = dt.datetime.combine(f.opened_from, dt.time(), tz).astimezone(dt.UTC)
    end = dt.datetime.combine(f.opened_until + dt.timedelta(days=1), dt.time(), tz)
    end = end.astimezone(dt.UTC)
    first, last = start.date(), (end - dt.timedelta(microseconds=1)).date()
    n = (last - first).days + 1
    if n > MAX_OPENED_DAYS:
        return None
    days = [first + dt.timedelta(days=k) for k in range(n)]
    branches = []
    for day in days:
        begins = dt.datetime.combine(day, dt.time(), dt.UTC)
        whole = start <= begins and begins + dt.timedelta(days=1) <= end
        ids = (
            select(Case.id.label("id"))
            .with_hint(Case, f"INDEXED BY {OPENED_DAY_INDEX}", "sqlite")
            .where(OPENED_DAY == day.isoformat())  # noqa: SIM300 (a column on the left)
        )
        branches.append(Branch(ids, Case.id, () if whole else opened))
    return branches, sampling(OPENED_DAY.in_([d.isoformat() for d in days]))


def _one_set(found: list[ColumnElement[bool]]) -> ColumnElement[bool]:
    """OR of FOUND as one set of ids (each part's ids, UNION ALL): SQLite reads the set in id
    order, where the OR of the trigram index's matches and another index's made it collect both
    and sort every match of a common word for a page (an address, an item's name: 150 ms)."""
    parts: list[Any] = []
    for cond in found:
        ids = getattr(getattr(cond, "right", None), "element", None)
        if isinstance(ids, Select) and _FTS in ids.get_final_froms():
            parts.append(ids)  # _sqlite_match's: the index's rowids themselves
        else:
            parts.append(select(Case.id).where(cond).correlate(None))
    return Case.id.in_(union_all(*parts))


# A whistled case (Case.whistled), as the condition of the index of them by street is written
# (SQLite takes a partial index for a term it recognises as that condition).
WHISTLED = Case.whistled == true()


def _view(session: Session, actor: Actor, view: str) -> ColumnElement[bool] | None:
    unit = actor.unit or ""
    if view == "inbox":
        return Case.holder == unit
    if view == "handled":
        return privacy.handed(unit)
    if view == "opened":
        if unit_kind(session, unit) == "workstation":
            return Case.workstation == unit
        # A community's committee opens cases at the community's workstation.
        return Case.id.in_(
            select(TrailEvent.case_id).where(
                TrailEvent.action == "case.opened", TrailEvent.unit == unit
            )
        )
    if view == "whistled":
        # Set on the case by the trail's trigger when its whistle event is appended
        # (migration 0035_lists10): the street's whistled cases are an index's entries
        # (ix_cases_street_whistled), where each of the street's cases was asked for a
        # whistle event and a count merged the street's ids with the city's whistles.
        return and_(Case.street == unit, WHISTLED)
    return None


def where(
    session: Session,
    actor: Actor,
    f: Filters,
    *,
    now: dt.datetime | None = None,
    with_q: bool = True,
    with_scope: bool = True,
    ids_opened: bool = True,
) -> list[ColumnElement[bool]]:
    """The WHERE clauses of the cases ACTOR finds with F (scope first); without F.q's unless
    WITH_Q, without the scope unless WITH_SCOPE (the caller reads branches() instead); on
    PostgreSQL with the range of ids of F's opening period unless not IDS_OPENED (the caller
    reads the period day by day, or adds it: with_ids_opened)."""
    f.check()
    clauses: list[ColumnElement[bool]] = []
    # A unit's inbox is in the scope of a unit that sees what it holds or held (reading the
    # set of every case it held, 15,000 for a department at a million, for nothing).
    if with_scope and not (f.view == "inbox" and held_scope(session, actor)):
        clauses.append(case_filter(session, actor))
    view = _view(session, actor, f.view)
    if view is not None:
        clauses.append(view)
    by_workstation = _names_workstation(clauses)
    found = q_filter(session, actor, f.q, by_workstation=by_workstation) if with_q else None
    if found is not None and by_workstation and session.get_bind().dialect.name == "postgresql":
        # A phone's last digits in a workstation's scope: the same cases, spelled for the index
        # by workstation and reversed phone; an estimate asks the planner of the plain spelling
        # (the same estimate as before).
        plain = q_filter(session, actor, f.q)
        if plain is not None and not plain.compare(found):
            found = estimated_as(found, plain)
    if found is not None:
        # A name's first two characters on PostgreSQL: read from their own index (newest first);
        # in a workstation's scope (a clerk's) from the index by workstation, the name's first
        # two characters and id (migration 0038_pg12).
        start2 = found._annotations.get("name_start2")
        if start2 is not None:
            found = start2
        clauses.append(found)
    for column, value in (
        (Case.state, f.state),
        (Case.holder, f.holder),
        (Case.item, f.item),
        (Case.light, f.light),
        (Case.street, f.street),
        (Case.urgency, f.urgency),
    ):
        if value:
            clauses.append(column == value)
    tz = ZoneInfo(f.tz)
    opened: list[ColumnElement[bool]] = []
    if f.opened_from:
        start = dt.datetime.combine(f.opened_from, dt.time(), tz)
        opened.append(Case.created_at >= start)
    if f.opened_until:
        end = dt.datetime.combine(f.opened_until + dt.timedelta(days=1), dt.time(), tz)
        opened.append(Case.created_at < end)
    if opened:
        # (marked: opened_days reads them day by day)
        clauses += [c._annotate({"opened": True}) for c in opened]
        if ids_opened and session.get_bind().dialect.name == "postgresql":
            clauses.append(_ids_opened(session, opened))
    if f.overdue:
        clauses.append(and_(Case.closed_at.is_(None), Case.due_at < (now or utcnow())))
    return clauses


def _names_workstation(clauses: Sequence[ColumnElement[bool]]) -> bool:
    """Whether CLAUSES fix the case's workstation (a clerk's scope)."""
    return any(
        isinstance(c, BinaryExpression)
        and c.operator is operators.eq
        and isinstance(c.left, Column)
        and c.left.table is Case.__table__
        and c.left.name == "workstation"
        for c in clauses
    )


def with_ids_opened(
    session: Session, clauses: Sequence[ColumnElement[bool]]
) -> list[ColumnElement[bool]]:
    """CLAUSES (where()'s without IDS_OPENED) with the range of ids of their opening period on
    PostgreSQL (_ids_opened), as where() gives them."""
    opened = [c for c in clauses if c._annotations.get("opened")]
    if not opened or session.get_bind().dialect.name != "postgresql":
        return list(clauses)
    return [*clauses, _ids_opened(session, opened)]


def _ids_opened(session: Session, opened: list[ColumnElement[bool]]) -> ColumnElement[bool]:
    """The range of ids of the cases opened in the time OPENED selects (their lowest and highest
    id, read from the index on the opening time and id alone): a list newest first starts at the
    period's newest case. Ids follow the opening order in practice, but nothing promises it (an
    import); the range holds each such case whatever the order, so the list is the same. (PostgreSQL
    walked the primary key down from the newest case, past every case opened since: 1.3
    million at five million cases for a week in October. SQLite reads the period's ids from
    the index on the opening time and keeps the page's: reading the range first cost as much.)"""
    # (id + 0: PostgreSQL would turn min(id) into a walk of the primary key from its start)
    ids = Case.id + 0
    lo, hi = session.execute(select(func.min(ids), func.max(ids)).where(*opened)).one()
    if lo is None:
        return false()
    return narrowing(Case.id.between(lo, hi))


def case_overdue(case: Case, now: dt.datetime) -> bool:
    """Past the whole case's limit and still open, whatever its stage's light says."""
    return case.closed_at is None and case.due_at is not None and case.due_at < now


NEWEST_FIRST: list[Key] = [(Case.id, True)]
# Critical cases first, then urgent ones (minutes matter more than working days); then the
# nearest stage limit, cases without one last.
URGENCY_RANK = sql_case((Case.urgency == "critical", 0), (Case.urgency == "urgent", 1), else_=2)
MOST_URGENT_FIRST: list[Key] = [
    (URGENCY_RANK, False),
    (func.coalesce(Case.stage_due_at, literal(NEVER, UTCDateTime())), False),
    (Case.id, False),
]


def find(
    session: Session,
    *,
    actor: Actor,
    filters: Filters,
    order: Sequence[Key] = NEWEST_FIRST,
    after: str | None = None,
    offset: int = 0,
    limit: int,
    count_cap: int | None = COUNT_CAP,
) -> Seek[Case]:
    """A page of the cases ACTOR finds with FILTERS."""
    clauses, read, counted = branches(session, actor, filters)
    return seek(
        session,
        Case,
        clauses,
        order,
        after=after,
        offset=offset,
        limit=limit,
        count_cap=count_cap,
        branches=read,
        counted=counted,
        sample_by=sample_index(filters, counted or clauses),
    )


# The index an estimate of a view's count samples (paging.estimate): the whistles a street blew
# are its cases (its street fixed), read by (street, id) without their rows; a unit's inbox is
# what it holds (the holder fixed), fewer cases than a clerk's workstation ever opened.
SAMPLE_INDEXES = {"whistled": "ix_cases_street_whistled", "inbox": "ix_cases_holder_id"}
# The columns a list may fix (its filters, a clerk's scope) with an index on the column and the
# id, the most selective first: an estimate samples runs of ids in it, reading the rows of the
# cases with that value only (the cases in processing: the sample read 4,096 cases' rows).
ID_INDEXES = {
    "workstation": "ix_cases_workstation_id",
    "state": "ix_cases_state_id",
    "holder": "ix_cases_holder_id",
    "urgency": "ix_cases_urgency_id",
    "street": "ix_cases_street_id",
}


# The open cases by id (their whole limit beside): the overdue ones are among them.
OPEN_INDEX = "ix_cases_open_due"


def sample_index(f: Filters, clauses: Sequence[ColumnElement[bool]]) -> str | None:
    """The index an estimate of the count of the cases CLAUSES (F's) select samples: the view's,
    that of a column a clause fixes (ID_INDEXES), the open cases' for the overdue ones; None:
    runs of the table's ids."""
    if f.view in SAMPLE_INDEXES:
        return SAMPLE_INDEXES[f.view]
    fixed = {
        c.left.name
        for c in clauses
        if isinstance(c, BinaryExpression)
        and c.operator is operators.eq
        and isinstance(c.left, Column)
        and c.left.table is Case.__table__
        and isinstance(c.right, BindParameter)
    }
    fallback = OPEN_INDEX if f.overdue else None
    if any(_names_days(c) for c in clauses):
        fallback = OPENED_DAY_INDEX
    return next((index for column, index in ID_INDEXES.items() if column in fixed), fallback)


def _names_days(clause: ColumnElement[bool]) -> bool:
    """Whether CLAUSE is opened_days()'s condition on the day of opening."""
    return (
        isinstance(clause, BinaryExpression)
        and clause.operator is operators.in_op
        and clause.left.compare(OPENED_DAY)
    )


def all_rows(
    session: Session, *, actor: Actor, filters: Filters, order: Sequence[Key], limit: int
) -> list[Case]:
    """Up to LIMIT cases of the list, in its order (an export)."""
    stmt: Select[Any] = (
        select(Case)
        .where(*where(session, actor, filters))
        .order_by(*[e.desc() if d else e for e, d in order])
        .limit(limit)
    )
    return list(session.execute(stmt).scalars())
