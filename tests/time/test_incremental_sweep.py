"""The incremental sweep misses nothing: across runs, restarts (a new process: new engine, the
mark read back from the database) and clock jumps, every stage ends with the light its clock
gives and every late stage with its one supervision, as a full sweep would leave them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import T0
from tests.time.conftest import chain_intact, open_at, sh
from tests.time.test_urgency_clock import task_of, whistled
from workflow.actors import Actor
from workflow.runtime import engine, sla, stages
from workflow.store.db import make_engine, make_sessionmaker
from workflow.store.models import Case, Supervision, SweepMark, Task

CLERK = Actor("clerk", "W-ZHL-01", "clerk")
DAY = dt.timedelta(days=1)


def behind(sessions: sessionmaker[Session], now: dt.datetime) -> list[str]:
    """What a user would find wrong at NOW: a light other than its clock's, a late stage without
    its supervision."""
    wrong = []
    with sessions() as s:
        supervised = {
            (r[0], r[1]) for r in s.execute(select(Supervision.case_id, Supervision.stage_seq))
        }
        for case in s.execute(select(Case).order_by(Case.id)).scalars():
            if case.tier is None or case.paused_at is not None or case.stage_due_at is None:
                continue
            light = stages.light_of(case, now)
            if light != case.light:
                wrong.append(f"case {case.id}: {case.light}, its clock says {light}")
            if light == "red" and (case.id, case.stage_seq) not in supervised:
                wrong.append(f"case {case.id}: late without a supervision")
    return wrong


def open_cases(sessions: sessionmaker[Session], starts: list[dt.datetime]) -> list[int]:
    ids = []
    for at in starts:
        with sessions.begin() as s:
            case = open_at(s, CLERK, "SW-02", at)
            engine.fire(s, case.id, "accept", CLERK, now=at)
            ids.append(case.id)
    return ids


def supervision_count(sessions: sessionmaker[Session]) -> int:
    with sessions() as s:
        return s.execute(select(func.count()).select_from(Supervision)).scalar_one()


def test_nothing_is_missed_across_runs_and_restarts(db_url: str) -> None:
    engines = [make_engine(db_url)]
    first = make_sessionmaker(engines[0])
    try:
        ids = open_cases(first, [T0 + k * DAY / 2 for k in range(8)])
        now = T0
        for step in range(14):
            now = T0 + step * DAY
            # Every other sweep runs in a "new process": its own engine, the mark read back.
            if step % 2:
                sessions = first
            else:
                engines.append(make_engine(db_url))
                sessions = make_sessionmaker(engines[-1])
            if step == 5:
                # A case moves on between sweeps: its new stage is watched from its new clock.
                with sessions.begin() as s:
                    engine.fire(s, ids[0], "forward", CLERK, now=now)
            sla.sweep(sessions, now=now)
            assert behind(sessions, now) == [], f"after the sweep at day {step}"
            if sessions is not first:
                engines.pop().dispose()
        with first() as s:
            mark = s.get(SweepMark, 1)
            assert mark is not None and mark.swept_at == now
        # A full sweep at the same instant finds nothing more to do.
        before = supervision_count(first)
        assert sla.sweep(first, now=now, full=True).supervisions == 0
        assert supervision_count(first) == before
        with first() as s:
            assert chain_intact(s)
    finally:
        for e in engines:
            e.dispose()


def test_a_routine_sweep_looks_only_at_what_is_due(sessions: sessionmaker[Session]) -> None:
    open_cases(sessions, [T0 + k * DAY for k in range(5)])
    late = T0 + 40 * DAY
    r = sla.sweep(sessions, now=late)
    assert r.supervisions == 5
    # A minute later: the five late stages are red and supervised: not one is looked at.
    assert sla.sweep(sessions, now=late + dt.timedelta(minutes=1)).checked == 0
    assert behind(sessions, late) == []


def test_clock_jumps_back_and_forward_miss_nothing(sessions: sessionmaker[Session]) -> None:
    ids = open_cases(sessions, [T0, T0 + DAY, T0 + 2 * DAY])
    sla.sweep(sessions, now=T0 + 10 * DAY)
    assert behind(sessions, T0 + 10 * DAY) == []
    # A writer whose clock is ahead moves a case on; the sweeper's clock then jumps back.
    with sessions.begin() as s:
        engine.fire(s, ids[1], "forward", CLERK, now=T0 + 11 * DAY)
    back = T0 + 3 * DAY
    sla.sweep(sessions, now=back)
    # Forward again, far: the stage entered while the clock was back is late now.
    ahead = T0 + 60 * DAY
    r = sla.sweep(sessions, now=ahead)
    assert r.supervisions >= 1
    assert behind(sessions, ahead) == []
    # And back and forward once more: nothing is raised twice.
    before = supervision_count(sessions)
    sla.sweep(sessions, now=back)
    sla.sweep(sessions, now=ahead + DAY)
    assert supervision_count(sessions) == before
    assert behind(sessions, ahead + DAY) == []


def test_a_red_light_written_outside_streetflow_is_found_by_a_full_sweep(
    sessions: sessionmaker[Session],
) -> None:
    [cid] = open_cases(sessions, [T0])
    sla.sweep(sessions, now=T0 + DAY)  # a complete sweep: its mark is set
    late = T0 + 30 * DAY
    # Set red by hand (a restored backup, a repair in SQL): no trail event, no supervision.
    with sessions.begin() as s:
        s.execute(update(Case).where(Case.id == cid).values(light="red"))
    sla.sweep(sessions, now=late)
    assert supervision_count(sessions) == 0  # the incremental sweep looks at changes only
    r = sla.sweep(sessions, now=late, full=True)
    assert r.supervisions == 1
    assert behind(sessions, late) == []


def test_a_red_step_written_outside_streetflow_is_found_by_a_full_sweep(
    sessions: sessionmaker[Session],
) -> None:
    # A department's step set red by hand after its report was due: no supervision. The full
    # sweep's red stages include the tasks' steps (on SQLite, this sweep once failed on them:
    # an expanding list of the open statuses in a statement compiled once, store.direct).
    with sessions.begin() as s:
        case_id = whistled(s, "critical")
        task_id = task_of(s, case_id).id
        s.execute(update(Task).where(Task.id == task_id).values(light="red"))
    r = sla.sweep(sessions, now=sh(2026, 11, 27, 22, 40), full=True)
    assert r.supervisions == 1
    with sessions() as s:
        sup = s.execute(select(Supervision)).scalar_one()
        assert (sup.case_id, sup.holder, sup.task_id) == (case_id, "D-ZJ", task_id)


def test_the_first_sweep_looks_at_every_red_stage(sessions: sessionmaker[Session]) -> None:
    [cid] = open_cases(sessions, [T0])
    with sessions.begin() as s:  # as an instance from before the sweep kept its mark
        s.execute(update(Case).where(Case.id == cid).values(light="red"))
    late = T0 + 30 * DAY
    assert sla.sweep(sessions, now=late).supervisions == 1
    assert behind(sessions, late) == []
