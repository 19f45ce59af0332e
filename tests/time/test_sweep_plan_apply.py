"""The sweep plans a batch without the write lock and applies it under the lock after reading
the planned rows again: what changed in between (a user's firing, an extension, another sweep)
is never written from the stale plan, a batch cut short by its budget leaves nothing behind, and
the listing (挂牌督办) done in batches lists each supervision once."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import T0
from tests.time.conftest import chain_intact
from tests.time.test_incremental_sweep import CLERK, DAY, behind, open_cases
from workflow.runtime import engine, sla
from workflow.store.models import Case, Notification, Supervision, TrailEvent


def raised(sessions: sessionmaker[Session]) -> Counter[tuple[int, int]]:
    """The supervisions per (case, stage): each must be 1."""
    with sessions() as s:
        return Counter(
            (r[0], r[1]) for r in s.execute(select(Supervision.case_id, Supervision.stage_seq))
        )


def actions(sessions: sessionmaker[Session], action: str) -> Counter[int]:
    with sessions() as s:
        return Counter(
            s.execute(select(TrailEvent.case_id).where(TrailEvent.action == action)).scalars()
        )


def planned(sessions: sessionmaker[Session], now: dt.datetime, batch: int = 200) -> sla.Sweeper:
    """A sweeper whose next batch is planned already (as sweep() plans it, without the lock)."""
    sweeper = sla.Sweeper(sessions, now=now, batch=batch, late=sla.Backlog(), budget_s=None)
    with sessions() as s:
        sweeper.carry = sla._plan(s, now=now, limit=batch, late=sweeper.late)
    assert sweeper.carry
    return sweeper


def test_a_case_moved_on_after_the_plan_is_not_written_from_it(
    sessions: sessionmaker[Session],
) -> None:
    ids = open_cases(sessions, [T0, T0 + DAY])
    late = T0 + 30 * DAY
    sweeper = planned(sessions, late)
    # A user moves the first case on between the plan and the batch's write.
    with sessions.begin() as s:
        engine.fire(s, ids[0], "forward", CLERK, now=late)
    with sessions() as s:
        case = s.get(Case, ids[0])
        assert case is not None
        moved_to = case.stage_seq
    part, state = sweeper.step()
    assert state == "more" and part.supervisions == 1
    # The stage the case left was not supervised after it left; the other case's was.
    assert set(raised(sessions)) == {(ids[1], _stage(sessions, ids[1]))}
    # The rest of the sweep brings the moved case up to date on its new stage.
    sla.sweep(sessions, now=late)
    with sessions() as s:
        case = s.get(Case, ids[0])
        assert case is not None and case.stage_seq == moved_to
    assert behind(sessions, late) == []
    assert max(raised(sessions).values()) == 1


def _stage(sessions: sessionmaker[Session], case_id: int) -> int:
    with sessions() as s:
        case = s.get(Case, case_id)
        assert case is not None and case.stage_seq is not None
        return case.stage_seq


def test_two_sweepers_with_the_same_plan_raise_and_tell_once(
    sessions: sessionmaker[Session],
) -> None:
    open_cases(sessions, [T0 + k * DAY / 3 for k in range(6)])
    late = T0 + 30 * DAY
    first, second = planned(sessions, late), planned(sessions, late)
    one, _ = first.step()
    two, _ = second.step()
    assert one.supervisions == 6 and two.supervisions == 0 and two.told == 0
    assert list(raised(sessions).values()) == [1] * 6
    assert list(actions(sessions, "supervision.raised").values()) == [1] * 6
    with sessions() as s:
        told = Counter(
            s.execute(select(Notification.case_id).where(Notification.kind == "red")).scalars()
        )
    assert list(told.values()) == [1] * 6
    with sessions() as s:
        assert chain_intact(s)


def test_a_batch_cut_short_by_its_budget_leaves_nothing_behind(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every chunk of one stage, and a budget every chunk overruns: one stage per transaction,
    the rest of the plan carried to the next."""
    monkeypatch.setattr(sla, "APPLY_CHUNK", 1)
    ids = open_cases(sessions, [T0 + k * DAY / 4 for k in range(7)])
    late = T0 + 30 * DAY
    r = sla.sweep(sessions, now=late, budget_s=0.0)
    assert r.supervisions == len(ids) and r.batches >= len(ids)
    assert r.problems == []
    assert behind(sessions, late) == []
    assert list(raised(sessions).values()) == [1] * len(ids)
    # Nothing left for the next sweep.
    assert sla.sweep(sessions, now=late + dt.timedelta(minutes=1)).checked == 0
    with sessions() as s:
        assert chain_intact(s)


