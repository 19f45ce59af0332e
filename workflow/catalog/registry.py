"""Published definitions: content-addressed versions in the database, read back as spec objects.

A published version never changes, so parsed specs are cached by their digest; only "which
version is the latest" is asked of the database each time."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import threading
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import bindparam, func, literal, or_, select, text, union_all
from sqlalchemy.orm import Session

from workflow.audit import chain
from workflow.errors import NotFound
from workflow.instants import utcnow
from workflow.spec.model import CalendarSpec, Definitions, ItemSpec, RouteSpec, UnitSpec
from workflow.spec.serialize import (
    calendar_from_data,
    calendar_to_data,
    item_from_data,
    record_to_data,
    route_from_data,
    route_to_data,
    unit_from_data,
)
from workflow.store.models import DefinitionVersion, Unit

T = TypeVar("T")
_cache: dict[tuple[str, str], Any] = {}
_cache_lock = threading.Lock()


def digest_of(content: Any) -> str:
    return hashlib.sha256(chain.canonical_json(content)).hexdigest()


# A street's variant withdrawn: a version of the route's name with this content, for that street,
# puts its new cases back on the district's version. No case is ever pinned to it.
WITHDRAWN: dict[str, Any] = {"withdrawn": True}
WITHDRAWN_DIGEST = digest_of(WITHDRAWN)


# Unit kinds of a community beside its workstation, and of a street beside its office.
COMMUNITY_BODIES = ("party_committee", "residents_committee")
STREET_BODIES = ("street_party_committee", "service_centre")


def _cached(kind: str, digest: str, build: Callable[[], T]) -> T:
    key = (kind, digest)
    hit = _cache.get(key)
    if hit is None:
        hit = build()
        with _cache_lock:
            _cache[key] = hit
    return hit


@dataclass(frozen=True)
class UnitIndex:
    """The organisation, indexed for holder resolution and scope checks."""

    units: Mapping[str, UnitSpec]
    # (street code, agency kind) -> agency code
    agencies: Mapping[tuple[str, str], str]
    # The community's bodies by its workstation (两委一站), the street's by the street:
    # (workstation or street code, unit kind) -> unit code.
    bodies: Mapping[tuple[str, str], str] = dataclasses.field(default_factory=dict)

    @classmethod
    def build(cls, units: list[UnitSpec]) -> UnitIndex:
        by_code = {u.code: u for u in units}
        agencies = {
            (u.host_street, u.agency_kind): u.code
            for u in units
            if u.kind == "dispatched_agency" and u.host_street and u.agency_kind
        }
        bodies: dict[tuple[str, str], str] = {}
        for u in units:
            if u.kind in COMMUNITY_BODIES + STREET_BODIES and u.parent:
                bodies[(u.parent, u.kind)] = u.code
            elif u.kind == "mediation_committee" and u.parent in by_code:
                workstation = by_code[u.parent].parent
                if workstation:
                    bodies[(workstation, u.kind)] = u.code
        return cls(by_code, agencies, bodies)

    def body(self, of: str, kind: str) -> str | None:
        """The unit of KIND of a community (its workstation's code) or of a street."""
        return self.bodies.get((of, kind))

    def community_of(self, code: str) -> str | None:
        """The workstation of the community a unit belongs to (itself for a workstation)."""
        u = self.units.get(code)
        if u is None:
            return None
        if u.kind == "workstation":
            return u.code
        if u.kind in COMMUNITY_BODIES:
            return u.parent
        if u.kind == "mediation_committee":
            parent = self.units.get(u.parent or "")
            return parent.parent if parent else None
        return None

    def get(self, code: str) -> UnitSpec:
        try:
            return self.units[code]
        except KeyError:
            raise NotFound(f"no unit {code!r}", code="no_unit", params={"unit": code}) from None

    def street_of(self, code: str) -> str | None:
        """The street a unit belongs to: a workstation's parent, an agency's host, a street itself."""
        u = self.units.get(code)
        if u is None:
            return None
        if u.kind == "street_office":
            return u.code
        if u.kind == "workstation":
            return u.parent
        if u.kind == "dispatched_agency":
            return u.host_street
        if u.kind in STREET_BODIES:
            return u.parent
        if u.kind == "dispatch_centre":
            # A street's 12349 centre belongs to its street; the district's 12345 to none.
            parent = self.units.get(u.parent or "")
            return parent.code if parent is not None and parent.kind == "street_office" else None
        community = self.community_of(code)
        if community and community != code:
            return self.street_of(community)
        return None


# ---------------------------------------------------------------- definition contents


def definition_contents(defs: Definitions) -> list[tuple[str, str, Any]]:
    """(kind, name, content) for each published definition of a folder."""
    out: list[tuple[str, str, Any]] = [
        ("units", "units", {"units": [record_to_data(u) for u in defs.units]}),
        ("items", "items", {"items": [record_to_data(i) for i in defs.items]}),
        ("calendar", "calendar", calendar_to_data(defs.calendar)),
    ]
    out += [("route", r.name, route_to_data(r)) for r in defs.routes]
    if defs.appraisal is not None:
        out.append(("appraisal", "appraisal", defs.appraisal))
    if defs.places is not None:
        out.append(("places", "places", defs.places))
    return out


@dataclass(frozen=True)
class Change:
    kind: str
    name: str
    version: int
    changed: bool
    # The content was published before, and something newer has been published since.
    superseded: bool = False
    # The street whose variant this is (None: the district's own version).
    street: str | None = None

    def __str__(self) -> str:
        # The list, the units, the calendar and the scheme are each the only one of their kind.
        what = self.kind if self.kind == self.name else f"{self.kind} {self.name}"
        what += f" for {self.street}" if self.street else ""
        if self.superseded:
            return (
                f"{what}: version {self.version} kept (the folder holds an "
                "older version; a newer one was published since)"
            )
        status = "published" if self.changed else "unchanged"
        return f"{what}: version {self.version} ({status})"


def latest_row(
    session: Session, kind: str, name: str, street: str | None = None
) -> DefinitionVersion | None:
    """The latest district version (or STREET's latest variant) of a definition."""
    return session.execute(
        select(DefinitionVersion)
        .where(
            DefinitionVersion.kind == kind,
            DefinitionVersion.name == name,
            DefinitionVersion.street.is_(None)
            if street is None
            else DefinitionVersion.street == street,
        )
        .order_by(DefinitionVersion.version.desc())
        .limit(1)
    ).scalar_one_or_none()


def publish_one(
    session: Session,
    kind: str,
    name: str,
    content: Any,
    *,
    actor: str,
    now: dt.datetime,
    keep_newer: bool = False,
    street: str | None = None,
    action: str = "definitions.published",
) -> Change:
    """Store CONTENT as a new version unless it equals the latest one. Call chain.lock_head first.

    With KEEP_NEWER, content equal to an older version is not published again: `init` reads
    the shipped folder, which must not undo a list imported or a route published since.
    With STREET, the version is that street's variant, compared with the street's latest
    variant; its number follows every version of the name, the district's and the streets',
    so a case's (name, version) names one content and one street."""
    digest = digest_of(content)
    latest = latest_row(session, kind, name, street)
    if latest is not None and latest.digest == digest:
        return Change(kind, name, latest.version, False, street=street)
    if keep_newer and latest is not None and _published_before(session, kind, name, digest):
        return Change(kind, name, latest.version, False, superseded=True)
    version = latest_version(session, kind, name) + 1
    session.info[_PUBLISHING] = session.get_transaction()
    session.info.pop(_LATEST_MEMO, None)
    session.add(
        DefinitionVersion(
            kind=kind,
            name=name,
            version=version,
            digest=digest,
            content=content,
            published_at=now,
            published_by=actor,
            street=street,
        )
    )
    chain.append(
        session,
        at=now,
        actor=actor,
        action=action,
        data={
            "kind": kind,
            "name": name,
            "version": version,
            "digest": digest,
            **({"street": street} if street else {}),
        },
    )
    if kind == "units":
        _sync_units(session, [unit_from_data(u) for u in content["units"]])
    return Change(kind, name, version, True, street=street)


def _published_before(session: Session, kind: str, name: str, digest: str) -> bool:
    """Whether the district published this content of KIND NAME as some version already."""
    known = session.execute(
        select(DefinitionVersion.version).where(
            DefinitionVersion.kind == kind,
            DefinitionVersion.name == name,
            DefinitionVersion.digest == digest,
            DefinitionVersion.street.is_(None),
        )
    ).first()
    return known is not None


def publish(
    session: Session,
    defs: Definitions,
    *,
    actor: str,
    now: dt.datetime | None = None,
    keep_newer: bool = False,
) -> list[Change]:
    """Publish what changed in DEFS, in the caller's transaction. Running cases keep their version."""
    now = now or utcnow()
    chain.lock_head(session)
    return [
        publish_one(session, kind, name, content, actor=actor, now=now, keep_newer=keep_newer)
        for kind, name, content in definition_contents(defs)
    ]


def _sync_units(session: Session, units: list[UnitSpec]) -> None:
    existing = {u.code: u for u in session.execute(select(Unit)).scalars()}
    for spec in units:
        row = existing.get(spec.code) or Unit(code=spec.code)
        row.name_zh, row.name_en, row.kind = spec.name_zh, spec.name_en, spec.kind
        row.parent, row.host_street, row.agency_kind = (
            spec.parent,
            spec.host_street,
            spec.agency_kind,
        )
        session.add(row)
    # Units that left the list stay as rows: users and cases still name them.


# ---------------------------------------------------------------- reading back


# Built once: building a statement costs more than running it, and every firing asks four times.
_dv = DefinitionVersion.__table__.c
_LATEST = (
    select(_dv.version, _dv.digest, _dv.street)
    .where(_dv.kind == bindparam("kind"), _dv.name == bindparam("name"), _dv.street.is_(None))
    .order_by(_dv.version.desc())
    .limit(1)
)
# A street's latest variant of a route, else the district's latest version.
_LATEST_FOR_STREET = (
    select(_dv.version, _dv.digest, _dv.street)
    .where(
        _dv.kind == bindparam("kind"),
        _dv.name == bindparam("name"),
        or_(_dv.street.is_(None), _dv.street == bindparam("street")),
    )
    .order_by(_dv.street.is_(None), _dv.version.desc())
    .limit(1)
)
_PINNED = select(_dv.version, _dv.digest, _dv.street).where(
    _dv.kind == bindparam("kind"), _dv.name == bindparam("name"), _dv.version == bindparam("v")
)

Pointer = tuple[int, str, str | None]  # version, digest, street (None: the district's)

# The definitions every page reads the latest of (the organisation, the calendar, the list of
# items, the places, the appraisal's scheme): the first of them a transaction asks, it asks all
# of them in one statement (each its own index lookup), kept as built; a page asked three.
SINGLETONS = ("units", "calendar", "items", "places", "appraisal")
# SQLite: a union of the five lookups (0.06 ms).
_LATEST_OF_ALL = union_all(
    *(
        select(
            select(literal(kind).label("kind"), _dv.version, _dv.digest, _dv.street)
            .where(_dv.kind == kind, _dv.name == kind, _dv.street.is_(None))
            .order_by(_dv.version.desc())
            .limit(1)
            .subquery()
        )
        for kind in SINGLETONS
    )
)
# PostgreSQL plans a union's five branches on every run: 0.6 ms where the one lookup an API
# list needs takes 0.33. The same five index lookups as one LATERAL subquery over the kinds
# plan as one, and cost what the one lookup does. Text: the kinds are this module's constants,
# and a text statement's cache key costs nothing to build.
_LATEST_OF_ALL_PG = text(
    "SELECT k.kind, d.version, d.digest, d.street"
    " FROM (VALUES " + ", ".join(f"('{kind}')" for kind in SINGLETONS) + ") AS k (kind)"
    " CROSS JOIN LATERAL (SELECT version, digest, street FROM definition_versions"
    " WHERE kind = k.kind AND name = k.kind AND street IS NULL"
    " ORDER BY version DESC LIMIT 1) AS d"
)

# (kind, name, version) -> Pointer of pinned lookups, per database (a published version never
# changes). Keyed by the SQLAlchemy Engine: another database is another Engine.
_pinned: weakref.WeakKeyDictionary[Any, dict[tuple[str, str, int], Pointer]] = (
    weakref.WeakKeyDictionary()
)
# Set by publish_one to the transaction that publishes: a version read back in that transaction
# is not cached, since a rollback would free its number for other content.
_PUBLISHING = "streetflow.publishing"
# (transaction, {(kind, name, street): Pointer}): the latest versions a transaction has read.
_LATEST_MEMO = "streetflow.latest"


def _pointer(session: Session, kind: str, name: str, version: int | None) -> tuple[int, str]:
    """(version, digest) of a published definition: the content is read only on a cache miss
    (decoding it on every firing cost more than everything else fire() did). A pinned version
    is asked of the database once per Engine."""
    v, digest, _street = _pointer3(session, kind, name, version)
    return v, digest


def _pointer3(
    session: Session, kind: str, name: str, version: int | None, street: str | None = None
) -> Pointer:
    """_pointer() with the street of the version; with STREET and no VERSION, that street's
    latest variant when it has one. The latest version is asked once per transaction (a list
    of 25 cases asked it a hundred times): what the transaction read first it keeps reading,
    unless it publishes."""
    if version is None:
        tx = session.get_transaction()
        memo = session.info.get(_LATEST_MEMO)
        if tx is not None and memo is not None and memo[0] is tx:
            latest = (kind, name, street)
            if latest in memo[1]:
                hit = memo[1][latest]
                if hit is None:  # a singleton this transaction found unpublished
                    raise _unpublished(kind, name, version)
                return hit
    if version is None and street is None and kind == name and kind in SINGLETONS:
        publishing = session.info.get(_PUBLISHING)
        if publishing is None or publishing is not session.get_transaction():
            return _latest_of_all(session, kind)
    if version is None and street is not None:
        row = session.execute(
            _LATEST_FOR_STREET, {"kind": kind, "name": name, "street": street}
        ).one_or_none()
        if row is not None and row[1] == WITHDRAWN_DIGEST:
            row = session.execute(_LATEST, {"kind": kind, "name": name}).one_or_none()
    elif version is None:
        row = session.execute(_LATEST, {"kind": kind, "name": name}).one_or_none()
    else:
        bind = (session.bind or session.get_bind()).engine
        known = _pinned.get(bind)
        key = (kind, name, version)
        if known is not None:
            hit = known.get(key)
            if hit is not None:
                return hit
        row = session.execute(_PINNED, {"kind": kind, "name": name, "v": version}).one_or_none()
        if row is not None and row[1] == WITHDRAWN_DIGEST:
            raise NotFound(
                f"{kind} {name} version {version} withdraws a street's variant",
                code="version_withdraws_variant",
                params={"definition": kind, "name": name, "version": version},
            )
        if row is not None and session.info.get(_PUBLISHING) is not session.get_transaction():
            with _cache_lock:
                _pinned.setdefault(bind, {})[key] = (row[0], row[1], row[2])
    if row is None:
        raise _unpublished(kind, name, version)
    if version is None:
        tx = session.get_transaction()
        if tx is not None and session.info.get(_PUBLISHING) is not tx:
            seen: tuple[Any, dict[tuple[str, str, str | None], Pointer | None]] | None
            seen = session.info.get(_LATEST_MEMO)
            if seen is None or seen[0] is not tx:
                seen = (tx, {})
                session.info[_LATEST_MEMO] = seen
            seen[1][(kind, name, street)] = (row[0], row[1], row[2])
    return row[0], row[1], row[2]


def _latest_of_all(session: Session, kind: str) -> Pointer:
    """_pointer3() of the singleton KIND's latest version, every singleton's read at once and
    kept for the transaction (as _pointer3 keeps what it reads)."""
    found: dict[tuple[str, str, str | None], Pointer | None] = {
        (k, k, None): None for k in SINGLETONS
    }
    bind = session.get_bind()
    latest = _LATEST_OF_ALL_PG if bind.dialect.name == "postgresql" else _LATEST_OF_ALL
    for k, v, digest, street in session.execute(latest):
        found[(k, k, None)] = (v, digest, street)
    tx = session.get_transaction()
    if tx is not None:
        seen: tuple[Any, dict[tuple[str, str, str | None], Pointer | None]] | None
        seen = session.info.get(_LATEST_MEMO)
        if seen is None or seen[0] is not tx:
            seen = (tx, {})
            session.info[_LATEST_MEMO] = seen
        for key, pointer in found.items():
            seen[1].setdefault(key, pointer)
        hit = seen[1][(kind, kind, None)]
    else:
        hit = found[(kind, kind, None)]
    if hit is None:
        raise _unpublished(kind, kind, None)
    return hit


def _unpublished(kind: str, name: str, version: int | None) -> NotFound:
    what = f"{kind} {name}" + (f" version {version}" if version else "")
    return NotFound(
        f"no published {what}",
        code="no_published",
        params={"definition": kind, "name": name, "version": version or ""},
    )


def _content(session: Session, kind: str, name: str, version: int) -> Any:
    return session.execute(
        select(DefinitionVersion.content).where(
            DefinitionVersion.kind == kind,
            DefinitionVersion.name == name,
            DefinitionVersion.version == version,
        )
    ).scalar_one()


def cached_definition(
    session: Session,
    kind: str,
    name: str,
    version: int | None,
    build: Callable[[int, Any], T],
) -> tuple[T, int]:
    """A published definition built into a spec object by BUILD(version, content), cached by
    digest and version; NotFound when there is none."""
    v, digest = _pointer(session, kind, name, version)
    # The same content may come back as a later version: the version is part of the key.
    return _cached(f"{kind}:{v}", digest, lambda: build(v, _content(session, kind, name, v))), v


def route(
    session: Session, name: str, version: int | None = None, *, street: str | None = None
) -> tuple[RouteSpec, int, str]:
    """A route version (the district's latest by default; with STREET and no VERSION, the one
    in force for that street's new cases: its variant if it has one, else the district's)."""
    v, digest, _ = _pointer3(session, "route", name, version, street)
    spec = _cached("route", digest, lambda: route_from_data(_content(session, "route", name, v)))
    return spec, v, digest


def route_street(session: Session, name: str, version: int) -> str | None:
    """The street a route version is the variant of (None: the district's own version)."""
    return _pointer3(session, "route", name, version)[2]


def route_in_force(
    session: Session, name: str, street: str | None = None
) -> DefinitionVersion | None:
    """The version a street's new cases get (its variant, else the district's latest); with
    no STREET, the district's latest."""
    if street is not None:
        mine = latest_row(session, "route", name, street)
        if mine is not None and mine.digest != WITHDRAWN_DIGEST:
            return mine
    return latest_row(session, "route", name)


def route_variants(session: Session, name: str) -> dict[str, DefinitionVersion]:
    """Street -> that street's variant of the route now in force (its latest, not withdrawn)."""
    latest: dict[str, DefinitionVersion] = {}
    for row in session.execute(
        select(DefinitionVersion)
        .where(
            DefinitionVersion.kind == "route",
            DefinitionVersion.name == name,
            DefinitionVersion.street.is_not(None),
        )
        .order_by(DefinitionVersion.version)
    ).scalars():
        assert row.street is not None
        latest[row.street] = row
    return {k: v for k, v in sorted(latest.items()) if v.digest != WITHDRAWN_DIGEST}


def route_names(session: Session) -> list[str]:
    """The district's routes (a street's variant is of one of them)."""
    return list(
        session.execute(
            select(DefinitionVersion.name)
            .where(DefinitionVersion.kind == "route", DefinitionVersion.street.is_(None))
            .group_by(DefinitionVersion.name)
            .order_by(DefinitionVersion.name)
        ).scalars()
    )


def route_versions(session: Session, name: str) -> list[DefinitionVersion]:
    """Every version of a route, the district's and the streets' variants (not withdrawals)."""
    return list(
        session.execute(
            select(DefinitionVersion)
            .where(
                DefinitionVersion.kind == "route",
                DefinitionVersion.name == name,
                DefinitionVersion.digest != WITHDRAWN_DIGEST,
            )
            .order_by(DefinitionVersion.version)
        ).scalars()
    )


def items(session: Session, version: int | None = None) -> tuple[Mapping[str, ItemSpec], int]:
    v, digest = _pointer(session, "items", "items", version)
    specs = _cached(
        "items",
        digest,
        lambda: {
            d["code"]: item_from_data(d) for d in _content(session, "items", "items", v)["items"]
        },
    )
    return specs, v


def item(session: Session, code: str, version: int | None = None) -> tuple[ItemSpec, int]:
    specs, v = items(session, version)
    try:
        return specs[code], v
    except KeyError:
        raise NotFound(
            f"no item {code!r} in the list (version {v})",
            code="no_item_version",
            params={"item": code, "version": v},
        ) from None


def _units_from(session: Session, v: int) -> UnitIndex:
    return UnitIndex.build(
        [unit_from_data(u) for u in _content(session, "units", "units", v)["units"]]
    )


def units(session: Session) -> UnitIndex:
    v, digest = _pointer(session, "units", "units", None)
    return _cached("units", digest, lambda: _units_from(session, v))


def calendar(session: Session) -> CalendarSpec:
    try:
        v, digest = _pointer(session, "calendar", "calendar", None)
    except NotFound:
        return CalendarSpec()
    return _cached(
        "calendar", digest, lambda: calendar_from_data(_content(session, "calendar", "calendar", v))
    )


def _latest_digest(kind: str) -> Any:
    return (
        select(_dv.digest)
        .where(_dv.kind == kind, _dv.name == kind)
        .order_by(_dv.version.desc())
        .limit(1)
        .scalar_subquery()
    )


# The latest units and calendar digests, as columns another statement can select along.
UNITS_DIGEST = _latest_digest("units").label("units_digest")
CALENDAR_DIGEST = _latest_digest("calendar").label("calendar_digest")


def units_and_calendar_of(
    session: Session, units_digest: str | None, calendar_digest: str | None
) -> tuple[UnitIndex, CalendarSpec]:
    """units() and calendar() from the digests of UNITS_DIGEST and CALENDAR_DIGEST."""
    index = _cache.get(("units", units_digest)) if units_digest else None
    if index is None:
        index = units(session)
    if calendar_digest is None:
        return index, calendar(session)
    spec = _cache.get(("calendar", calendar_digest))
    if spec is None:
        spec = calendar(session)
    return index, spec


def latest_version(session: Session, kind: str, name: str) -> int:
    v = session.execute(
        select(func.max(DefinitionVersion.version)).where(
            DefinitionVersion.kind == kind, DefinitionVersion.name == name
        )
    ).scalar_one()
    return int(v or 0)
