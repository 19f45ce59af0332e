"""A merged case (合并) is one matter with its master in the appraisal: the workstation received
one case, brought one to its end, and the two residents' answers count once, for the master."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import open_case_as, walk
from workflow.actors import Actor
from workflow.appraisal import metrics
from workflow.dispatch import centre, duplicates
from workflow.feedback import callbacks
from workflow.store.models import Feedback, TrailEvent

CLERK = Actor("clerk", "W-ZHL-01", "clerk")
DISPATCHER = Actor("dispatcher", "H-SN", "dispatcher")


def test_a_merged_case_is_counted_once(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        master = open_case_as(s, "UD-03").id
        dup = open_case_as(s, "UD-03").id
        call = centre.open_at_dispatch(
            s, actor=DISPATCHER, applicant_name="李强", item="UD-03", workstation="W-ZHL-01"
        ).id
        duplicates.merge(s, dup, CLERK, master, reason="同一处垃圾")
        duplicates.merge(s, call, DISPATCHER, master, reason="同一处垃圾")
        walk(s, master, ("accept", CLERK), ("resolve", CLERK), ("confirm", CLERK))
    with sessions.begin() as s:
        codes = {
            fb.case_id: fb.code
            for fb in s.execute(select(Feedback)).scalars()
            if fb.case_id in (master, dup, call)
        }
        assert set(codes) == {master, dup, call}  # every resident is asked
    with sessions.begin() as s:
        links_given = [(master, 5, True), (dup, 2, False), (call, 4, True)]
        for case_id, level, resolved in links_given:
            code = codes[case_id]
            assert code is not None
            callbacks.answer_link(s, code, level=level, resolved=resolved)
    with sessions.begin() as s:
        last = s.execute(select(func.max(TrailEvent.seq))).scalar_one()
        now = dt.datetime.now(dt.UTC)
        w = metrics.Window("now", now - dt.timedelta(days=1), now + dt.timedelta(days=1), last)
        credit = {"resolution_rate": "handler", "satisfaction_rate": "handler"}
        got = metrics.measure(s, w, ["W-ZHL-01", "H-SN"], credit)["W-ZHL-01"]
    assert got["received"]["numerator_cases"] == [master]
    assert got["completed"]["numerator_cases"] == [master]
    assert got["open_overdue"]["value"] == 0
    # The last answer about the matter counts, once: the dispatcher's caller, 4 and resolved.
    assert got["satisfaction_rate"]["denominator_cases"] == [master]
    assert got["satisfaction_rate"]["numerator"] == 1
    assert got["resolution_rate"]["denominator"] == 1
