"""store.direct's executemany writes each row as given: rows that give every parameter, a row
that leaves one to the statement's own value, and an instant shared by many rows (the sweep's
NOW) or spelled in another timezone."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, cast

import pytest
from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.exc import IntegrityError
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


def _reminders(case_id: int, now: dt.datetime, n: int) -> list[dict[str, Any]]:
    """N reminders' rows of CASE_ID, their stages 1 to N, sent at NOW."""
    return [
        {
            "case_id": case_id,
            "stage_seq": k,
            "state": f"state {k}",
            "holder": "W-ZHL-01",
            "stage_due_at": T0 + dt.timedelta(hours=k),
            "sent_at": now,
        }
        for k in range(1, n + 1)
    ]


def test_rows_written_together_are_stored_as_each_one_gave_them(
    sessions: sessionmaker[Session], make_case: Callable[..., int]
) -> None:
    case_id = make_case("UD-01")
    now = T0 + dt.timedelta(days=3)
    beijing = dt.timezone(dt.timedelta(hours=8))
    rows = _reminders(case_id, now, 3)
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


def test_rows_spelled_ahead_are_stored_as_run_many_stores_them(
    sessions: sessionmaker[Session], make_case: Callable[..., int]
) -> None:
    """Rows encoded before the transaction (the sweep spells its rows before the write lock),
    one value set later through its slot, are stored as run_many() stores the same rows."""
    case_id = make_case("UD-01")
    now = T0 + dt.timedelta(days=3)
    rows = _reminders(case_id, now, 4)
    with sessions() as s:
        dialect = s.get_bind().dialect
    encoded = [_INSERT.encode(dialect, {k: v for k, v in r.items() if k != "state"}) for r in rows]
    slot = _INSERT.slot(dialect, "state")
    for row, done in zip(rows, encoded, strict=True):
        done[slot] = f"{row['state']} (set later)"
    with sessions.begin() as s:
        _INSERT.run_encoded(s.connection(), encoded)
        _INSERT.run_many(
            s.connection(),
            [
                {**r, "stage_seq": r["stage_seq"] + 10, "state": f"{r['state']} (set later)"}
                for r in rows
            ],
        )
    with sessions() as s:
        stored = s.execute(
            select(Reminder.stage_seq, Reminder.state, Reminder.stage_due_at, Reminder.sent_at)
            .where(Reminder.case_id == case_id)
            .order_by(Reminder.stage_seq)
        ).all()
    spelled, ran = stored[:4], stored[4:]
    assert [(n, *rest) for n, *rest in spelled] == [(n - 10, *rest) for n, *rest in ran]
    assert spelled[0] == (1, "state 1 (set later)", T0 + dt.timedelta(hours=1), now)


def test_an_in_list_of_any_length_finds_what_an_expanding_one_finds(
    sessions: sessionmaker[Session], make_case: Callable[..., int]
) -> None:
    """direct.Expanding (compiled once per size, the list padded with its last value) answers
    as SQLAlchemy's expanding IN does, for lists shorter, as long as and longer than a size."""
    case_id = make_case("UD-01")
    with sessions.begin() as s:
        _INSERT.run_many(
            s.connection(),
            [
                {
                    "case_id": case_id,
                    "stage_seq": n,
                    "state": "s",
                    "holder": "W-ZHL-01",
                    "stage_due_at": T0,
                    "sent_at": T0,
                }
                for n in range(1, 41)
            ],
        )
    by_seq = direct.Expanding(
        lambda member: select(Reminder.stage_seq, Reminder.sent_at).where(
            Reminder.case_id == bindparam("case"), member(Reminder.stage_seq)
        )
    )
    expanding = select(Reminder.stage_seq, Reminder.sent_at).where(
        Reminder.case_id == case_id, Reminder.stage_seq.in_(bindparam("seqs", expanding=True))
    )
    with sessions() as s:
        for seqs in ([3], list(range(1, 9)), list(range(2, 11)), list(range(0, 50, 3)), [5, 5, 99]):
            found = sorted(by_seq.run(s.connection(), seqs, {"case": case_id}).tuples())
            assert found == sorted(tuple(r) for r in s.execute(expanding, {"seqs": seqs}))
            assert found and all(at == T0 for _, at in found)


def test_a_refused_row_raises_sqlalchemys_error_and_writes_nothing(
    sessions: sessionmaker[Session], make_case: Callable[..., int]
) -> None:
    """A row the database refuses (a case that does not exist) fails the whole write with
    SQLAlchemy's IntegrityError, as run_many() would, not the driver's own error."""
    case_id = make_case("UD-01")
    now = T0 + dt.timedelta(days=3)
    rows = [*_reminders(case_id, now, 2), {**_reminders(case_id, now, 1)[0], "case_id": 999_999}]
    with sessions() as s:
        dialect = s.get_bind().dialect
    encoded = [_INSERT.encode(dialect, r) for r in rows]
    with pytest.raises(IntegrityError), sessions.begin() as s:
        _INSERT.run_encoded(s.connection(), encoded)
    with sessions() as s:
        assert s.execute(select(Reminder.id)).all() == []


def test_an_expanding_list_in_a_fixed_statement_is_refused_before_it_runs(
    sessions: sessionmaker[Session],
) -> None:
    """A statement whose SQL is compiled once cannot take SQLAlchemy's expanding list (its SQL
    is rendered per run): it is refused with the statement named, not sent to SQLite as SQL
    with a placeholder in it (a syntax error the sweep met on a full sweep with a red step)."""
    fixed = direct.Statement(select(Reminder.id).where(Reminder.state.in_(["a", "b"])))
    with sessions() as s:
        if s.get_bind().dialect.name != "sqlite":
            pytest.skip("run as SQLAlchemy runs it elsewhere")
        with pytest.raises(ValueError, match="expanding parameter"):
            fixed.run(s.connection())
