"""Street routing tables: a street office's own choices for its cases, per item.

For each item, a street may say which unit holds the street stage (the street office itself or
one of the agencies stationed in it), separately for the route's ``street_office`` and ``agency``
states, and may shorten (never lengthen) the district's working-day limits of the tiers under
it (``ws_limit_wd``, ``street_limit_wd``). Department limits and response limits stay the
district's. A table is published as a versioned definition (kind ``street_routing``, name = the
street's code); a case is pinned to the version in force when it was opened."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate
from sqlalchemy.orm import Session

from workflow.audit import chain
from workflow.catalog import registry
from workflow.catalog.registry import UnitIndex
from workflow.errors import InvalidInput, NotFound
from workflow.instants import utcnow
from workflow.spec.files import Problem, flatten
from workflow.spec.model import ItemSpec, RouteSpec

KIND = "street_routing"
HOLDER_TIERS = ("street_office", "agency")
LIMITS = ("ws_limit_wd", "street_limit_wd")
LIMIT_TIERS = {"ws_limit_wd": ("workstation",), "street_limit_wd": ("street_office", "agency")}


class _EntrySchema(Schema):
    class Meta:
        unknown = RAISE

    street_office = fields.String(load_default=None, allow_none=True)
    agency = fields.String(load_default=None, allow_none=True)
    ws_limit_wd = fields.Integer(
        load_default=None, allow_none=True, strict=True, validate=validate.Range(min=1)
    )
    street_limit_wd = fields.Integer(
        load_default=None, allow_none=True, strict=True, validate=validate.Range(min=1)
    )


class _TableSchema(Schema):
    class Meta:
        unknown = RAISE

    items = fields.Dict(keys=fields.String(), values=fields.Nested(_EntrySchema), required=True)


@dataclass(frozen=True)
class StreetRouting:
    """One version of one street's table: item code -> {tier or limit column: value}."""

    street: str
    version: int
    items: Mapping[str, Mapping[str, Any]]

    def holders(self, item: str) -> dict[str, str]:
        """Tier -> unit for the street stage of ITEM (empty: the district's default)."""
        entry = self.items.get(item, {})
        return {t: entry[t] for t in HOLDER_TIERS if entry.get(t)}

    def apply(self, item: ItemSpec) -> ItemSpec:
        """ITEM with the street's shorter limits; a street limit never lengthens the district's."""
        entry = self.items.get(item.code, {})
        changes = {}
        for column in LIMITS:
            mine, district = entry.get(column), getattr(item, column)
            if mine is not None and district is not None and mine < district:
                changes[column] = mine
        return dataclasses.replace(item, **changes) if changes else item


def check_table(
    session: Session, street: str, data: Any, file: str = "routing"
) -> tuple[dict[str, Any] | None, list[Problem]]:
    """The table's content as stored, or every problem: shape, items, units, limits."""
    try:
        loaded = _TableSchema().load(data if isinstance(data, Mapping) else {"": data})
    except ValidationError as exc:
        return None, [Problem(file, place, msg) for place, msg in flatten(exc.messages)]
    units = registry.units(session)
    if street not in units.units or units.units[street].kind != "street_office":
        return None, [Problem(file, "street", f"{street!r} is not a street office")]
    items, list_version = registry.items(session)
    problems: list[Problem] = []
    content: dict[str, dict[str, Any]] = {}
    for code in sorted(loaded["items"]):
        place = f"items.{code}"
        item = items.get(code)
        if item is None:
            problems.append(Problem(file, place, f"no item {code} in list version {list_version}"))
            continue
        route, _, _ = registry.route(session, item.route, street=street)
        entry = _Entry(file, place, street, route, loaded["items"][code], problems)
        kept = {**entry.holders(units), **entry.limits(item)}
        if kept:
            content[code] = kept
    if problems:
        return None, problems
    return {"street": street, "items": content}, []


class _Entry:
    """One item's row of a street's table being checked: what it may keep, its problems told."""

    def __init__(
        self,
        file: str,
        place: str,
        street: str,
        route: RouteSpec,
        entry: dict[str, Any],
        problems: list[Problem],
    ) -> None:
        self.file, self.place, self.street, self.route = file, place, street, route
        self.entry, self.problems = entry, problems
        self.tiers = {s.tier for s in route.states if s.tier}

    def _problem(self, field: str, message: str) -> None:
        self.problems.append(Problem(self.file, f"{self.place}.{field}", message))

    def holders(self, units: UnitIndex) -> dict[str, str]:
        """The tiers' holders: the street itself or an agency stationed in it, on a tier the
        route has."""
        kept: dict[str, str] = {}
        for tier in HOLDER_TIERS:
            unit = self.entry.get(tier)
            if not unit:
                continue
            u = units.units.get(unit)
            if u is None or not (
                unit == self.street
                or (u.kind == "dispatched_agency" and u.host_street == self.street)
            ):
                self._problem(
                    tier, f"{unit!r} is neither {self.street} nor an agency stationed in it"
                )
            elif tier not in self.tiers:
                self._problem(tier, f"route {self.route.name} has no {tier} stage")
            else:
                kept[tier] = unit
        return kept

    def limits(self, item: ItemSpec) -> dict[str, int]:
        """The day limits: only ones the district sets on a stage the route has, shortened."""
        kept: dict[str, int] = {}
        for column in LIMITS:
            mine = self.entry.get(column)
            if mine is None:
                continue
            district = getattr(item, column)
            if district is None or not self.tiers & set(LIMIT_TIERS[column]):
                self._problem(column, "the district sets no such limit here")
            elif mine > district:
                self._problem(
                    column,
                    f"{mine} working days would lengthen the district's {district}: "
                    "a street may only shorten it",
                )
            else:
                kept[column] = mine
        return kept


def publish_table(
    session: Session,
    street: str,
    data: Any,
    *,
    actor: str,
    now: dt.datetime | None = None,
    file: str = "routing",
) -> registry.Change:
    """Validate and publish a street's table (a new version only if it changed). Cases already
    open keep the version they were opened with. Raises InvalidInput with every problem."""
    now = now or utcnow()
    chain.lock_head(session)
    content, problems = check_table(session, street, data, file)
    if content is None:
        raise InvalidInput(
            f"the routing table of {street} is invalid: "
            + "; ".join(f"{p.place}: {p.message}" for p in problems),
            {p.place or "body": [p.message] for p in problems},
            code="routing_table_invalid",
            params={"street": street, "problems": [f"{p.place}: {p.message}" for p in problems]},
        )
    return registry.publish_one(session, KIND, street, content, actor=actor, now=now)


def table(session: Session, street: str, version: int | None = None) -> StreetRouting | None:
    """A street's table (the latest by default), or None when it has published none."""
    try:
        spec, _ = registry.cached_definition(
            session,
            KIND,
            street,
            version,
            lambda v, content: StreetRouting(street, v, dict(content.get("items", {}))),
        )
    except NotFound:
        if version is not None:
            raise
        return None
    return spec


def for_case(session: Session, street: str, version: int | None) -> StreetRouting | None:
    """The table a case is pinned to (None: it was opened before its street had one)."""
    return table(session, street, version) if version is not None else None
