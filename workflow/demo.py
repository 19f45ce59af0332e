"""Demo data: one user per role and unit kind, and about a month of cases made by the engine itself.

Every demo case is opened and moved with open_case() and fire(), in time order over the whole
district, so its trail is a real one: escalations, whistles, returns, refusals, pauses for
materials, some stages late and some cases still open at the end."""

from __future__ import annotations

import datetime as dt
import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from workflow import users
from workflow.actors import Actor
from workflow.catalog import registry
from workflow.feedback import appeals, callbacks, rectification
from workflow.places import routing
from workflow.runtime import engine, tasks
from workflow.runtime.machines import RESULT_TRIGGERS
from workflow.spec.model import ItemSpec, RouteSpec
from workflow.store.models import Case, Feedback, Rectification

# Something the demo writes at a later instant, in its turn among the moves (_Moves.later).
Later = Callable[[dt.datetime], None]


@dataclass(frozen=True)
class DemoUser:
    name: str
    unit: str
    role: str
    password: str
    what: str


DEMO_USERS = (
    DemoUser(
        "admin", "S-ZHL", "admin", "admin-demo-2026", "street office administrator, Zhuhai Road"
    ),
    DemoUser("clerk", "W-ZHL-01", "clerk", "clerk-demo-2026", "workstation clerk, Zhuhai Road 1"),
    DemoUser("street", "S-ZHL", "staff", "street-demo-2026", "street office staff, Zhuhai Road"),
    DemoUser(
        "agency", "A-ZHL-ZF", "staff", "agency-demo-2026", "enforcement squad staff, Zhuhai Road"
    ),
    DemoUser("dept", "D-ZF", "staff", "dept-demo-2026", "department staff, Law Enforcement Bureau"),
    # 两委一站: the community's party committee and its residents' committee (whose people's
    # mediation committee mediates) beside the workstation; the street party working committee
    # and the street's service centre beside the street office.
    DemoUser(
        "party", "P-ZHL-01", "staff", "party-demo-2026", "community party committee, Zhuhai Road 1"
    ),
    DemoUser(
        "residents",
        "R-ZHL-01",
        "staff",
        "residents-demo-2026",
        "residents' committee, Zhuhai Road 1",
    ),
    DemoUser(
        "mediator",
        "M-ZHL-01",
        "staff",
        "mediator-demo-2026",
        "people's mediation committee, Zhuhai Road 1",
    ),
    DemoUser(
        "streetparty",
        "P-ZHL",
        "staff",
        "streetparty-demo-2026",
        "street party working committee, Zhuhai Road",
    ),
    DemoUser("centre", "C-ZHL", "staff", "centre-demo-2026", "street service centre, Zhuhai Road"),
    DemoUser("auditor", "X-SN", "auditor", "auditor-demo-2026", "district supervision (督查考核)"),
    DemoUser(
        "district",
        "X-SN",
        "admin",
        "district-demo-2026",
        "district administrator: publishes the routes and the list, decides appeals (申诉)",
    ),
    DemoUser(
        "callback", "X-SN", "callback", "callback-demo-2026", "callback operator (回访), district"
    ),
    DemoUser(
        "dispatcher",
        "H-SN",
        "dispatcher",
        "dispatcher-demo-2026",
        "dispatch centre (12345 hotline): classifies, places and dispatches calls",
    ),
)
CALLBACK = Actor("demo:callback", "X-SN", "callback")
DISTRICT = Actor("demo:district", "X-SN", "admin")

# The Open311 channel of the demo's residents' app (an api_key's name).
APP_CHANNEL = "app-shinan"

