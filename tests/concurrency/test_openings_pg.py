"""On PostgreSQL, opening a case locks only its own partition's head: a case opened in another
street goes through while a street's head is held, one opened in that street waits for it.
The order of completion is asserted, not timings."""

from __future__ import annotations

import threading

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.concurrency.test_partitions_pg import (  # noqa: F401 (its PostgreSQL-only fixture)
    XGZ,
    ZHL,
    _postgresql_only,
    limited,
    opened,
    three_partitions,
    wait_for_lock_waiter,
)
from tests.conftest import T0, open_case_as
from workflow.audit.verify import verify
from workflow.runtime import engine as wf
from workflow.store.models import Case, TrailEvent


def test_an_opening_in_another_street_does_not_wait_one_in_the_same_street_does(
    sessions: sessionmaker[Session],
) -> None:
    three_partitions(sessions)
    held = opened(sessions, ZHL)
    order: list[str] = []
    errors: list[BaseException] = []
    fired, release = threading.Event(), threading.Event()
    opened_ids: dict[str, int] = {}

    def hold_zhl() -> None:
        try:
            with sessions() as s, s.begin():
                limited(s)
                wf.fire(s, held, "accept", ZHL, now=T0)
                fired.set()  # S-ZHL's head is locked until this commits
                assert release.wait(30)
                order.append("ZHL firing commits")
        except BaseException as exc:
            errors.append(exc)
            fired.set()

    def open_in_zhl() -> None:
        try:
            with sessions() as s, s.begin():
                limited(s)
                opened_ids["zhl"] = open_case_as(
                    s, "UD-01", workstation=ZHL.unit, actor=ZHL, at=T0
                ).id
            order.append("ZHL opening done")
        except BaseException as exc:
            errors.append(exc)

    t1 = threading.Thread(target=hold_zhl)
    t1.start()
    assert fired.wait(30) and not errors, errors
    t2 = threading.Thread(target=open_in_zhl)
    t2.start()
    wait_for_lock_waiter(sessions)  # the opening in S-ZHL waits on its street's head
    with sessions() as s, s.begin():
        limited(s, 5)  # would fail rather than wait
        opened_ids["xgz"] = open_case_as(s, "UD-01", workstation=XGZ.unit, actor=XGZ, at=T0).id
    order.append("XGZ opening done")
    assert order == ["XGZ opening done"]
    release.set()
    t1.join(30)
    t2.join(30)
    assert not errors, errors
    assert order == ["XGZ opening done", "ZHL firing commits", "ZHL opening done"]
    with sessions() as s:
        fired_ev = s.execute(
            select(TrailEvent).where(
                TrailEvent.case_id == held, TrailEvent.action == "case.transition"
            )
        ).scalar_one()
        opening = s.execute(
            select(TrailEvent).where(
                TrailEvent.case_id == opened_ids["zhl"], TrailEvent.action == "case.opened"
            )
        ).scalar_one()
        zhl, xgz = (s.get(Case, opened_ids[k]) for k in ("zhl", "xgz"))
        assert zhl is not None and xgz is not None and zhl.partition != xgz.partition
        # S-ZHL's chain stays in order: the opening links to the firing it waited for.
        assert opening.partition == fired_ev.partition and opening.prev_hash == fired_ev.hash
        report = verify(s, "secret")
    assert report.ok, report.problems
