"""The latest published version of the organisation, calendar, list of items, places and
appraisal scheme, as every page reads them: all five in one statement the first time a
transaction asks any (on PostgreSQL a lateral lookup per kind, on SQLite a union), each the
newest of its kind, an unpublished one refused, on both databases."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from sqlalchemy import Engine, delete, event, select
from sqlalchemy.orm import Session, sessionmaker

from workflow.catalog import registry
from workflow.config import DEFAULT_DEFINITIONS
from workflow.errors import NotFound
from workflow.spec.loader import load_definitions
from workflow.store.models import DefinitionVersion


def _statements(engine: Engine) -> list[str]:
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_a: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    return seen


def _newest(s: Session, kind: str) -> int:
    return max(
        s.execute(
            select(DefinitionVersion.version).where(
                DefinitionVersion.kind == kind, DefinitionVersion.name == kind
            )
        ).scalars()
    )


def test_each_singleton_reads_its_newest_version_in_one_statement(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    defs = load_definitions(DEFAULT_DEFINITIONS)
    # A second calendar (one more holiday): version 2 of it, the rest 1.
    day = dt.date(2031, 1, 2)
    assert day not in defs.calendar.holidays
    later = dataclasses.replace(defs.calendar, holidays=(*defs.calendar.holidays, day))
    with sessions.begin() as s:
        changes = registry.publish(s, dataclasses.replace(defs, calendar=later), actor="test")
        assert {c.kind: c.version for c in changes if c.changed} == {"calendar": 2}
    with sessions() as s:
        newest = {k: _newest(s, k) for k in registry.SINGLETONS}
    assert newest == {"units": 1, "calendar": 2, "items": 1, "places": 1, "appraisal": 1}
    with sessions() as s:  # the contents read (and kept by digest) before counting
        registry.units(s), registry.calendar(s), registry.items(s)
    seen = _statements(engine)
    with sessions() as s:
        got = {k: registry._pointer(s, k, k, None)[0] for k in registry.SINGLETONS}
        assert got == newest
        assert registry.calendar(s).holidays == later.holidays
        assert registry.units(s).units and registry.items(s)[1] == 1
        assert len(seen) == 1  # all five at once, then kept for the transaction
    with sessions() as s:  # another transaction asks again
        registry.units(s)
        assert len(seen) == 2


def test_an_unpublished_singleton_is_refused_and_the_others_still_read(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        s.execute(delete(DefinitionVersion).where(DefinitionVersion.kind == "places"))
    with sessions() as s:
        assert registry.units(s).units  # the organisation, read with the others
        with pytest.raises(NotFound) as refused:
            registry._pointer(s, "places", "places", None)
        assert refused.value.code == "no_published"
        assert registry.items(s)[1] == 1
