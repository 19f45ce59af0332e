"""Published definitions: content-addressed versions in the database, read back as spec objects.

A published version never changes, so parsed specs are cached by their digest; only "which
version is the latest" is asked of the database each time."""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from workflow.audit import chain
from workflow.errors import NotFound
from workflow.spec.loader import (
    calendar_from_data,
    calendar_to_data,
    item_from_data,
    record_to_data,
    route_from_data,
    route_to_data,
    unit_from_data,
)
from workflow.spec.model import CalendarSpec, Definitions, ItemSpec, RouteSpec, UnitSpec
from workflow.store.models import DefinitionVersion, Unit

T = TypeVar("T")
_cache: dict[tuple[str, str], Any] = {}
_cache_lock = threading.Lock()


def digest_of(content: Any) -> str:
    return hashlib.sha256(chain.canonical_json(content)).hexdigest()


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

    @classmethod
    def build(cls, units: list[UnitSpec]) -> UnitIndex:
        by_code = {u.code: u for u in units}
        agencies = {
            (u.host_street, u.agency_kind): u.code
            for u in units
            if u.kind == "dispatched_agency" and u.host_street and u.agency_kind
        }
        return cls(by_code, agencies)

    def get(self, code: str) -> UnitSpec:
        try:
            return self.units[code]
        except KeyError:
            raise NotFound(f"no unit {code!r}") from None

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
    return out


@dataclass(frozen=True)
class Change:
    kind: str
    name: str
    version: int
    changed: bool
    # The content was published before, and something newer has been published since.
    superseded: bool = False

    def __str__(self) -> str:
        # The list, the units, the calendar and the scheme are each the only one of their kind.
        what = self.kind if self.kind == self.name else f"{self.kind} {self.name}"
        if self.superseded:
            return (
                f"{what}: version {self.version} kept (the folder holds an "
                "older version; a newer one was published since)"
            )
        status = "published" if self.changed else "unchanged"
        return f"{what}: version {self.version} ({status})"


def latest_row(session: Session, kind: str, name: str) -> DefinitionVersion | None:
    return session.execute(
        select(DefinitionVersion)
        .where(DefinitionVersion.kind == kind, DefinitionVersion.name == name)
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
) -> Change:
    """Store CONTENT as a new version unless it equals the latest one. Call chain.lock_head first.

    With KEEP_NEWER, content equal to an older version is not published again: `init` reads
    the shipped folder, which must not undo a list imported or a route published since."""
    digest = digest_of(content)
    latest = latest_row(session, kind, name)
    if latest is not None and latest.digest == digest:
        return Change(kind, name, latest.version, False)
    if keep_newer and latest is not None:
        known = session.execute(
            select(DefinitionVersion.version).where(
                DefinitionVersion.kind == kind,
                DefinitionVersion.name == name,
                DefinitionVersion.digest == digest,
            )
        ).first()
        if known is not None:
            return Change(kind, name, latest.version, False, superseded=True)
    version = (latest.version if latest else 0) + 1
    session.info[_PUBLISHING] = session.get_transaction()
    session.add(
        DefinitionVersion(
            kind=kind,
            name=name,
            version=version,
            digest=digest,
            content=content,
            published_at=now,
            published_by=actor,
        )
    )
    chain.append(
        session,
        at=now,
        actor=actor,
        action="definitions.published",
        data={"kind": kind, "name": name, "version": version, "digest": digest},
    )
    if kind == "units":
        _sync_units(session, [unit_from_data(u) for u in content["units"]])
    return Change(kind, name, version, True)


def publish(
    session: Session,
    defs: Definitions,
    *,
    actor: str,
    now: dt.datetime | None = None,
    keep_newer: bool = False,
) -> list[Change]:
    """Publish what changed in DEFS, in the caller's transaction. Running cases keep their version."""
    now = now or dt.datetime.now(dt.UTC)
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
    select(_dv.version, _dv.digest)
    .where(_dv.kind == bindparam("kind"), _dv.name == bindparam("name"))
    .order_by(_dv.version.desc())
    .limit(1)
)
_PINNED = select(_dv.version, _dv.digest).where(
    _dv.kind == bindparam("kind"), _dv.name == bindparam("name"), _dv.version == bindparam("v")
)


# (kind, name, version) -> (version, digest) of pinned lookups, per database (a published
# version never changes). Keyed by the SQLAlchemy Engine: another database is another Engine.
_pinned: weakref.WeakKeyDictionary[Any, dict[tuple[str, str, int], tuple[int, str]]] = (
    weakref.WeakKeyDictionary()
)
# Set by publish_one to the transaction that publishes: a version read back in that transaction
# is not cached, since a rollback would free its number for other content.
_PUBLISHING = "streetflow.publishing"


def _pointer(session: Session, kind: str, name: str, version: int | None) -> tuple[int, str]:
    """(version, digest) of a published definition: the content is read only on a cache miss
    (decoding it on every firing cost more than everything else fire() did). A pinned version
    is asked of the database once per Engine."""
    if version is None:
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
        if row is not None and session.info.get(_PUBLISHING) is not session.get_transaction():
            with _cache_lock:
                _pinned.setdefault(bind, {})[key] = (row[0], row[1])
    if row is None:
        what = f"{kind} {name}" + (f" version {version}" if version else "")
        raise NotFound(f"no published {what}")
    return row[0], row[1]


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


def route(session: Session, name: str, version: int | None = None) -> tuple[RouteSpec, int, str]:
    v, digest = _pointer(session, "route", name, version)
    spec = _cached("route", digest, lambda: route_from_data(_content(session, "route", name, v)))
    return spec, v, digest


def route_names(session: Session) -> list[str]:
    return list(
        session.execute(
            select(DefinitionVersion.name)
            .where(DefinitionVersion.kind == "route")
            .group_by(DefinitionVersion.name)
            .order_by(DefinitionVersion.name)
        ).scalars()
    )


def route_versions(session: Session, name: str) -> list[DefinitionVersion]:
    return list(
        session.execute(
            select(DefinitionVersion)
            .where(DefinitionVersion.kind == "route", DefinitionVersion.name == name)
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
        raise NotFound(f"no item {code!r} in the list (version {v})") from None


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
_UNITS_AND_CALENDAR = select(UNITS_DIGEST, CALENDAR_DIGEST)


def units_and_calendar(session: Session) -> tuple[UnitIndex, CalendarSpec]:
    """units() and calendar() in one statement (a firing needs both)."""
    units_digest, calendar_digest = session.execute(_UNITS_AND_CALENDAR).one()
    return units_and_calendar_of(session, units_digest, calendar_digest)


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