def test_the_listing_in_batches_lists_each_supervision_once(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sla, "LIST_BATCH", 2)
    ids = open_cases(sessions, [T0 + k * DAY / 4 for k in range(5)])
    late = T0 + 10 * DAY
    assert sla.sweep(sessions, now=late).supervisions == 5
    # Long past the listing instant: every open supervision is listed, in three transactions.
    far = T0 + 60 * DAY
    r = sla.sweep(sessions, now=far)
    assert r.listed == 5
    assert actions(sessions, "supervision.listed") == Counter(ids)
    with sessions() as s:
        assert (
            s.execute(
                select(func.count()).select_from(Supervision).where(Supervision.listed_at.is_(None))
            ).scalar_one()
            == 0
        )
    assert sla.sweep(sessions, now=far + DAY).listed == 0
    with sessions() as s:
        assert chain_intact(s)


@pytest.mark.parametrize("budget_s", [None, 0.0])
def test_a_catch_up_lists_in_the_same_write_what_is_past_its_listing_instant(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch, budget_s: float | None
) -> None:
    """A sweep long after the limits (a backlog caught up): each late stage's supervision is
    raised and listed (挂牌督办) by the same sweep, two trail events in that order at the sweep's
    instant, each once, whether the batches are cut short or not."""
    monkeypatch.setattr(sla, "APPLY_CHUNK", 2)
    # The end-of-sweep listing must find nothing left to list.
    monkeypatch.setattr(sla, "LIST_BATCH", 1)
    ids = open_cases(sessions, [T0 + k * DAY / 4 for k in range(5)])
    far = T0 + 60 * DAY
    r = sla.sweep(sessions, now=far, budget_s=budget_s)
    assert (r.supervisions, r.listed, r.problems) == (5, 5, [])
    assert actions(sessions, "supervision.raised") == Counter(ids)
    assert actions(sessions, "supervision.listed") == Counter(ids)
    with sessions() as s:
        for case_id in ids:
            sup = s.execute(select(Supervision).where(Supervision.case_id == case_id)).scalar_one()
            assert sup.list_at is not None and sup.list_at <= far
            assert (sup.raised_at, sup.listed_at, sup.listed_unit) == (far, far, "X-SN")
            ladder = [
                (e.action, e.at, e.data["supervision"])
                for e in s.execute(
                    select(TrailEvent)
                    .where(TrailEvent.case_id == case_id, TrailEvent.action.like("supervision.%"))
                    .order_by(TrailEvent.seq)
                ).scalars()
            ]
            assert ladder == [
                ("supervision.raised", far, sup.id),
                ("supervision.listed", far, sup.id),
            ]
        assert chain_intact(s)
    # Nothing listed twice, nothing left behind.
    again = sla.sweep(sessions, now=far + DAY)
    assert (again.supervisions, again.listed) == (0, 0)
    assert behind(sessions, far + DAY) == []


def test_a_supervision_not_yet_past_its_listing_instant_is_listed_later(
    sessions: sessionmaker[Session],
) -> None:
    """Raised at red, before its listing instant: not listed by that sweep, listed by the first
    one past the instant (its own event, at that sweep's instant)."""
    [case_id] = open_cases(sessions, [T0])
    with sessions() as s:
        due = s.get_one(Case, case_id).stage_due_at
    assert due is not None
    r = sla.sweep(sessions, now=due + dt.timedelta(minutes=1))
    assert (r.supervisions, r.listed) == (1, 0)
    with sessions() as s:
        list_at = s.execute(select(Supervision.list_at)).scalar_one()
    assert list_at is not None
    later = list_at + dt.timedelta(minutes=1)
    assert sla.sweep(sessions, now=later).listed == 1
    with sessions() as s:
        listed = s.execute(
            select(TrailEvent.at).where(TrailEvent.action == "supervision.listed")
        ).scalar_one()
        assert listed == later
        assert chain_intact(s)


def test_a_plan_nothing_changed_under_is_written_whole_in_one_batch(
    sessions: sessionmaker[Session],
) -> None:
    """The plan reads its rows with one statement and the batch reads them again with another:
    a stage nobody touched in between is written, not left out as changed (a difference in
    how the two read a value, an instant's zone say, would leave every stage out and the sweep
    would stop as stuck)."""
    ids = open_cases(sessions, [T0 + k * DAY / 4 for k in range(6)])
    with sessions.begin() as s:  # a case on a later stage, with a step of a task or none
        engine.fire(s, ids[0], "forward", CLERK, now=T0 + 2 * DAY)
    late = T0 + 60 * DAY
    sweeper = planned(sessions, late)
    count = len(sweeper.carry)
    part, state = sweeper.step()
    assert state == "more"
    assert part.checked == count and not sweeper.carry and not sweeper.dropped
    assert part.supervisions == len(ids)
    _, state = sweeper.step()
    assert state == "done"
    assert behind(sessions, late) == []
    assert max(raised(sessions).values()) == 1