# What a holder does next in each state: (trigger, weight). Reasons are filled in below.
CHOICES: dict[str, list[tuple[str, int]]] = {
    "submitted": [("accept", 92), ("refuse", 8)],
    "reported": [("accept", 94), ("refuse", 6)],
    "requested": [("accept", 100)],
    "processing": [("complete", 80), ("request_materials", 12), ("reject", 8)],
    "ws_review": [("forward", 82), ("request_materials", 14), ("refuse", 0)],
    "awaiting_materials": [("resubmit", 100)],
    "street_review": [("approve", 70), ("forward", 70), ("send_back", 12), ("reject", 6)],
    "dept_review": [("approve", 84), ("send_back", 10), ("reject", 6)],
    "dept_processing": [("complete", 86), ("send_back", 8), ("reject", 6)],
    "delivery": [("deliver", 100)],
    "ws_handling": [("resolve", 55), ("forward", 45)],
    "street_handling": [("dispatch", 40), ("whistle", 30), ("resolve", 30)],
    "agency_handling": [("resolve", 88), ("send_back", 12)],
    "awaiting_report": [("report", 100)],
    "dept_handling": [("resolve", 90), ("send_back", 10)],
    "coordinating": [("resolve", 100)],
    "resolved": [("confirm", 90), ("reopen", 10)],
    "community_mediation": [("settle", 55), ("forward", 35), ("withdraw", 10)],
    "street_mediation": [("settle", 65), ("forward", 25), ("withdraw", 10)],
    "district_mediation": [("settle", 70), ("refer", 25), ("withdraw", 5)],
    "party_review": [("forward", 100)],
    "street_party_review": [("approve", 80), ("send_back", 12), ("reject", 8)],
    "asked": [("answer", 100)],
}
REASONS = {
    "refuse": "不属于本事项受理范围",
    "reject": "经审核不符合条件",
    "request_materials": "请补充材料：户口簿复印件",
    "send_back": "材料不全，退回补正",
    "whistle": "问题超出街道处置权限，吹哨请相关部门报到",
    "reopen": "居民反映问题未解决",
    "refer": "调解不成，引导通过诉讼解决",
    "withdraw": "当事人撤回申请",
    "answer": "已当场答复，告知办理条件、所需材料和办理地点",
}
# A joint whistle's tasks: the departments' written results, the street's reasons.
RESULTS = ("已到场处置，现场问题已消除", "已核查并依法处理", "已约谈责任单位，限期整改完毕")
TASK_SEND_BACK = "办理结果缺少现场照片，请补充后重报"
# A case's result (办理结果) on resolve or complete, by route.
CASE_RESULTS = {
    "incident": "已到现场核实处置，问题已解决，已告知居民",
    "*": "已按规定办理完毕，结果已告知申请人",
}
TASK_CANCEL = "经现场核实不涉及该部门职责"
# Departments a street may call beside an item's whistle_to (with the whistle's reason).
EXTRA_DEPARTMENTS = ("D-GA", "D-ZJ", "D-SJ")
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英"
# How many cases a workstation gets in a month, by window: incidents are the most common.
ITEM_WEIGHT_BY_ROUTE = {
    "incident": 5,
    "local": 3,
    "street_approval": 2,
    "three_tier": 2,
    "pass_through": 2,
    "mediation": 2,
    "party_local": 1,
    "party_approval": 1,
}


def add_demo_users(session: Session, *, now: dt.datetime) -> list[DemoUser]:
    """Add the demo users that are not there yet; return the ones added."""
    added = []
    for u in DEMO_USERS:
        if users.find_user(session, u.name) is not None:
            continue
        users.add_user(
            session,
            name=u.name,
            unit=u.unit,
            role=u.role,
            password=u.password,
            actor="demo",
            now=now,
        )
        added.append(u)
    return added


def _actor_for(unit: str | None, tier: str | None) -> Actor:
    role = "clerk" if tier in ("workstation", "applicant") else "staff"
    return Actor(f"demo:{unit}", unit, role)


def _stage_fraction(rng: random.Random) -> float:
    """How much of a stage's limit the holder uses: mostly well within, some late."""
    r = rng.random()
    if r < 0.72:
        return rng.uniform(0.03, 0.6)
    if r < 0.9:
        return rng.uniform(0.6, 1.0)
    return rng.uniform(1.0, 1.8)


