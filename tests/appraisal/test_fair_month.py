"""A hand-built November 2026 under the shipped scheme: the resident's answers make 解决率 and
满意率, credited to the 承办单位 (and the commanding street); units with fewer than 5 cases are
不参评; ranks are dense. Every number below is worked out by hand.

Working hours 08:30-12:00 and 13:30-17:30; Nov 2 2026 is a Monday.
- W-ZHL-01: six UD-01 incidents (Nov 2-6 and 9), each accepted at 09:30, resolved and confirmed
  by the clerk the same day; the sixth is accepted at 15:00, past its 4 working-hour response
  limit (due 14:30).
  Answers: 5 已解决, 5 已解决, 4 已解决, 3 未解决, 1 未解决 (rectified; the second 回访 says
  4 已解决), and 1 未解决 on the sixth, appealed and upheld (out of the appraisal).
- W-ZHL-02: five SW-10 cases (1 working day), one completed late; answers 5, 4, 4, 4 已解决 and
  2 未解决.
- W-ZHL-03: five SW-10 cases on time; answers 4 已解决 twice, 4 未解决 twice, 1 未解决.
- W-ZHL-04: four SW-10 cases, all on time and answered 5 已解决: too few cases.
- W-ZHL-05: one UD-01 forwarded, dispatched to A-ZHL-ZF, sent back, whistled to D-ZF which
  resolves it (the incident route as it was before joint-whistle tasks); the clerk confirms;
  answered 5 已解决: credited to D-ZF and S-ZHL only."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import staff_of
from tests.tasks.helpers import publish_old_incident
from workflow.actors import Actor
from workflow.appraisal import records as appraisal
from workflow.audit import chain
from workflow.catalog import registry
from workflow.feedback import appeals, callbacks, rectification
from workflow.runtime import engine
from workflow.store.models import Feedback, Rectification

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOV = "2026-11"
CALLBACK = Actor("callback", "X-SN", "callback")
DISTRICT = Actor("district", "X-SN", "admin")
STREET, AGENCY, D_ZF = staff_of("S-ZHL"), staff_of("A-ZHL-ZF"), staff_of("D-ZF")


def nov(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI).astimezone(dt.UTC)


def clerk(ws: str) -> Actor:
    return Actor(f"clerk@{ws}", ws, "clerk")


def opened(s: Session, ws: str, item: str, when: dt.datetime) -> int:
    return engine.open_case(
        s,
        item=item,
        workstation=ws,
        actor=clerk(ws),
        applicant_name="张伟",
        applicant_phone="13900000000",
        now=when,
    ).id


def answer(s: Session, case: int, level: int, resolved: bool, when: dt.datetime) -> Feedback:
    """By the link while it is valid (for odd case ids), else a call: the channel does not
    change what counts."""
    fb = s.scalars(
        select(Feedback).where(Feedback.case_id == case, Feedback.status == "pending")
    ).one()
    if case % 2 and fb.code and when < fb.expires_at:
        return callbacks.answer_link(s, fb.code, level=level, resolved=resolved, now=when)
    return callbacks.record_call(
        s, case, CALLBACK, level=level, resolved=resolved, channel="phone", now=when
    )


def build(sessions: sessionmaker[Session]) -> dict[str, list[int]]:
    cases: dict[str, list[int]] = {}
    with sessions.begin() as s:
        # W-ZHL-05's whistled case runs on the incident route as it was before tasks (the
        # department resolves it alone); the W-ZHL-01 cases take the same route either way.
        publish_old_incident(s)
    with sessions.begin() as s:
        w1 = clerk("W-ZHL-01")
        ids = []
        for n, (level, resolved) in enumerate(
            [(5, True), (5, True), (4, True), (3, False), (1, False), (1, False)]
        ):
            day = (2, 3, 4, 5, 6, 9)[n]  # working days
            c = opened(s, "W-ZHL-01", "UD-01", nov(day, 9))
            accept_at = nov(day, 15) if n == 5 else nov(day, 9, 30)
            for trigger, when in (("accept", accept_at), ("resolve", nov(day, 16))):
                engine.fire(s, c, trigger, w1, now=when)
            engine.fire(s, c, "confirm", w1, now=nov(day, 16, 30))
            answer(s, c, level, resolved, nov(day + 7, 10))
            ids.append(c)
        cases["W-ZHL-01"] = ids
        # The 1 on the fifth case: rectified, then the second 回访.
        rect = s.scalars(select(Rectification).where(Rectification.case_id == ids[4])).one()
        rectification.report(s, rect.id, w1, text="上门说明并处理完毕", now=nov(13, 9))
        answer(s, ids[4], 4, True, nov(16, 10))
        # The 1 on the sixth: appealed as off-topic, upheld by the district.
        bad = s.scalars(select(Feedback).where(Feedback.case_id == ids[5])).one()
        row = appeals.appeal(s, bad.id, w1, reason="评价针对的是物业", now=nov(16, 11))
        appeals.decide(s, row.id, DISTRICT, uphold=True, reason="与本事项无关", now=nov(17, 9))

        for ws, answers, late in (
            ("W-ZHL-02", [(5, True), (4, True), (4, True), (4, True), (2, False)], {0}),
            ("W-ZHL-03", [(4, True), (4, True), (4, False), (4, False), (1, False)], set()),
            ("W-ZHL-04", [(5, True)] * 4, set()),
        ):
            ids = []
            for n, (level, resolved) in enumerate(answers):
                day = 2 + n  # Nov 2-6, Monday to Friday
                c = opened(s, ws, "SW-10", nov(day, 9))
                engine.fire(s, c, "accept", clerk(ws), now=nov(day, 9, 10))
                # processing is due at the end of the next working day
                done = nov(day + 7, 10) if n in late else nov(day, 11)
                engine.fire(s, c, "complete", clerk(ws), now=done)
                answer(s, c, level, resolved, nov(20, 9 + n))
                ids.append(c)
            cases[ws] = ids

        w5 = clerk("W-ZHL-05")
        c = opened(s, "W-ZHL-05", "UD-01", nov(9, 9))
        for trigger, actor, when, kw in (
            ("accept", w5, nov(9, 9, 30), {}),
            ("forward", w5, nov(9, 10), {}),
            ("dispatch", STREET, nov(9, 11), {}),
            ("send_back", AGENCY, nov(10, 9), {"reason": "非本所职责"}),
            ("whistle", STREET, nov(10, 10), {"target": "D-ZF", "reason": "需执法"}),
            ("report", D_ZF, nov(10, 11), {}),
            ("resolve", D_ZF, nov(11, 9), {}),
            ("confirm", w5, nov(11, 10), {}),
        ):
            engine.fire(s, c, trigger, actor, now=when, **kw)
        answer(s, c, 5, True, nov(12, 10))
        cases["W-ZHL-05"] = [c]
    return cases


def test_the_three_rates_scores_and_fair_ranks_of_a_hand_built_month(
    sessions: sessionmaker[Session],
) -> None:
    cases = build(sessions)
    with sessions.begin() as s:
        recs = {r.unit: r for r in appraisal.compute(s, NOV, now=nov(30, 20))}
    w1 = cases["W-ZHL-01"]

    def rate(unit: str, name: str) -> tuple[list[int], list[int], float | None]:
        m = recs[unit].metrics[name]
        return m["numerator_cases"], m["denominator_cases"], m["value"]

    # 响应率: six first responses, the sixth late.
    assert rate("W-ZHL-01", "response_rate") == (w1[:5], w1, round(5 / 6, 6))
    # 解决率 and 满意率: the last answer of each case in the month, the upheld one left out:
    # 已解决 and 满意/非常满意 on the first three and on the fifth's second 回访; not the fourth.
    assert rate("W-ZHL-01", "resolution_rate") == ([*w1[:3], w1[4]], w1[:5], 0.8)
    assert rate("W-ZHL-01", "satisfaction_rate") == ([*w1[:3], w1[4]], w1[:5], 0.8)
    # Twelve stage exits (ws_handling, resolved), all in time; nothing forwarded.
    assert recs["W-ZHL-01"].metrics["on_time_rate"]["value"] == 1.0
    assert recs["W-ZHL-01"].metrics["send_back_rate"]["value"] is None
    # 20*5/6 + 30*1 + 15*0.8 + 25*0.8 over the 90 points that apply = 87.407...
    assert recs["W-ZHL-01"].score == 87.41
    # W-ZHL-02: on time 4/5, resolved 4/5, satisfied 4/5: (24 + 12 + 20) / 70 = 80
    w2 = recs["W-ZHL-02"].metrics
    assert [w2[m]["value"] for m in ("on_time_rate", "resolution_rate", "satisfaction_rate")] == [
        0.8,
        0.8,
        0.8,
    ]
    assert w2["response_rate"]["value"] is None  # SW-10 has no response limit
    assert recs["W-ZHL-02"].score == 80.0
    # W-ZHL-03: on time 5/5, resolved 2/5, satisfied 4/5: (30 + 6 + 20) / 70 = 80
    w3 = recs["W-ZHL-03"].metrics
    assert [w3[m]["value"] for m in ("on_time_rate", "resolution_rate", "satisfaction_rate")] == [
        1.0,
        0.4,
        0.8,
    ]
    assert recs["W-ZHL-03"].score == 80.0
    # Dense ranks among the units ranked: 87.41 first, the two 80s share second.
    ranks = {u: recs[u].rank for u in ("W-ZHL-01", "W-ZHL-02", "W-ZHL-03")}
    assert ranks == {"W-ZHL-01": 1, "W-ZHL-02": 2, "W-ZHL-03": 2}
    # 不参评: four perfect cases are fewer than five; no cases at all is not a zero.
    for unit, n in (("W-ZHL-04", 4), ("W-ZHL-05", 1), ("W-XGZ-01", 0)):
        assert (recs[unit].score, recs[unit].rank) == (None, None), unit
        assert recs[unit].metrics["cases"] == {"value": n}, unit
    assert recs["W-ZHL-04"].metrics["satisfaction_rate"]["value"] == 1.0  # measured all the same
    # Credit to the 承办单位: D-ZF resolved W-ZHL-05's case and S-ZHL whistled it there; the
    # workstation that forwarded it and the agency that sent it back get none of it.
    (c5,) = cases["W-ZHL-05"]
    for unit, credited in (("D-ZF", [c5]), ("S-ZHL", [c5]), ("A-ZHL-ZF", []), ("W-ZHL-05", [])):
        for name in ("resolution_rate", "satisfaction_rate"):
            assert rate(unit, name)[1] == credited, (unit, name)
    # No department or street has five cases: none is ranked.
    assert {r.rank for r in recs.values() if r.kind in ("department", "street_office")} == {None}


def test_a_frozen_month_keeps_its_scheme_and_a_new_one_applies_from_its_period(
    sessions: sessionmaker[Session],
) -> None:
    build(sessions)
    with sessions.begin() as s:
        frozen = {
            r.unit: r.score
            for r in appraisal.finalize(
                s, NOV, actor="auditor", now=nov(30, 20) + dt.timedelta(hours=4)
            )
        }
    with sessions.begin() as s:
        content = dict(registry.latest_row(s, "appraisal", "appraisal").content)  # type: ignore[union-attr]
        content.update({"from": "2026-12", "min_cases": 1})
        chain.lock_head(s)
        registry.publish_one(
            s, "appraisal", "appraisal", content, actor="district", now=nov(30, 23)
        )
    with sessions.begin() as s:
        # November stays as frozen, with version 1; October (not finalized) is not changed by
        # a version published for December; December uses it.
        assert appraisal.verify(s, NOV)[1] == []
        assert {r.unit: r.score for r in appraisal.records(s, NOV)} == frozen
        assert appraisal.gather_inputs(s, "2026-10")["definitions"]["appraisal"] == 1
        assert appraisal.gather_inputs(s, "2026-12")["definitions"]["appraisal"] == 2
        december = {r.unit: r for r in appraisal.compute(s, "2026-12", now=nov(30, 23))}
    # With a minimum of one case, a unit without cases is still not ranked.
    assert (december["W-ZHL-01"].score, december["W-ZHL-01"].rank) == (None, None)
