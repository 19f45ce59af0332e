"""On PostgreSQL a sweep's batches do not pause for users: a firing that waits for a head row a
batch holds is queued on it by the server and writes before the sweep's next batch, and a batch
ends after its chunk in hand when a firing waits for it."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import T0
from tests.time.conftest import chain_intact
from tests.time.test_incremental_sweep import CLERK, DAY, open_cases
from workflow.audit import chain
from workflow.runtime import engine, sla
from workflow.store.models import TrailEvent


@pytest.fixture(autouse=True)
def _postgresql_only(db_kind: str) -> None:
    if db_kind != "postgresql":
        pytest.skip("PostgreSQL's queue of row locks (a SQLite file has turns instead)")


def _until(what: str, check: object) -> None:
    deadline = time.monotonic() + 30
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.001)


def _waited_on(session: Session) -> bool:
    return bool(session.execute(sla._WAITED_ON).scalar())


class _User(threading.Thread):
    """A user firing CASE_ID forward at NOW in a thread of its own; ERROR what it raised."""

    def __init__(self, sessions: sessionmaker[Session], case_id: int, now: object) -> None:
        super().__init__()
        self.sessions, self.case_id, self.now = sessions, case_id, now
        self.done = False
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with self.sessions.begin() as s:
                engine.fire(s, self.case_id, "forward", CLERK, now=self.now)
        except BaseException as exc:  # reported by the test
            self.error = exc
        self.done = True


def _order(sessions: sessionmaker[Session], ids: list[int], at: object) -> list[tuple[str, int]]:
    with sessions() as s:
        return [
            (a, c)
            for a, c in s.execute(
                select(TrailEvent.action, TrailEvent.case_id)
                .where(TrailEvent.case_id.in_(ids), TrailEvent.action != "case.opened")
                .where(TrailEvent.at == at)
                .order_by(TrailEvent.seq)
            )
        ]


def test_a_firing_that_waits_on_a_batch_writes_before_the_next_batch(
    sessions: sessionmaker[Session],
) -> None:
    ids = open_cases(sessions, [T0, T0 + DAY])
    late = T0 + 30 * DAY
    sweeper = sla.Sweeper(
        sessions, now=late, batch=200, late=sla.Backlog(), budget_s=sla.BATCH_BUDGET_S
    )
    assert sweeper.turns is None
    with sessions() as s:  # planned already: the next batch follows this one at once
        sweeper.carry = sla._plan(s, now=late, limit=200, late=sweeper.late)
    user = _User(sessions, ids[0], late)
    with sessions.begin() as s:  # another sweep's batch, in hand
        chain.lock_head(s)
        user.start()
        _until("the user waits", lambda: _waited_on(s))
    # The batch is over; the sweep's next batch, begun at once, comes after the waiting user.
    part, _ = sweeper.step()
    user.join(30)
    assert user.done and user.error is None
    assert part.supervisions >= 1
    order = _order(sessions, ids, late)
    assert order[0] == ("case.transition", ids[0]), order
    assert ("supervision.raised", ids[1]) in order[1:], order
    with sessions() as s:
        assert chain_intact(s)


def test_a_batch_ends_after_its_chunk_when_a_firing_waits(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once the batch has held its locks half its budget, a firing queued on them ends it
    after the chunk in hand, however much budget is left; nobody waiting, it goes on."""
    ids = open_cases(sessions, [T0 + k * DAY / 4 for k in range(5)])
    late = T0 + 30 * DAY
    monkeypatch.setattr(sla, "APPLY_CHUNK", 1)
    sweeper = sla.Sweeper(sessions, now=late, batch=200, late=sla.Backlog(), budget_s=10.0)
    with sessions() as s:
        planned = sla._plan(s, now=late, limit=200, late=sweeper.late)
        sla._prepare(s, planned, now=late)
    assert len(planned) == 5
    user = _User(sessions, ids[-1], late)
    result = sla.SweepResult()
    sweeper.began = time.perf_counter() - 5.0  # the batch has held the lock half its budget
    with sessions.begin() as s:
        chain.lock_head(s)
        yielding = sweeper.yielding(s)
        assert yielding is not None and not yielding()  # nobody waits yet
        # Two chunks with nobody waiting: both written.
        rest = sla._apply(
            s,
            planned[:2],
            now=late,
            result=result,
            started=time.perf_counter(),
            budget_s=10.0,
            yielding=yielding,
        )
        assert rest == [] and result.checked == 2
        user.start()
        _until("the user waits", lambda: _waited_on(s))
        rest = sla._apply(
            s,
            planned[2:],
            now=late,
            result=result,
            started=time.perf_counter(),
            budget_s=10.0,
            took=[0.0],  # a chunk was written in this transaction already
            yielding=yielding,
        )
        assert not user.done  # it waits for this transaction
    user.join(30)
    assert user.done and user.error is None
    assert result.checked == 2 and len(rest) == 3