def generate_cases(
    sessions: sessionmaker[Session],
    *,
    now: dt.datetime,
    days: int = 30,
    per_workstation: int = 24,
    seed: int = 2017,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Open and move about per_workstation cases at each workstation over the last DAYS days.

    Returns the number of cases opened. Events are fired in time order across the district."""
    rng = random.Random(seed)
    with sessions() as s:
        items_map, _ = registry.items(s)
        unit_index = registry.units(s)
        routes: dict[str, RouteSpec] = {
            name: registry.route(s, name)[0] for name in registry.route_names(s)
        }
        calendar = engine.work_calendar(s)
    workstations = sorted(c for c, u in unit_index.units.items() if u.kind == "workstation")
    items: list[ItemSpec] = sorted(items_map.values(), key=lambda i: i.code)
    drawn = _plan_openings(rng, calendar, now, days, per_workstation * len(workstations), items)
    plan = [(at, workstations[n % len(workstations)], item) for n, (at, item) in enumerate(drawn)]
    plan.sort(key=lambda p: p[0])
    session = sessions()
    session.begin()
    moves = _Moves(session, rng, routes, calendar, items_map, now)
    try:
        for done, (at, ws, item) in enumerate(plan, start=1):
            moves.run(until=at)  # first the moves due before this case is opened
            case = _open_demo_case(session, rng, ws, item, at)
            moves.push(_next_time(case, at, rng, calendar), case.id)
            if done % 100 == 0:
                session.commit()
                session.begin()
                if progress:
                    progress(done, len(plan))
        moves.run(until=None)
        _one_appeal_upheld(session, now)
        session.commit()
    finally:
        session.close()
    if progress:
        progress(len(plan), len(plan))
    return len(plan)


def _plan_openings(
    rng: random.Random,
    calendar: engine.WorkCalendar,
    now: dt.datetime,
    days: int,
    total: int,
    items: list[ItemSpec],
) -> list[tuple[dt.datetime, ItemSpec]]:
    """When each case is opened and of which item: every item at least once, the rest drawn
    by weight, all in working hours before NOW."""
    start = now - dt.timedelta(days=days)
    weights = [ITEM_WEIGHT_BY_ROUTE.get(i.route, 1) for i in items]
    plan: list[tuple[dt.datetime, ItemSpec]] = []
    for n in range(total):
        item = items[n] if n < len(items) else rng.choices(items, weights)[0]
        day = start + dt.timedelta(seconds=rng.uniform(0, days * 86400))
        at = calendar.add_working_seconds(day, rng.uniform(0, 4 * 3600))
        if at >= now:  # the last days' cases are opened before now, however the calendar falls
            at = now - dt.timedelta(minutes=rng.uniform(1, 600))
        plan.append((at, item))
    return plan


def _receiver(session: Session, ws: str, item: ItemSpec) -> Actor:
    """Who opens a case at the community: the committee its route starts at (the party
    committee, the mediation committee), else the workstation's clerk."""
    route = registry.route(session, item.route)[0]
    body = registry.units(session).body(ws, route.state(route.initial).tier or "")
    if body:
        return Actor(f"demo:{body}", body, "staff")
    return Actor(f"demo:{ws}", ws, "clerk")


def _open_demo_case(
    session: Session, rng: random.Random, ws: str, item: ItemSpec, at: dt.datetime
) -> Case:
    name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))
    # A quarter of the incidents come from a residents' app through Open311 (so the public
    # Open311 list has requests to show); the rest at the window.
    by_app = item.route == "incident" and rng.random() < 0.25
    # The app sends where the resident stands, not a workstation: the case lands by place.
    point = _point_in(session, ws, random.Random(f"{ws} {at.isoformat()}")) if by_app else None
    return engine.open_case(
        session,
        item=item.code,
        workstation=None if point else ws,
        lat=point[0] if point else None,
        long=point[1] if point else None,
        actor=Actor(APP_CHANNEL, None, "applicant") if by_app else _receiver(session, ws, item),
        applicant_name=name,
        applicant_phone=f"13{rng.randint(100000000, 999999999)}",
        description=f"{item.name_zh}（演示数据）",
        form={"open311": {"address_string": f"{ws} 辖区（演示地址）"}}
        if by_app
        else _window_form(item, ws, at),
        channel=APP_CHANNEL if by_app else "window",
        now=at,
        materials_override=_MATERIALS_OVERRIDE if not by_app and _lacks_one(item, at) else None,
    )


