"""How long the SLA sweep takes over N open cases, against computing every case's light.

    .venv/bin/python bench/sweep.py --cases 5000                 # SQLite in a temporary folder
    .venv/bin/python bench/sweep.py --cases 5000 --db postgresql+psycopg://postgres@127.0.0.1/bench

Three numbers, from one run on one database:
- sweep, all due: every case turns red and gets its supervision (the worst minute);
- sweep, nothing due: the same sweep a minute later (the usual minute): one indexed query;
- baseline: loading every open case and computing its light from the calendar, which is what a
  sweep without the stored yellow instant would have to do every minute."""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from workflow.actors import Actor
from workflow.catalog import registry
from workflow.config import DEFAULT_DEFINITIONS
from workflow.runtime import engine, sla, stages
from workflow.spec.loader import load_definitions
from workflow.store.db import make_engine, make_sessionmaker
from workflow.store.migrate import upgrade
from workflow.store.models import Case

SH = dt.timezone(dt.timedelta(hours=8))
OPENED = dt.datetime(2026, 3, 2, 10, tzinfo=SH)  # a Monday
CLERK = Actor("clerk", "W-ZHL-01", "clerk")


def fill(sessions: sessionmaker[Session], n: int) -> None:
    with sessions.begin() as s:
        registry.publish(s, load_definitions(DEFAULT_DEFINITIONS), actor="bench", now=OPENED)
    done = 0
    while done < n:
        with sessions.begin() as s:
            for _ in range(min(500, n - done)):
                case = engine.open_case(
                    s,
                    item="SW-11",
                    workstation="W-ZHL-01",
                    actor=CLERK,
                    applicant_name="王芳",
                    applicant_phone="13800000000",
                    now=OPENED,
                )
                engine.fire(s, case.id, "accept", CLERK, now=OPENED)
                done += 1
        print(f"\r  opened {done}/{n} cases", end="", flush=True)
    print()


def baseline(sessions: sessionmaker[Session], now: dt.datetime) -> int:
    """Every open case's light from the calendar (working seconds from start to due and now)."""
    changed = 0
    with sessions() as s:
        calendar = engine.work_calendar(s)
        for case in s.execute(select(Case).where(Case.stage_due_at.is_not(None))).scalars():
            case.stage_yellow_at = None  # force the long way, in memory only
            changed += stages.light_of(case, now, calendar) != "green"
        s.rollback()
    return changed


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--cases", type=int, default=5000)
    ap.add_argument("--db", help="SQLAlchemy URL of an empty database (default: SQLite)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite:///{Path(tmp) / 'bench.db'}"
        db = make_engine(url)
        upgrade(db)
        sessions = make_sessionmaker(db)
        fill(sessions, args.cases)
        late = OPENED + dt.timedelta(days=30)
        rows = []
        t = time.perf_counter()
        r = sla.sweep(sessions, now=late)
        rows.append(("sweep, all due", time.perf_counter() - t, r.supervisions))
        t = time.perf_counter()
        r = sla.sweep(sessions, now=late + dt.timedelta(minutes=1))
        rows.append(("sweep, nothing due", time.perf_counter() - t, r.checked))
        t = time.perf_counter()
        n = baseline(sessions, late)
        rows.append(("baseline: every light from the calendar", time.perf_counter() - t, n))
        with sessions() as s:
            s.execute(text("SELECT 1"))
        db.dispose()
    print(f"{db.dialect.name}, {args.cases} open cases")
    print(f"{'what':<42}{'seconds':>10}{'cases':>8}")
    for what, secs, count in rows:
        print(f"{what:<42}{secs:>10.3f}{count:>8}")


if __name__ == "__main__":
    main()
