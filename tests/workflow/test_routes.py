"""Every path of every route template, fired by the right actors; every transition refused to the
wrong ones. Expected holders are worked out here from the tier rules of domain.md."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import T0
from workflow.actors import Actor
from workflow.config import DEFAULT_DEFINITIONS
from workflow.errors import InvalidInput, NotHolder
from workflow.runtime import engine, tasks
from workflow.spec.loader import load_definitions
from workflow.spec.model import ItemSpec, RouteSpec, TransitionSpec
from workflow.store.models import Task

DEFS = load_definitions(DEFAULT_DEFINITIONS)
WS, STREET = "W-ZHL-01", "S-ZHL"
# One item per route template; for incident and mediation, one with a stationed agency and one
# without, so both agency-tier rules are exercised.
ITEMS = {
    "local": ["SW-10"],
    "street_approval": ["SW-01"],
    "three_tier": ["SW-02"],
    "pass_through": ["SW-06"],
    "incident": ["UD-01", "UD-04"],
    "mediation": ["PS-01", "UD-05"],
    "party_local": ["PB-03"],
    "party_approval": ["PB-01"],
    "consultation": ["GA-08"],
}
# The community's two committees and the street's party working committee (两委一站).
BODIES = {
    "party_committee": "P-ZHL-01",
    "mediation_committee": "M-ZHL-01",
    "street_party": "P-ZHL",
}


def simple_paths(route: RouteSpec) -> Iterator[list[TransitionSpec]]:
    """Every path from the initial state to a final state that takes no transition twice: each
    loop (materials, send-backs, reopen) is taken once on some path."""

    def walk(
        state: str, used: frozenset[int], path: list[TransitionSpec]
    ) -> Iterator[list[TransitionSpec]]:
        if route.state(state).final:
            yield list(path)
            return
        for i, t in enumerate(route.transitions):
            if t.source == state and i not in used:
                path.append(t)
                yield from walk(t.dest, used | {i}, path)
                path.pop()

    yield from walk(route.initial, frozenset(), [])


def expected_holder(
    route: RouteSpec, item: ItemSpec, t: TransitionSpec, current: str | None
) -> str | None:
    tier = route.state(t.dest).tier
    if tier is None:
        return None
    if tier in ("workstation", "applicant"):
        return WS
    if tier == "street_office":
        return STREET
    if tier in BODIES:
        return BODIES[tier]
    if tier == "agency":
        return f"A-ZHL-{item.street_agency}" if item.street_agency else STREET
    if t.target:
        return item.whistle_to[-1]
    if route.state(t.source).tier == "department":
        return current
    return item.department


def actor_for(t: TransitionSpec, holder: str | None) -> Actor:
    role = "clerk" if "clerk" in t.roles else "staff"
    return Actor(f"{role}@{holder}", holder, role)


def target_for(route: RouteSpec, item: ItemSpec, t: TransitionSpec) -> str | None:
    """The whistle's department; calling more into a task state: one not called yet (D-GA is
    in no incident item's whistle_to here: the reason every whistle gives lets it be called)."""
    if not t.target:
        return None
    return "D-GA" if t.source == t.dest else item.whistle_to[-1]


def finish_tasks(s: Session, case_id: int) -> None:
    """Every called department reports and does its part: the task state's join holds."""
    for task in s.execute(select(Task).where(Task.case_id == case_id)).scalars().all():
        if task.status == "awaiting_report":
            tasks.step(s, task.id, "report", Actor("d", task.unit, "staff"), now=T0)
        if task.status == "working":
            tasks.step(s, task.id, "done", Actor("d", task.unit, "staff"), result="已办", now=T0)


def fire_right(
    s: Session, case_id: int, route: RouteSpec, item: ItemSpec, t: TransitionSpec
) -> None:
    case = engine.get_case(s, case_id)
    if route.state(t.source).tasks is not None and t.source != t.dest:
        finish_tasks(s, case_id)
    engine.fire(
        s,
        case_id,
        t.trigger,
        actor_for(t, case.holder),
        reason="因为" if t.reason_required else None,
        target=target_for(route, item, t),
        now=T0,
    )