# At the window the clerk ticks the materials brought; now and then one is missing and the case
# is opened anyway, with the reason (decided by the minute, not the random stream, so that the
# rest of the demo stays as it was).
_MATERIALS_OVERRIDE = "群众急需办理，缺少的材料承诺三日内补交（演示）"


def _lacks_one(item: ItemSpec, at: dt.datetime) -> bool:
    return len(item.materials) > 1 and at.minute % 15 == 0


def _window_form(item: ItemSpec, ws: str, at: dt.datetime) -> dict[str, object]:
    given = list(item.materials[:-1] if _lacks_one(item, at) else item.materials)
    return {"materials": given}


def _point_in(session: Session, ws: str, rng: random.Random) -> tuple[float, float] | None:
    """A point (lat, long) inside WS's community that lands there; None without places."""
    places = routing.current(session)
    if places is None or ws not in places.boundaries:
        return None
    x0, y0, x1, y1 = places.boundaries[ws].bounds
    for _ in range(200):
        lat, long = round(rng.uniform(y0, y1), 6), round(rng.uniform(x0, x1), 6)
        if places.at_point(lat, long) == ws:
            return lat, long
    return None


# Hot spots (主动治理): reports that repeat in a few communities over the last two weeks, filed
# from the residents' app at a point, so the hot spots page has somewhere to point at.
HOT_SPOTS = (("W-BDH-02", "UD-07", 12), ("W-ZSL-01", "UD-02", 8), ("W-JSL-04", "UD-01", 6))


def generate_hotspots(sessions: sessionmaker[Session], *, now: dt.datetime) -> int:
    """Open the HOT_SPOTS reports (left for the workstations to accept); how many."""
    rng = random.Random(20)
    # In time order, as every demo event: the trail's times never run backwards.
    plan = sorted(
        (now - dt.timedelta(minutes=10) * (n - k), ws, item)
        for ws, item, n in HOT_SPOTS
        for k in range(n)
    )
    made = 0
    with sessions.begin() as s:
        for at, ws, item in plan:
            point = _point_in(s, ws, rng)
            if point is None:
                return made
            engine.open_case(
                s,
                item=item,
                workstation=None,
                lat=point[0],
                long=point[1],
                actor=Actor(APP_CHANNEL, None, "applicant"),
                applicant_name=rng.choice(SURNAMES) + rng.choice(GIVEN),
                applicant_phone=f"13{rng.randint(100000000, 999999999)}",
                description="又一次（演示数据：反复出现的诉求）",
                channel=APP_CHANNEL,
                now=at,
            )
            made += 1
    return made


class _Moves:
    """The next move of each open demo case, fired in time order."""

    def __init__(
        self,
        session: Session,
        rng: random.Random,
        routes: dict[str, RouteSpec],
        calendar: engine.WorkCalendar,
        items_map: object,
        now: dt.datetime,
    ) -> None:
        self.session, self.rng, self.routes = session, rng, routes
        self.calendar, self.items_map, self.now = calendar, items_map, now
        # (when, tie-breaker, case id, what to do then: None, the case's next move)
        self.queue: list[tuple[dt.datetime, int, int, Later | None]] = []
        self.order = 0

    def push(self, when: dt.datetime | None, case_id: int) -> None:
        if when and when < self.now:  # a move after now is left for the users to make
            self.order += 1
            heapq.heappush(self.queue, (when, self.order, case_id, None))

    def later(self, when: dt.datetime, do: Later) -> None:
        """DO(WHEN) in its turn among the moves: a resident's answer hours after the case
        closed is written after the moves made meanwhile, so that the trail runs in time order."""
        if when < self.now:
            self.order += 1
            heapq.heappush(self.queue, (when, self.order, 0, do))

    def run(self, *, until: dt.datetime | None) -> None:
        """Fire the moves due by UNTIL (all of them: None)."""
        while self.queue and (until is None or self.queue[0][0] <= until):
            when, _, cid, do = heapq.heappop(self.queue)
            if do is not None:
                do(when)
                continue
            args = (self.rng, self.routes, self.calendar, self.items_map)
            self.push(_step(self.session, cid, when, *args, self.now, later=self.later), cid)


