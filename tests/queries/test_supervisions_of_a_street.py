"""A street office's supervisions (and extensions): those of its cases and those addressed to
it, one list; on PostgreSQL asked of each row by the case, never a set of the street's cases
read whole again for each row. (Under the OR, `IN (the street's cases)` was hashed while the
set fit in work_mem; beyond it, each supervision read the set again: at five million cases a
street's open supervisions after a catch-up sweep did not count in 80 s.)"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine, event, func, insert, select, text
from sqlalchemy.orm import Session, sessionmaker

from bench.seed import seed_cases
from tests.conftest import T0, seeded
from tests.queries.conftest import actor
from workflow.queries import extensions, supervisions
from workflow.store.models import Case, Extension, Supervision

N = 60_000  # a street has 6,000: more than 64 kB of work_mem hashes


def fill_city(_engine: Engine, sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        seed_cases(s, N, start=T0)
        ids = list(s.scalars(select(Case.id).order_by(Case.id)))
        rows = [
            {
                "case_id": case_id,
                "stage_seq": 1,
                "state": "ws_handling",
                "holder": "W-XGZ-01",
                # Every seventh addressed to S-ZHL whatever its case's street.
                "unit": "S-ZHL" if k % 7 == 0 else "X-SN",
                "also_unit": None,
                "stage_due_at": T0,
                "raised_at": T0 + dt.timedelta(minutes=k),
                "acknowledged_at": T0 if k % 3 == 0 else None,
            }
            for k, case_id in enumerate(ids[::4])
        ]
        s.execute(insert(Supervision), rows)
        if s.get_bind().dialect.name == "postgresql":
            s.execute(text("ANALYZE"))


city_db, city = seeded("city", fill_city)


def test_a_streets_supervisions_are_its_cases_and_those_addressed_to_it(
    city: sessionmaker[Session], db_kind: str
) -> None:
    staff = actor("S-ZHL", "staff")
    plans: list[str] = []

    def explain(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.startswith("SELECT") and "supervisions" in statement:
            raw = conn.connection.driver_connection
            plans.append(str(raw.execute("EXPLAIN " + statement, params).fetchall()))

    with city() as s:
        street = select(Case.id).where(Case.street == "S-ZHL")
        assert s.scalar(select(func.count()).select_from(street.subquery())) > 5_000
        for open_ in (True, None):
            mine = (Supervision.case_id.in_(street)) | (Supervision.unit == "S-ZHL")
            also = [Supervision.acknowledged_at.is_(None)] if open_ else []
            expected = list(
                s.scalars(select(Supervision.id).where(mine, *also).order_by(Supervision.id.desc()))
            )
            assert expected
            engine = s.get_bind()
            if db_kind == "postgresql":
                # A work_mem the street's cases do not fit in (it is per session).
                s.execute(text("SET work_mem = '64kB'"))
                event.listen(engine, "before_cursor_execute", explain)
            try:
                seen: list[int] = []
                after = None
                for _ in range(100):
                    page = supervisions.list_supervisions(
                        s, actor=staff, open=open_, after=after, limit=50
                    )
                    seen += [r.id for r in page.items]
                    if page.next is None:
                        break
                    after = page.next
                found = extensions.list_extensions(s, actor=staff, limit=10)
            finally:
                if db_kind == "postgresql":
                    event.remove(engine, "before_cursor_execute", explain)
                    s.execute(text("RESET work_mem"))
            assert seen == expected, open_
            assert found.items == [] and s.scalar(select(func.count(Extension.id))) == 0
        if db_kind == "postgresql":
            assert plans
            # Each row asked by its case (an index), not a set materialised and read again.
            assert not [p for p in plans if "Materialize" in p], plans
