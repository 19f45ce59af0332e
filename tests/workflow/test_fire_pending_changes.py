"""The fast path keeps what the caller did before it: a change the caller made to a case in its
session and not yet flushed is written (not lost, no false StaleVersion); a statement run with a
parameter missing is refused as SQLAlchemy refuses it; a firing that appended no event is refused
with a real error, not an assert."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import cast

import pytest
from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session, sessionmaker
from transitions import Machine

from tests.conftest import FIRED_BY, T0
from workflow.actors import Actor
from workflow.catalog import registry
from workflow.errors import NotAllowed
from workflow.runtime import engine as wf
from workflow.runtime import machines
from workflow.store import direct
from workflow.store.models import Case, TrailEvent

CLERK = Actor("clerk", "W-ZHL-01", "clerk")


def _events(s: Session, case_id: int) -> int:
    return s.execute(
        select(func.count()).select_from(TrailEvent).where(TrailEvent.case_id == case_id)
    ).scalar_one()


def test_an_unflushed_change_to_a_column_the_firing_reads_is_kept(
    sessions: sessionmaker[Session], make_case: Callable[..., int]
) -> None:
    case_id = make_case("UD-01")
    with sessions.begin() as s:
        case = s.get(Case, case_id)
        assert case is not None
        case.urgency = "urgent"  # pending in the session, not flushed
        wf.fire(s, case_id, "accept", CLERK, now=T0)
    with sessions() as s:
        stored = s.get(Case, case_id)
        assert stored is not None
        assert stored.urgency == "urgent"
        assert stored.state != "received" or stored.version > 1
        assert _events(s, case_id) == 2


def test_an_unflushed_change_to_a_column_the_firing_does_not_read_is_kept(
    sessions: sessionmaker[Session], make_case: Callable[..., int]
) -> None:
    case_id = make_case("UD-01")
    with sessions.begin() as s:
        case = s.get(Case, case_id)
        assert case is not None
        before = case.state
        case.description = "路灯不亮，已两周"
        wf.fire(s, case_id, "accept", CLERK, now=T0)
        # The session's own Case shows the firing too.
        assert case.state != before
    with sessions() as s:
        stored = s.get(Case, case_id)
        assert stored is not None
        assert stored.description == "路灯不亮，已两周"
        assert stored.state != before


def test_two_firings_after_a_pending_change_in_one_transaction(
    sessions: sessionmaker[Session], make_case: Callable[..., int]
) -> None:
    case_id = make_case("UD-01")
    with sessions.begin() as s:
        case = s.get(Case, case_id)
        assert case is not None
        case.description = "first"
        wf.fire(s, case_id, "accept", CLERK, now=T0)
        case.description = "second"
        unit, role = FIRED_BY["forward"]
        wf.fire(s, case_id, "forward", Actor(f"{role}@{unit}", unit, role), now=T0)
    with sessions() as s:
        stored = s.get(Case, case_id)
        assert stored is not None
        assert stored.description == "second"
        assert _events(s, case_id) == 3


def test_a_statement_with_a_missing_parameter_is_refused(
    sessions: sessionmaker[Session], make_case: Callable[..., int]
) -> None:
    case_id = make_case("UD-01")
    cases = cast(Table, Case.__table__)
    stmt = direct.Statement(
        update(cases)
        .where(cases.c.id == bindparam("case_id"))
        .values(whistle_target=bindparam("target"))
    )
    with sessions.begin() as s:
        conn = s.connection()
        # (whistle_target may be NULL: only the missing parameter can refuse this.)
        with pytest.raises(StatementError, match="value is required for bind parameter 'target'"):
            stmt.run(conn, {"case_id": case_id})
    # Given, it runs; a None given is a NULL, as asked.
    with sessions.begin() as s:
        assert stmt.run(s.connection(), {"case_id": case_id, "target": "D-ZF"}).rowcount == 1
    with sessions() as s:
        stored = s.get(Case, case_id)
        assert stored is not None and stored.whistle_target == "D-ZF"
    with sessions.begin() as s:
        assert stmt.run(s.connection(), {"case_id": case_id, "target": None}).rowcount == 1


@pytest.fixture
def refusing_machine(sessions: sessionmaker[Session]) -> Iterator[None]:
    """UD-01's route machine with a condition that says no without raising (as a transitions
    condition may): the trigger fires nothing and appends no event."""
    with sessions() as s:
        case_route = registry.items(s)[0]["UD-01"].route
        route, _, digest = registry.route(s, case_route)
    real = machines.machine_for(route, digest)
    refusing = Machine(
        model=None,
        states=list(route.state_names),
        transitions=[
            {"trigger": t.trigger, "source": t.source, "dest": t.dest, "conditions": [_no]}
            for t in route.transitions
        ],
        initial=route.initial,
        auto_transitions=False,
        send_event=True,
    )
    machines._machines[digest] = refusing
    try:
        yield
    finally:
        machines._machines[digest] = real


def _no(_: object) -> bool:
    return False


def test_a_firing_that_appends_no_event_is_refused_and_changes_nothing(
    sessions: sessionmaker[Session], make_case: Callable[..., int], refusing_machine: None
) -> None:
    case_id = make_case("UD-01")
    with sessions() as s:
        before = s.get(Case, case_id)
        assert before is not None
        state, version = before.state, before.version
    with sessions.begin() as s, pytest.raises(NotAllowed, match="accept"):
        wf.fire(s, case_id, "accept", CLERK, now=T0)
    with sessions() as s:
        after = s.get(Case, case_id)
        assert after is not None
        assert (after.state, after.version) == (state, version)
        assert _events(s, case_id) == 1