def _next_time(
    case: Case, at: dt.datetime, rng: random.Random, calendar: engine.WorkCalendar
) -> dt.datetime:
    if case.stage_due_at is None:  # waiting on the applicant: a few working days
        return calendar.add_working_seconds(at, rng.uniform(0.2, 3) * 8 * 3600)
    limit = max(calendar.working_seconds_between(at, case.stage_due_at), 1800)
    return calendar.add_working_seconds(at, limit * _stage_fraction(rng))


def _step(
    session: Session,
    case_id: int,
    at: dt.datetime,
    rng: random.Random,
    routes: dict[str, RouteSpec],
    calendar: engine.WorkCalendar,
    items_map: object,
    now: dt.datetime,
    later: Callable[[dt.datetime, Later], None] | None = None,
) -> dt.datetime | None:
    """The case's next move at AT (fired), and when the one after is due (None: none). LATER:
    how to write what follows at a later instant (a resident's answer); None: at once."""
    case = engine.get_case(session, case_id)
    route = routes[case.route_name]
    state = route.state(case.state)
    if state.final:
        return None
    if state.tasks is not None:
        nxt = _task_step(session, case, at, rng, calendar)
        if nxt is not None:
            return nxt
    allowed = {t.trigger for t in route.transitions if t.source == case.state}
    options = [(t, w) for t, w in CHOICES.get(case.state, []) if t in allowed and w > 0]
    if not options:
        options = [(t, 1) for t in sorted(allowed)]
    trigger = rng.choices([t for t, _ in options], [w for _, w in options])[0]
    spec = route.transition(case.state, trigger)
    assert spec is not None
    item = registry.item(session, case.item, case.list_version)[0]
    target = rng.choice(item.whistle_to) if spec.target == "whistle_to" else None
    targets = None
    if spec.target == "whistle_to" and route.state(spec.dest).tasks is not None:
        # A joint whistle: mostly two or three departments, the first the lead.
        pool = list(item.whistle_to) + [d for d in EXTRA_DEPARTMENTS if d not in item.whistle_to]
        k = rng.choices([1, 2, 3], [3, 5, 3])[0]
        targets = list(item.whistle_to[:1]) + rng.sample(pool[1:], min(k - 1, len(pool) - 1))
        target = None
    actor = _actor_for(case.holder, state.tier)
    engine.fire(
        session,
        case_id,
        trigger,
        actor,
        reason=REASONS.get(trigger, "演示") if spec.reason_required else None,
        target=target,
        targets=targets,
        now=at,
        # 办理结果: what was done, as the console asks for it on resolving or completing.
        result=CASE_RESULTS.get(route.name, CASE_RESULTS["*"])
        if trigger in RESULT_TRIGGERS
        else None,
    )
    case = engine.get_case(session, case_id)
    if route.state(case.state).final:
        _resident_answers(session, case_id, at, rng, now, later or _at_once)
        return None
    if route.state(case.state).tasks is not None:
        return _task_next(session, case, at, rng, calendar)
    return _next_time(case, at, rng, calendar)


