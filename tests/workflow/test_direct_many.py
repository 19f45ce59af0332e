"""store.direct's executemany writes each row as given: rows that give every parameter, a row
that leaves one to the statement's own value, and an instant shared by many rows (the sweep's
NOW) or spelled in another timezone."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import cast

from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import T0
from workflow.store import direct
from workflow.store.models import Reminder

_reminders = cast(Table, Reminder.__table__)
_INSERT = direct.Statement(
    insert(_reminders).values(
        case_id=bindparam("case_id"),
        stage_seq=bindparam("stage_seq", 7),
        state=bindparam("state"),
        holder=bindparam("holder"),
        stage_due_at=bindparam("stage_due_at"),
        sent_at=bindparam("sent_at"),
    )
)


def test_rows_written_together_are_stored_as_each_one_gave_them(
    sessions: sessionmaker[Session], make_case: Callable[..., int]
) -> None:
    case_id = make_case("UD-01")
    now = T0 + dt.timedelta(days=3)
    beijing = dt.timezone(dt.timedelta(hours=8))
    rows = [
        {
            "case_id": case_id,
            "stage_seq": n,
            "state": f"state {n}",
            "holder": "W-ZHL-01",
            "stage_due_at": T0 + dt.timedelta(hours=n),
            "sent_at": now,
        }
        for n in range(1, 4)
    ]
    # The same instant in Beijing's time, as another object; and a row without its stage_seq.
    rows.append(
        {**rows[0], "stage_seq": 4, "sent_at": (now + dt.timedelta(hours=1)).astimezone(beijing)}
    )
    rows.append({k: v for k, v in rows[1].items() if k != "stage_seq"} | {"holder": "D-ZF"})
    with sessions.begin() as s:
        _INSERT.run_many(s.connection(), rows)
    with sessions() as s:
        stored = s.execute(
            select(
                Reminder.stage_seq,
                Reminder.state,
                Reminder.holder,
                Reminder.stage_due_at,
                Reminder.sent_at,
            )
            .where(Reminder.case_id == case_id)
            .order_by(Reminder.stage_seq)
        ).all()
    assert [tuple(r) for r in stored] == [
        (1, "state 1", "W-ZHL-01", T0 + dt.timedelta(hours=1), now),
        (2, "state 2", "W-ZHL-01", T0 + dt.timedelta(hours=2), now),
        (3, "state 3", "W-ZHL-01", T0 + dt.timedelta(hours=3), now),
        (4, "state 1", "W-ZHL-01", T0 + dt.timedelta(hours=1), now + dt.timedelta(hours=1)),
        (7, "state 2", "D-ZF", T0 + dt.timedelta(hours=2), now),
    ]