PATHS = [
    (route.name, code, i, path)
    for route in DEFS.routes
    for code in ITEMS[route.name]
    for i, path in enumerate(simple_paths(route))
]


@pytest.mark.parametrize(
    ("route_name", "code", "n", "path"),
    PATHS,
    ids=[f"{r}-{c}-{' '.join(t.trigger for t in p)}" for r, c, _, p in PATHS],
)
def test_every_path_with_the_right_actors(
    sessions: sessionmaker[Session], route_name: str, code: str, n: int, path: list[TransitionSpec]
) -> None:
    route, item = DEFS.route(route_name), DEFS.item(code)
    with sessions.begin() as s:
        case = engine.open_case(
            s,
            item=code,
            workstation=WS,
            actor=Actor("c", WS, "clerk"),
            applicant_name="王芳",
            applicant_phone="13800000000",
            now=T0,
        )
        case_id = case.id
        first = BODIES.get(route.state(route.initial).tier or "", WS)
        assert (case.state, case.holder, case.version) == (route.initial, first, 1)
    for step, t in enumerate(path, start=2):
        with sessions.begin() as s:
            before = engine.get_case(s, case_id).holder
            fire_right(s, case_id, route, item, t)
        with sessions() as s:
            case = engine.get_case(s, case_id)
            assert case.state == t.dest
            assert case.holder == expected_holder(route, item, t, before)
            assert case.tier == route.state(t.dest).tier
            assert case.version == step
    assert route.state(case.state).final


TRANSITIONS = [
    (route.name, ITEMS[route.name][0], i)
    for route in DEFS.routes
    for i in range(len(route.transitions))
]


def path_to(route: RouteSpec, state: str) -> list[TransitionSpec]:
    """A shortest path from the initial state to STATE."""
    paths: dict[str, list[TransitionSpec]] = {route.initial: []}
    frontier = [route.initial]
    while frontier:
        here = frontier.pop(0)
        for t in route.transitions:
            if t.source == here and t.dest not in paths:
                paths[t.dest] = [*paths[here], t]
                frontier.append(t.dest)
    return paths[state]


@pytest.mark.parametrize(("route_name", "code", "index"), TRANSITIONS)
def test_every_transition_refuses_the_wrong_actors(
    sessions: sessionmaker[Session], route_name: str, code: str, index: int
) -> None:
    route, item = DEFS.route(route_name), DEFS.item(code)
    t = route.transitions[index]
    with sessions.begin() as s:
        case_id = engine.open_case(
            s,
            item=code,
            workstation=WS,
            actor=Actor("c", WS, "clerk"),
            applicant_name="王芳",
            applicant_phone="13912345678",
            now=T0,
        ).id
    for step in path_to(route, t.source):
        with sessions.begin() as s:
            fire_right(s, case_id, route, item, step)
    with sessions() as s:
        holder = engine.get_case(s, case_id).holder
        version = engine.get_case(s, case_id).version
    right = actor_for(t, holder)
    wrong = [
        Actor("other-unit", "W-ZHL-02" if right.role == "clerk" else "S-XGZ", right.role),
        Actor("wrong-role", holder, "auditor"),
        Actor("admin", holder, "admin"),
    ]
    for actor in wrong:
        with sessions.begin() as s, pytest.raises(NotHolder):
            engine.fire(
                s,
                case_id,
                t.trigger,
                actor,
                reason="x",
                target=target_for(route, item, t),
                now=T0,
            )
    if t.reason_required:
        with sessions.begin() as s, pytest.raises(InvalidInput) as exc:
            engine.fire(
                s,
                case_id,
                t.trigger,
                right,
                reason="  ",
                target=target_for(route, item, t),
                now=T0,
            )
        assert "reason" in exc.value.errors
    with sessions() as s:
        case = engine.get_case(s, case_id)
        assert (case.state, case.version) == (t.source, version)
    with sessions.begin() as s:
        fire_right(s, case_id, route, item, t)
    with sessions() as s:
        case = engine.get_case(s, case_id)
        assert (case.state, case.version) == (t.dest, version + 1)
        assert case.holder == expected_holder(route, item, t, holder)