def _resident_answers(
    session: Session,
    case_id: int,
    at: dt.datetime,
    rng: random.Random,
    now: dt.datetime,
    later: Callable[[dt.datetime, Later], None],
) -> None:
    """Most residents answer: by the one-time link, or on a 回访 call. A 差评 is rectified by the
    handling unit and the resident is called again. Each step is written at its own instant,
    through LATER."""
    latest = now - dt.timedelta(minutes=2)
    when = min(at + dt.timedelta(minutes=rng.randint(5, 600)), latest)
    if rng.random() >= 0.8 or when <= at:
        return
    level = rng.choices([5, 4, 3, 2, 1], [55, 25, 10, 6, 4])[0]
    resolved = level >= 3 or rng.random() < 0.3
    by_link = rng.random() < 0.6

    def answer(when: dt.datetime) -> None:
        fb = session.execute(
            select(Feedback).where(Feedback.case_id == case_id, Feedback.status == "pending")
        ).scalar_one()
        if by_link and fb.code:
            callbacks.answer_link(session, fb.code, level=level, resolved=resolved, now=when)
        else:
            callbacks.record_call(
                session,
                case_id,
                CALLBACK,
                level=level,
                resolved=resolved,
                channel="phone",
                now=when,
            )
        rect = session.execute(
            select(Rectification).where(
                Rectification.case_id == case_id, Rectification.status == "open"
            )
        ).scalar_one_or_none()
        reported = min(when + dt.timedelta(hours=rng.uniform(4, 60)), latest)
        if rect is None or reported <= when:
            return
        unit = registry.units(session).units[rect.unit]
        clerk = "clerk" if unit.kind == "workstation" else "staff"
        rect_id, actor = rect.id, Actor(f"demo:{rect.unit}", rect.unit, clerk)

        def report(reported: dt.datetime) -> None:
            rectification.report(
                session,
                rect_id,
                actor,
                text="已再次联系群众，当面说明并补办到位（演示）",
                now=reported,
            )
            again = min(reported + dt.timedelta(hours=rng.uniform(2, 30)), latest)
            if again > reported:
                later(again, call_again)

        later(reported, report)

    def call_again(again: dt.datetime) -> None:
        callbacks.record_call(
            session,
            case_id,
            CALLBACK,
            level=rng.choice([3, 4, 5]),
            resolved=True,
            channel="phone",
            now=again,
        )

    later(when, answer)


def _at_once(when: dt.datetime, do: Later) -> None:
    """_step's LATER for a caller without a queue of moves: written now, dated WHEN."""
    do(when)


def _one_appeal_upheld(session: Session, now: dt.datetime) -> None:
    """One 差评 appealed as off-topic by its handling unit, and upheld by the district."""
    fb = session.execute(
        select(Feedback)
        .where(Feedback.status == "given", Feedback.level <= 2, Feedback.handler.is_not(None))
        .order_by(Feedback.id)
        .limit(1)
    ).scalar_one_or_none()
    if fb is None or fb.handler is None:
        return
    unit = registry.units(session).units[fb.handler]
    role = "clerk" if unit.kind == "workstation" else "staff"
    row = appeals.appeal(
        session,
        fb.id,
        Actor(f"demo:{fb.handler}", fb.handler, role),
        reason="评价内容是对另一件事（小区停车）的意见，与本事项无关（演示）",
        now=now - dt.timedelta(minutes=1),
    )
    appeals.decide(
        session,
        row.id,
        DISTRICT,
        uphold=True,
        reason="经回听录音，评价与本事项无关，不计入考核（演示）",
        now=now - dt.timedelta(seconds=30),
    )


def _task_step(
    session: Session,
    case: Case,
    at: dt.datetime,
    rng: random.Random,
    calendar: engine.WorkCalendar,
) -> dt.datetime | None:
    """One step of a joint whistle's tasks (None: the join holds, the street moves on): a
    department reports or does its part; now and then the street cancels a task or sends a
    part back. Reports are mostly in time, some late (as stages are)."""
    round_ = tasks.round_tasks(session, case.id, case.stage_seq)
    street = Actor(f"demo:{case.holder}", case.holder, "staff")
    for t in round_:
        dept = Actor(f"demo:{t.unit}", t.unit, "staff")
        if t.status == "awaiting_report":
            if not t.lead and rng.random() < 0.08:
                tasks.step(session, t.id, "cancel", street, reason=TASK_CANCEL, now=at)
            else:
                tasks.step(session, t.id, "report", dept, now=at)
            return _task_next(session, case, at, rng, calendar)
        if t.status == "working":
            tasks.step(session, t.id, "done", dept, result=rng.choice(RESULTS), now=at)
            return _task_next(session, case, at, rng, calendar)
    done = [t for t in round_ if t.status == "done"]
    if done and rng.random() < 0.1:
        tasks.step(session, rng.choice(done).id, "send_back", street, reason=TASK_SEND_BACK, now=at)
        return _task_next(session, case, at, rng, calendar)
    return None


