"""Appraisal records from a hand-built month: every metric worked out by hand, scored, ranked,
finalized, frozen, reproduced after later events, and tampering named by verify."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from tests.appraisal.month import (
    CLERK,
    STREET_ADMIN,
    Actor,
    at,
    build_november,
    fire,
    nov,
    old_rating,
    open_case,
)
from workflow.appraisal import records as appraisal
from workflow.errors import Conflict, InvalidInput, NotAllowed, NotHolder
from workflow.store.models import AppraisalRecord, Assessment, TrailEvent

NOV = "2026-11"
AFTER_NOVEMBER = at(12, 1, 9)


def rate(num: list[str], den: list[str]) -> dict[str, Any]:
    """A rate as expected: the letters of the cases in its numerator and denominator."""
    return {"num": sorted(num), "den": sorted(den)}


def count(cases: list[str]) -> dict[str, Any]:
    return {"num": sorted(cases)}


# Worked out by hand from tests/appraisal/month.py.
EXPECTED: dict[str, dict[str, Any]] = {
    "W-ZHL-01": {
        # first responses: A, B, E in time; D late. C's item has no response limit.
        "response_rate": rate(["A", "B", "E"], ["A", "B", "D", "E"]),
        # stage exits: A x4 in time; B forward in time, B confirm late; C complete (the pause
        # for materials is not an exit, and it kept its time); E forward.
        "on_time_rate": rate(["A", "A", "A", "A", "B", "C", "E"], ["A"] * 4 + ["B", "B", "C", "E"]),
        # A resolved twice by the workstation: reopened once, then confirmed.
        "resolution_rate": rate(["A"], ["A", "A"]),
        "satisfaction_rate": rate(["A"], ["A", "B"]),  # 5 and 2
        "send_back_rate": rate([], ["B", "E"]),  # forwarded B and E, neither came back here
        "whistle_report_rate": rate([], []),
        "open_overdue": count(["D", "E"]),
        "received": count(["A", "B", "C", "D", "E"]),
        "completed": count(["A", "B", "C"]),
    },
    "S-ZHL": {
        "response_rate": rate([], []),
        "on_time_rate": rate(["B", "B", "E", "E"], ["B", "B", "E", "E"]),
        "resolution_rate": rate([], []),  # E resolved, not yet confirmed or reopened
        "satisfaction_rate": rate([], ["B"]),
        # B dispatched to the agency, which sent it back; E only whistled: a department sending
        # back the work the street called it to is no mark against the street.
        "send_back_rate": rate(["B"], ["B"]),
        "whistle_report_rate": rate([], []),
        "open_overdue": count([]),
        "received": count(["B", "E"]),
        "completed": count([]),
    },
    "A-ZHL-ZF": {
        "response_rate": rate([], []),
        "on_time_rate": rate(["B"], ["B"]),
        "resolution_rate": rate([], []),
        "satisfaction_rate": rate([], ["B"]),
        "send_back_rate": rate([], []),
        "whistle_report_rate": rate([], []),
        "open_overdue": count([]),
        "received": count(["B"]),
        "completed": count([]),
    },
    "D-ZF": {
        "response_rate": rate([], ["B"]),  # the late report
        "on_time_rate": rate(["B"], ["B"]),
        "resolution_rate": rate(["B"], ["B"]),
        "satisfaction_rate": rate([], ["B"]),
        "send_back_rate": rate([], []),
        "whistle_report_rate": rate([], ["B"]),
        "open_overdue": count([]),
        "received": count(["B"]),
        "completed": count([]),
    },
    "D-ZJ": {
        "response_rate": rate(["E"], ["E"]),
        "on_time_rate": rate(["E"], ["E"]),
        "resolution_rate": rate([], []),
        "satisfaction_rate": rate([], []),
        "send_back_rate": rate([], []),
        "whistle_report_rate": rate(["E"], ["E"]),
        "open_overdue": count([]),
        "received": count(["E"]),
        "completed": count([]),
    },
}
# definitions/appraisal.yaml's weights, applied by hand:
SCORES = {
    # 20*3/4 + 30*7/8 + 15*1/2 + 25*1/2 = 61.25 of 90 (no return was decided: the refusal
    # rate does not apply; the send-back rate is retired), minus 1 per open overdue case (2)
    "W-ZHL-01": 66.06,
    # on time 40*1, satisfaction 25*0, resolution and refused returns do not apply: 40/65
    "S-ZHL": 61.54,
    # on time 30*1, satisfaction 20*0, the street's assessment 30*0.8: 54/80
    "A-ZHL-ZF": 67.5,
    # whistle reports 35*0, on time 35*1, resolution 15*1, satisfaction 15*0
    "D-ZF": 50.0,
    # whistle reports 35*1, on time 35*1: 70/70
    "D-ZJ": 100.0,
}


def by_unit(recs: list[AppraisalRecord]) -> dict[str, AppraisalRecord]:
    return {r.unit: r for r in recs}


def letters(ids: list[int], cases: dict[str, int]) -> list[str]:
    name = {v: k for k, v in cases.items()}
    return sorted(name[i] for i in ids)


def test_a_hand_built_month_gives_the_metrics_worked_out_by_hand(
    sessions: sessionmaker[Session],
) -> None:
    cases = build_november(sessions)
    with sessions.begin() as s:
        recs = by_unit(appraisal.compute(s, NOV, now=AFTER_NOVEMBER))
    for unit, metrics in EXPECTED.items():
        got = recs[unit].metrics
        for name, want in metrics.items():
            m = got[name]
            assert letters(m["numerator_cases"], cases) == want["num"], (unit, name)
            assert m["numerator"] == len(want["num"]), (unit, name)
            if "den" in want:
                assert letters(m["denominator_cases"], cases) == want["den"], (unit, name)
                assert m["denominator"] == len(want["den"])
                expected = round(len(want["num"]) / len(want["den"]), 6) if want["den"] else None
                assert m["value"] == expected, (unit, name)
            else:
                assert m["value"] == len(want["num"]), (unit, name)
    assert recs["A-ZHL-ZF"].metrics["street_assessment"] == {"value": 80.0}
    assert recs["A-ZHL-SF"].metrics["street_assessment"] == {"value": None}
    assert {u: recs[u].score for u in SCORES} == SCORES
    # Ranks within each kind; units with nothing to appraise score 0 and share the last rank.
    assert (recs["D-ZJ"].rank, recs["D-ZF"].rank, recs["D-MZ"].rank) == (1, 2, 3)
    assert (recs["W-ZHL-01"].rank, recs["W-ZHL-02"].rank) == (1, 2)
    assert (recs["A-ZHL-ZF"].rank, recs["S-ZHL"].rank) == (1, 1)
    assert {r.status for r in recs.values()} == {"draft"}
    assert {r.kind for r in recs.values()} == {
        "workstation",
        "street_office",
        "dispatched_agency",
        "department",
    }
    # Every government unit but the district itself (the organisation department is a party body).
    assert len(recs) == 113


def test_drafts_are_replaced_on_recompute(sessions: sessionmaker[Session]) -> None:
    cases = build_november(sessions)
    with sessions.begin() as s:
        first = by_unit(appraisal.compute(s, NOV, now=AFTER_NOVEMBER))
        assert first["W-ZHL-01"].metrics["open_overdue"]["numerator"] == 2
    with sessions.begin() as s:
        # Backdated into November: the draft picks it up, since drafts are recomputed.
        fire(s, cases["D"], "resolve", CLERK, nov(30, 17))
    with sessions.begin() as s:
        again = by_unit(appraisal.compute(s, NOV, now=AFTER_NOVEMBER))
        stored = s.scalars(select(AppraisalRecord).where(AppraisalRecord.period == NOV)).all()
        assert len(stored) == 113 and {r.status for r in stored} == {"draft"}
        assert again["W-ZHL-01"].metrics["open_overdue"]["numerator"] == 1  # E only


def test_a_finalized_record_cannot_be_changed(
    sessions: sessionmaker[Session], engine: Engine
) -> None:
    build_november(sessions)
    with sessions.begin() as s, pytest.raises(NotAllowed):
        appraisal.finalize(s, NOV, actor="auditor", now=nov(30, 17))  # the month is not over
    with sessions.begin() as s:
        appraisal.finalize(s, NOV, actor="auditor", now=AFTER_NOVEMBER)
    with sessions.begin() as s:
        ev = s.scalars(select(TrailEvent).order_by(TrailEvent.seq.desc()).limit(1)).one()
        assert (ev.action, ev.data["period"], ev.data["records"]) == (
            "appraisal.finalized",
            NOV,
            113,
        )
        rec = s.scalars(select(AppraisalRecord).where(AppraisalRecord.unit == "W-ZHL-01")).one()
        assert rec.status == "final" and rec.digest == ev.data["digest"]
        assert rec.inputs["last_seq"] == ev.seq - 1
        assert rec.inputs["assessments"] == {"A-ZHL-ZF": 80.0}
        # version 2: the scheme as it was before 好差评 (tests/appraisal/month.py)
        assert rec.inputs["definitions"] == {"appraisal": 2, "units": 1}
        rec_id = rec.id
    # In code: the ORM refuses.
    with sessions.begin() as s, pytest.raises(Conflict):
        s.get_one(AppraisalRecord, rec_id).score = 100.0
        s.flush()
    with sessions.begin() as s, pytest.raises(Conflict):
        s.delete(s.get_one(AppraisalRecord, rec_id))
        s.flush()
    # In the database: a trigger refuses what bypasses the ORM.
    with engine.begin() as conn, pytest.raises(DBAPIError, match="immutable"):
        conn.execute(update(AppraisalRecord).values(score=100.0))
    with engine.begin() as conn, pytest.raises(DBAPIError, match="immutable"):
        conn.execute(text("DELETE FROM appraisal_records"))
    # No second finalization, no recompute, no late assessment.
    with sessions.begin() as s, pytest.raises(Conflict):
        appraisal.finalize(s, NOV, actor="auditor", now=AFTER_NOVEMBER)
    with sessions.begin() as s, pytest.raises(Conflict):
        appraisal.compute(s, NOV, now=AFTER_NOVEMBER)
    with sessions.begin() as s, pytest.raises(Conflict):
        appraisal.enter_assessment(
            s, actor=STREET_ADMIN, unit="A-ZHL-SF", period=NOV, score=90, comment="好"
        )
    with sessions.begin() as s:
        assert s.get_one(AppraisalRecord, rec_id).score == 66.06


def test_later_events_leave_a_finalized_period_unchanged_and_verify_passes(
    sessions: sessionmaker[Session],
) -> None:
    cases = build_november(sessions)
    with sessions.begin() as s:
        before = {
            r.unit: appraisal.record_dict(r, cases=True)
            for r in appraisal.finalize(s, NOV, actor="auditor", now=AFTER_NOVEMBER)
        }
    with sessions.begin() as s:
        # December: D and E are finished, rated, and a new case comes in...
        fire(s, cases["D"], "resolve", CLERK, at(12, 2, 9))
        fire(s, cases["D"], "confirm", CLERK, at(12, 2, 10))
        old_rating(s, cases["D"], 1, at(12, 2, 11))
        fire(s, cases["E"], "reopen", CLERK, at(12, 2, 9))
        open_case(s, "UD-01", at(12, 3, 9))
        # ...and one event is even backdated into November.
        fire(s, cases["E"], "forward", CLERK, nov(30, 12))
    with sessions.begin() as s:
        checked, problems = appraisal.verify(s, NOV)
        assert (checked, problems) == (113, [])
        after = {r.unit: appraisal.record_dict(r, cases=True) for r in appraisal.records(s, NOV)}
        assert after == before
        december = by_unit(appraisal.compute(s, "2026-12", now=at(12, 4, 9)))
    wd = december["W-ZHL-01"].metrics
    assert letters(wd["resolution_rate"]["numerator_cases"], cases) == ["D"]
    assert letters(wd["resolution_rate"]["denominator_cases"], cases) == ["D"]
    # E was resolved by the street: its reopening counts against the street.
    sd = december["S-ZHL"].metrics["resolution_rate"]
    assert (sd["numerator_cases"], letters(sd["denominator_cases"], cases)) == ([], ["E"])
    assert wd["satisfaction_rate"]["value"] == 0.0
    assert wd["received"]["value"] == 1
    assert december["W-ZHL-01"].status == "draft"


def test_verify_names_a_record_whose_stored_metrics_were_tampered_with(
    sessions: sessionmaker[Session], engine: Engine, db_kind: str
) -> None:
    build_november(sessions)
    with sessions.begin() as s:
        appraisal.finalize(s, NOV, actor="auditor", now=AFTER_NOVEMBER)
        rec = by_unit(appraisal.records(s, NOV))["S-ZHL"]
        rec_id, metrics = rec.id, dict(rec.metrics)
    metrics["on_time_rate"] = {**metrics["on_time_rate"], "value": 0.25}
    # Someone with the database's keys switches the guard off first.
    with engine.begin() as conn:
        if db_kind == "sqlite":
            conn.execute(text("DROP TRIGGER appraisal_records_final_no_update"))
        else:
            conn.execute(
                text("ALTER TABLE appraisal_records DISABLE TRIGGER appraisal_records_final_frozen")
            )
        conn.execute(
            update(AppraisalRecord).where(AppraisalRecord.id == rec_id).values(metrics=metrics)
        )
    with sessions.begin() as s:
        _, problems = appraisal.verify(s, NOV)
    assert (
        f"record {rec_id} (S-ZHL, 2026-11, final): metric on_time_rate differs from the recomputed one"
        in problems
    )
    assert any("differ from what trail event" in p for p in problems)
    assert all("S-ZHL" in p or "trail event" in p for p in problems)


def test_only_the_host_streets_admin_assesses_an_agency_once_a_period(
    sessions: sessionmaker[Session],
) -> None:
    def enter(actor: Actor, unit: str = "A-ZHL-SF", score: Any = 75, comment: Any = "尚可") -> None:
        with sessions.begin() as s:
            appraisal.enter_assessment(
                s, actor=actor, unit=unit, period=NOV, score=score, comment=comment, now=nov(30, 9)
            )

    for actor in (Actor("other", "S-XGZ", "admin"), Actor("st", "S-ZHL", "staff"), CLERK):
        with pytest.raises(NotHolder):
            enter(actor)
    for kw in (
        {"unit": "W-ZHL-01"},
        {"unit": "NOPE"},
        {"score": 101},
        {"score": -1},
        {"score": True},
        {"score": "80"},
        {"comment": "  "},
        {"comment": None},
    ):
        with pytest.raises(InvalidInput):
            enter(STREET_ADMIN, **kw)
    with sessions.begin() as s, pytest.raises(InvalidInput):
        appraisal.enter_assessment(
            s, actor=STREET_ADMIN, unit="A-ZHL-SF", period="2026-13", score=1, comment="x"
        )
    with sessions.begin() as s:
        assert s.scalars(select(Assessment)).all() == []
    enter(STREET_ADMIN)
    with pytest.raises(Conflict):
        enter(STREET_ADMIN, score=90)
    with sessions.begin() as s:
        row = s.scalars(select(Assessment)).one()
        assert (row.unit, row.period, row.score, row.comment) == ("A-ZHL-SF", NOV, 75.0, "尚可")
        ev = s.scalars(select(TrailEvent).order_by(TrailEvent.seq.desc()).limit(1)).one()
        assert ev.action == "appraisal.assessment_entered"
        assert (ev.actor, ev.unit, ev.data) == (
            "admin",
            "S-ZHL",
            {"unit": "A-ZHL-SF", "period": NOV, "score": 75.0, "comment": "尚可"},
        )


def test_an_approved_extension_keeps_a_case_out_of_the_open_overdue_count(
    sessions: sessionmaker[Session],
) -> None:
    """Open overdue at the period's end reads the stage's limit as extended, not as first set."""
    from workflow.runtime import sla

    with sessions.begin() as s:
        extended, late = open_case(s, "SW-10", nov(2, 9)), open_case(s, "SW-10", nov(2, 9))
        for cid in (extended, late):
            fire(s, cid, "accept", CLERK, nov(2, 10))  # one working day: due 3 Nov 17:30
        ext = sla.request_extension(
            session=s, case_id=extended, actor=CLERK, reason="等待上级答复", days=30, now=nov(3, 9)
        )
        sla.decide_extension(
            session=s,
            extension_id=ext.id,
            actor=Actor("street", "S-ZHL", "staff"),
            approve=True,
            now=nov(3, 11),
        )
    with sessions.begin() as s:
        recs = by_unit(appraisal.compute(s, NOV, now=AFTER_NOVEMBER))
        overdue = recs["W-ZHL-01"].metrics["open_overdue"]
        assert overdue["numerator_cases"] == [late]
