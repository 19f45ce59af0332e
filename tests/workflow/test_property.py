"""Random sequences of triggers by random actors: the case never leaves its route, every change
has exactly one trail event, and the trail replays to the case's row."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import T0
from workflow.actors import Actor
from workflow.audit.replay import differences
from workflow.config import DEFAULT_DEFINITIONS
from workflow.errors import WorkflowError
from workflow.runtime import engine
from workflow.spec.loader import load_definitions
from workflow.store.models import TrailEvent

DEFS = load_definitions(DEFAULT_DEFINITIONS)
ITEMS = ["SW-10", "SW-01", "SW-02", "SW-06", "UD-01", "PS-01", "UD-05", "PS-06"]
TRIGGERS = sorted({t.trigger for r in DEFS.routes for t in r.transitions} | {"fly"})
UNITS = [
    "W-ZHL-01",
    "W-ZHL-02",
    "S-ZHL",
    "A-ZHL-ZF",
    "A-ZHL-SF",
    "A-ZHL-PCS",
    "D-ZF",
    "D-ZJ",
    "D-SF",
    "D-GA",
    "D-MZ",
    "D-CL",
    "S-XGZ",
]
ROLES = ["clerk", "staff", "admin", "auditor", "applicant"]

steps = st.lists(
    st.tuples(
        st.tuples(st.sampled_from(TRIGGERS), st.integers(0, 9)),  # (any trigger, or one valid now)
        st.sampled_from([*["HOLDER"] * 4 * len(UNITS), *UNITS]),  # mostly the holder
        st.sampled_from([*["HOLDER_ROLE"] * 20, *ROLES]),
        st.sampled_from([*["原因"] * 6, None, ""]),
        st.sampled_from([*[None] * 10, "D-ZF", "D-ZJ", "D-GA", "D-MZ", "D-SF", "D-YJ"]),
        st.sampled_from([*[None] * 8, 1, 2, 3]),
    ),
    min_size=3,
    max_size=25,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(item=st.sampled_from(ITEMS), moves=steps)
def test_random_firings_keep_case_and_trail_consistent(
    sessions: sessionmaker[Session], item: str, moves: list[tuple]
) -> None:
    with sessions.begin() as s:
        case = engine.open_case(
            s,
            item=item,
            workstation="W-ZHL-01",
            actor=Actor("c", "W-ZHL-01", "clerk"),
            applicant_name="赵敏",
            applicant_phone="13912345678",
            now=T0,
        )
        cid = case.id
    route = DEFS.route(DEFS.item(item).route)
    now = T0
    for trigger, unit, role, reason, target, expected in moves:
        now += dt.timedelta(hours=3)
        with sessions() as s:
            before = engine.get_case(s, cid)
            v0 = before.version
            n0, m0 = _events(s, cid)
        any_trigger, pick = trigger
        here = [t.trigger for t in route.transitions if t.source == before.state]
        trigger = here[pick % len(here)] if pick < 8 and here else any_trigger
        if unit == "HOLDER":
            unit = before.holder
        if role == "HOLDER_ROLE":
            role = "clerk" if before.tier in ("workstation", "applicant") else "staff"
        changed = True
        try:
            with sessions.begin() as s:
                engine.fire(
                    s,
                    cid,
                    trigger,
                    Actor("x", unit, role),
                    reason=reason,
                    target=target,
                    expected_version=expected,
                    now=now,
                )
        except WorkflowError:
            changed = False
        with sessions() as s:
            after = engine.get_case(s, cid)
            n1, m1 = _events(s, cid)
            assert after.state in route.state_names
            assert after.version == v0 + (1 if changed else 0)
            # One transition event a firing; a whistle's tasks (task.opened) may come with it;
            # a refusal writes nothing at all.
            assert m1 == m0 + (1 if changed else 0)
            assert n1 >= m1 - m0 + n0 if changed else n1 == n0
            if not changed:
                assert (after.state, after.holder) == (before.state, before.holder)
    with sessions() as s:
        assert list(differences(s)) == []
        total = s.execute(
            select(func.count()).select_from(TrailEvent).where(TrailEvent.case_id == cid)
        ).scalar_one()
    CHANGES.append(total - 1)  # the opening aside


CHANGES: list[int] = []


def _events(s: Session, cid: int) -> tuple[int, int]:
    """The case's trail events: all of them, and its transitions."""
    every = select(func.count()).select_from(TrailEvent).where(TrailEvent.case_id == cid)
    moves = every.where(TrailEvent.action == "case.transition")
    return s.execute(every).scalar_one(), s.execute(moves).scalar_one()


def test_the_random_walks_did_move_cases() -> None:
    """Guards the test above against only ever trying refused moves."""
    assert CHANGES and max(CHANGES) >= 3 and sum(CHANGES) >= len(CHANGES) // 2
