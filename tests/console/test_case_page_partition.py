"""The case page records its personal-data read under the lock of the case's own trail
partition (as a firing does): on PostgreSQL a reader of one street's case does not wait for a
writer of another street's partition, and the trail stays one intact chain per partition."""

from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.console.conftest import Browserless
from workflow.audit import chain
from workflow.audit.verify import verify
from workflow.store.models import Case, TrailEvent

SECRET = "s3cret"


def partition(sessions: sessionmaker[Session], case_id: int) -> int:
    with sessions() as s:
        return s.execute(select(Case.partition).where(Case.id == case_id)).scalar_one()


def read_events(sessions: sessionmaker[Session], case_id: int) -> list[int]:
    """The partitions of the case's personal-data reads on the trail, in order."""
    with sessions() as s:
        return list(
            s.execute(
                select(TrailEvent.partition)
                .where(
                    TrailEvent.case_id == case_id, TrailEvent.action == "case.personal_data_read"
                )
                .order_by(TrailEvent.seq)
            ).scalars()
        )


def test_a_case_page_read_is_recorded_in_its_partition_without_waiting_for_another(
    sessions: sessionmaker[Session],
    sign_in_client: Callable[..., Browserless],
    make_case: Callable[..., int],
) -> None:
    with sessions.begin() as s:
        chain.ensure_partitions(s, 3)
    zhl = make_case("SW-10", workstation="W-ZHL-01")
    xgz = make_case("SW-10", workstation="W-XGZ-01")
    assert partition(sessions, zhl) != partition(sessions, xgz)
    clerk = sign_in_client("W-ZHL-01", "clerk")
    postgresql = sessions.kw["bind"].dialect.name == "postgresql"

    # A writer of the other street's partition holds its head (PostgreSQL: a row lock; SQLite
    # has one writer for the whole file, so there the page is asked with none).
    other = sessions()
    if postgresql:
        chain.lock_head(other, [partition(sessions, xgz)])
    answered: list[int] = []
    page = threading.Thread(
        target=lambda: answered.append(clerk.get(f"/console/cases/{zhl}").status_code)
    )
    try:
        page.start()
        page.join(timeout=20)
        assert answered == [200], "the case page waited for another partition's writer"
    finally:
        other.rollback()
        other.close()
        page.join(timeout=20)

    # Reads of both streets' cases: each recorded in its case's partition, the chain intact.
    street = sign_in_client("S-ZHL", "staff")
    xgz_clerk = sign_in_client("W-XGZ-01", "clerk")
    for client, cid in ((clerk, zhl), (xgz_clerk, xgz), (street, zhl), (xgz_clerk, xgz)):
        assert client.get(f"/console/cases/{cid}").status_code == 200
    assert read_events(sessions, zhl) == [partition(sessions, zhl)] * 3
    assert read_events(sessions, xgz) == [partition(sessions, xgz)] * 2
    with sessions() as s:
        report = verify(s, SECRET)
    assert report.ok, report.problems