def _task_next(
    session: Session,
    case: Case,
    at: dt.datetime,
    rng: random.Random,
    calendar: engine.WorkCalendar,
) -> dt.datetime:
    """When the next task step comes: by the earliest open task's limit, as for a stage."""
    dues = [
        t.stage_due_at
        for t in tasks.round_tasks(session, case.id, case.stage_seq)
        if t.status in tasks.OPEN and t.stage_due_at is not None
    ]
    if not dues:
        return calendar.add_working_seconds(at, rng.uniform(0.1, 1) * 3600)
    limit = max(calendar.working_seconds_between(at, min(dues)), 1800)
    # The departments answer in turn here: each step takes its share of the time left.
    return calendar.add_working_seconds(at, limit * _stage_fraction(rng) / len(dues))


def has_cases(session: Session) -> bool:
    return bool(session.execute(select(func.count(Case.id))).scalar_one())


def generate_practice(sessions: sessionmaker[Session], *, now: dt.datetime) -> dict[str, int]:
    """A few cases of each practice the month's random cases do not show: returns approved,
    refused, arbitrated and one pending (a street's dispatch to its enforcement squad); urgent
    and critical cases on clock time (one critical report accepted late, at night); then a
    sweep, so the ladder has reminders, supervisions and listings. Counts of what was made."""
    from workflow.runtime import sla

    with sessions.begin() as s:
        made = {
            "returns": _demo_returns(s, now),
            **_demo_urgency(s, now),
            **_demo_dispatch(s, now),
        }
    # The ladder: reminders, supervisions and listings as the sweep finds them now.
    sla.sweep(sessions, now=now)
    return made


_CLERK = Actor("demo:W-ZHL-01", "W-ZHL-01", "clerk")
_DISTRICT = Actor("demo:X-SN", "X-SN", "admin")
_SQUAD = Actor("demo:A-ZHL-ZF", "A-ZHL-ZF", "staff")
_HOUR = dt.timedelta(hours=1)


def _demo_case(s: Session, at: dt.datetime, item: str, level: str | None = None) -> int:
    case = engine.open_case(
        s,
        item=item,
        workstation="W-ZHL-01",
        actor=_CLERK,
        applicant_name="演示居民",
        applicant_phone="13800000000",
        description="演示数据：紧急程度与退单",
        urgency=level,
        now=at,
    )
    return case.id


def _dispatched(s: Session, at: dt.datetime) -> int:
    """Dispatched by the street to its enforcement squad (A-ZHL-ZF) at AT."""
    cid = _demo_case(s, at, "UD-01")
    engine.fire(s, cid, "accept", _CLERK, now=at + dt.timedelta(minutes=5))
    engine.fire(s, cid, "forward", _CLERK, now=at + dt.timedelta(minutes=10))
    street = Actor("demo:S-ZHL", "S-ZHL", "staff")
    engine.fire(s, cid, "dispatch", street, now=at + dt.timedelta(minutes=20))
    return cid


