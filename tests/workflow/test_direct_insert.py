"""store.direct.Insert writes many rows at once (on PostgreSQL one statement of arrays): each row
stored as SQLAlchemy's own executemany of the same INSERT stores it, JSON byte for byte; a row
without a value, or one the column refuses, fails the whole write and leaves nothing behind."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, cast

import pytest
from sqlalchemy import Table, insert, text
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import T0
from workflow.store import direct
from workflow.store.models import Notification

_notifications = cast(Table, Notification.__table__)
_KEYS = ("unit", "kind", "seq", "case_id", "data", "created_at")
_INSERT = direct.Insert(_notifications, _KEYS)
BEIJING = dt.timezone(dt.timedelta(hours=8))


def _rows(case_id: int) -> list[dict[str, Any]]:
    """Notifications as the sweep and the engine write them, and the awkward ones: no case, JSON
    with Chinese text, quotes, a backslash and a nested list, JSON's null, an instant spelled
    in Beijing's time."""
    return [
        {
            "unit": "W-ZHL-01",
            "kind": "light.red",
            "seq": 10,
            "case_id": case_id,
            "data": {"light": "red", "stage_seq": 2},
            "created_at": T0,
        },
        {
            "unit": "D-ZF",
            "kind": "case.whistle",
            "seq": 11,
            "case_id": None,
            "data": {"reason": '吹哨 "报到" \\ 路灯', "units": ["D-ZF", "S-ZHL"], "n": None},
            "created_at": (T0 + dt.timedelta(minutes=5)).astimezone(BEIJING),
        },
        {
            "unit": "S-ZHL",
            "kind": "light.yellow",
            "seq": 12,
            "case_id": case_id,
            "data": None,
            "created_at": T0 + dt.timedelta(hours=1),
        },
    ]


def _stored(s: Session) -> list[tuple[Any, ...]]:
    """Every notification as stored: its JSON as the database's text."""
    data_text = "data::text" if s.get_bind().dialect.name == "postgresql" else "data"
    return [
        tuple(r)
        for r in s.execute(
            text(
                f"SELECT unit, kind, seq, case_id, {data_text}, created_at FROM notifications"
                " ORDER BY seq, id"
            )
        )
    ]


def test_rows_are_stored_as_sqlalchemys_executemany_stores_them(
    sessions: sessionmaker[Session], make_case: Callable[..., int]
) -> None:
    case_id = make_case("UD-01")
    with sessions.begin() as s:
        _INSERT.run_many(s.connection(), _rows(case_id))
    with sessions() as s:
        ours = _stored(s)
    with sessions.begin() as s:
        s.execute(text("DELETE FROM notifications"))
        s.execute(insert(_notifications), _rows(case_id))
    with sessions() as s:
        theirs = _stored(s)
    assert ours == theirs
    assert len(ours) == 3
    # Canonical JSON (the engine's serializer), the Chinese text as itself; None is JSON's null.
    assert ours[1][4] == (
        '{"n":null,"reason":"吹哨 \\"报到\\" \\\\ 路灯","units":["D-ZF","S-ZHL"]}'
    )
    assert ours[2][4] == "null"


def test_json_given_encoded_is_stored_as_that_text(
    sessions: sessionmaker[Session], make_case: Callable[..., int]
) -> None:
    """The trail's data is stored as the very text its hash covers (given encoded), not the
    dict spelled again."""
    case_id = make_case("UD-01")
    rows = _rows(case_id)[:2]
    texts = [{"data": '{"light":"red","stage_seq":2}'}, {"data": '{"a":1}'}]
    with sessions() as s:
        if s.get_bind().dialect.name == "sqlite":
            # SQLite takes every encoded value as the driver does: the instant too.
            for row, t in zip(rows, texts, strict=True):
                t["created_at"] = cast(Any, Notification.created_at.type).sqlite_bind(
                    row["created_at"]
                )
    with sessions.begin() as s:
        _INSERT.run_many(s.connection(), rows, encoded=texts)
    with sessions() as s:
        assert [r[4] for r in _stored(s)] == ['{"light":"red","stage_seq":2}', '{"a":1}']


def test_a_row_without_a_value_fails_the_write_and_writes_nothing(
    sessions: sessionmaker[Session], make_case: Callable[..., int]
) -> None:
    case_id = make_case("UD-01")
    rows = _rows(case_id)
    del rows[2]["kind"]
    with (
        pytest.raises(StatementError, match="A value is required for bind parameter 'kind'"),
        sessions.begin() as s,
    ):
        _INSERT.run_many(s.connection(), rows)
    with sessions() as s:
        assert _stored(s) == []


def test_a_row_the_database_refuses_fails_the_write_and_writes_nothing(
    sessions: sessionmaker[Session], make_case: Callable[..., int]
) -> None:
    """A case that does not exist; on PostgreSQL also a unit longer than its column (refused,
    not cut short to fit: the arrays are of strings without a length)."""
    case_id = make_case("UD-01")
    bad_case = [*_rows(case_id), {**_rows(case_id)[0], "case_id": 999_999}]
    with pytest.raises(DBAPIError), sessions.begin() as s:
        _INSERT.run_many(s.connection(), bad_case)
    with sessions() as s:
        assert _stored(s) == []
        if s.get_bind().dialect.name != "postgresql":
            return  # SQLite keeps a string of any length
    too_long = [*_rows(case_id), {**_rows(case_id)[0], "unit": "W" * 33}]
    with pytest.raises(DBAPIError, match="too long"), sessions.begin() as s:
        _INSERT.run_many(s.connection(), too_long)
    with sessions() as s:
        assert _stored(s) == []
