"""Several sweeper processes at once on one database raise each supervision once."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections import Counter

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import T0
from tests.trail import SECRET, trail_problems
from workflow.actors import Actor
from workflow.audit import chain
from workflow.runtime import engine as wf
from workflow.store.models import Case, Supervision, TrailEvent

CASES = 40
SWEEPERS = 4
# Past the limit of every case below (SW-11 accepted Thursday 10:00, 3 working days).
LATE = "2026-12-02T09:00:00+08:00"
START = 3  # seconds for the sweeper processes to start and wait for the lock


def test_several_sweeper_processes_at_once_raise_each_supervision_once(
    db_url: str, sessions: sessionmaker[Session]
) -> None:
    clerk = Actor("clerk", "W-ZHL-01", "clerk")
    with sessions.begin() as s:
        chain.lock_head(s)
        ids = []
        for i in range(CASES):
            case = wf.open_case(
                s,
                item="SW-11",
                workstation="W-ZHL-01",
                actor=clerk,
                applicant_name="王芳",
                applicant_phone=f"1380000{i:04d}",
                now=T0,
            )
            wf.fire(s, case.id, "accept", clerk, now=T0)
            ids.append(case.id)

    env = {**os.environ, "STREETFLOW_DATABASE_URL": db_url, "STREETFLOW_SECRET_KEY": SECRET}
    command = [sys.executable, "-m", "api", "sla", "sweep", "--now", LATE, "--batch", "2"]
    # The test holds the trail's lock while the sweepers start, so that they all wait for it
    # and then race for the batches. On PostgreSQL they share the work (SKIP LOCKED); on SQLite
    # the first to get the write lock usually keeps winning it. Either way: once per stage.
    with sessions.begin() as s:
        chain.lock_head(s)
        sweepers = [
            subprocess.Popen(
                command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            for _ in range(SWEEPERS)
        ]
        time.sleep(START)
    outputs = [p.communicate(timeout=120) for p in sweepers]
    assert [p.returncode for p in sweepers] == [0] * SWEEPERS, outputs
    raised = [
        int(m.group(1))
        for out, _ in outputs
        if (m := re.search(r"(\d+) supervision\(s\) raised", out))
    ]
    assert len(raised) == SWEEPERS and sum(raised) == CASES, outputs

    with sessions() as s:
        per_case = Counter(s.execute(select(Supervision.case_id)).scalars())
        assert per_case == Counter(ids)  # each overdue stage once, whichever sweeper took it
        events = s.execute(
            select(func.count()).where(TrailEvent.action == "supervision.raised")
        ).scalar_one()
        assert events == CASES
        assert set(s.execute(select(Case.light)).scalars()) == {"red"}
    assert trail_problems(sessions) == []

    # Another sweep at the same instant finds nothing left to do.
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and "0 supervision(s) raised" in again.stdout