def _demo_returns(s: Session, now: dt.datetime) -> int:
    """Approved (the street at fault), refused then arbitrated, and one pending."""
    from workflow.runtime import returns

    def ask(cid: int, at: dt.datetime, reason: str, category: str = "not_our_duty") -> int:
        return returns.request_return(
            s, case_id=cid, actor=_SQUAD, category=category, reason=reason, now=at
        ).id

    def decide(rid: int, at: dt.datetime, approve: bool, reason: str, **more: str) -> None:
        returns.decide_return(
            s, return_id=rid, actor=_DISTRICT, approve=approve, reason=reason, now=at, **more
        )

    day = dt.timedelta(days=1)
    a = _dispatched(s, now - 6 * day)
    ra = ask(a, now - 6 * day + _HOUR, "属派出所职责，非执法中队")
    decide(ra, now - 6 * day + 3 * _HOUR, True, "确属派出所职责，街道错派", at_fault="S-ZHL")
    b = _dispatched(s, now - 5 * day)
    rb = ask(b, now - 5 * day + _HOUR, "不属执法中队")
    decide(rb, now - 5 * day + 2 * _HOUR, False, "违建查处属执法中队职责")
    rc = ask(b, now - 5 * day + 3 * _HOUR, "对驳回有异议：涉及暴力抗法，应由派出所处置")
    decide(rc, now - 5 * day + 5 * _HOUR, True, "仲裁：涉及暴力抗法，由派出所负责", to="A-ZHL-PCS")
    c = _dispatched(s, now - 3 * _HOUR)
    ask(c, now - 2 * _HOUR, "与前一案件为同一违建", category="duplicate")
    return 4


def _demo_urgency(s: Session, now: dt.datetime) -> dict[str, int]:
    """Urgent and critical reports; a critical one accepted an hour late, in the night."""
    made = {"urgent": 0, "critical": 0}
    for ago, item, level in (
        (30 * _HOUR, "PS-04", "critical"),
        (10 * _HOUR, "PS-03", "urgent"),
        (2 * _HOUR, "PS-04", "critical"),
        (_HOUR, "PS-03", "urgent"),
    ):
        cid = _demo_case(s, now - ago, item, level)
        made[level] += 1
        if ago == 30 * _HOUR:
            engine.fire(s, cid, "accept", _CLERK, now=now - ago + _HOUR)
    return made


_DISPATCHER = Actor("demo:H-SN", "H-SN", "dispatcher")


def _demo_dispatch(s: Session, now: dt.datetime) -> dict[str, int]:
    """The 12345 centre's day: calls waiting in its queue (one not yet classified, one not yet
    placed, one a likely duplicate of an open case), one dispatched to the workstation, one
    question answered on the spot, and one duplicate merged (合并)."""
    from workflow.dispatch import centre, duplicates

    def call(
        ago: dt.timedelta, text: str, item: str | None = None, workstation: str | None = None
    ) -> int:
        return centre.open_at_dispatch(
            s,
            actor=_DISPATCHER,
            applicant_name="演示来电",
            applicant_phone="13900000000",
            description=text,
            item=item,
            workstation=workstation,
            now=now - ago,
        ).id

    master = _demo_case(s, now - 26 * _HOUR, "UD-03")
    call(40 * dt.timedelta(minutes=1), "来电反映楼下有异味，说不清具体地点")
    call(30 * dt.timedelta(minutes=1), "来电反映路灯不亮", item="UD-04")
    call(20 * dt.timedelta(minutes=1), "来电反映垃圾堆放", item="UD-03", workstation="W-ZHL-01")
    sent = call(3 * _HOUR, "来电反映夜间施工噪声扰民")
    centre.dispatch(
        s,
        sent,
        _DISPATCHER,
        "W-ZHL-01",
        item="UD-07",
        urgency="urgent",
        reason="夜间施工，居民无法休息",
        now=now - 3 * _HOUR + 5 * dt.timedelta(minutes=1),
    )
    asked = call(2 * _HOUR, "咨询高龄津贴如何申请")
    centre.answer(
        s,
        asked,
        _DISPATCHER,
        "年满80周岁可带身份证、户口簿到户籍所在社区工作站申请",
        item="GA-08",
        now=now - 2 * _HOUR + 3 * dt.timedelta(minutes=1),
    )
    dup = call(_HOUR, "来电反映同一处垃圾未清运", item="UD-03", workstation="W-ZHL-01")
    duplicates.merge(
        s,
        dup,
        _DISPATCHER,
        master,
        reason="与已登记的同一处垃圾堆放为同一事项",
        now=now - _HOUR + 2 * dt.timedelta(minutes=1),
    )
    return {"dispatch_queue": 3, "dispatched": 1, "answered": 1, "merged": 1}
