"""Configuration and security events reach the trail, in the same transaction as the change."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import T0
from workflow import users
from workflow.audit.verify import verify
from workflow.errors import Conflict
from workflow.store.models import TrailEvent


def events(s: Session, after: int = 0) -> list[tuple[str, str, dict[str, object]]]:
    rows = s.execute(select(TrailEvent).where(TrailEvent.seq > after).order_by(TrailEvent.seq))
    return [(e.action, e.actor, e.data) for e in rows.scalars()]


def test_people_and_keys_are_on_the_trail_without_their_secrets(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as s:
        published = events(s)
    assert published and {a for a, _, _ in published} == {"definitions.published"}
    assert {(d["kind"], d["name"]) for _, _, d in published} >= {
        ("units", "units"),
        ("route", "incident"),
    }
    start = len(published)
    with sessions.begin() as s:
        users.add_user(
            s,
            name="wang",
            unit="W-ZHL-02",
            role="clerk",
            password="a long secret",
            actor="adm",
            now=T0,
        )
    with sessions.begin() as s:
        users.disable_user(s, name="wang", actor="adm", now=T0)
    with sessions.begin() as s:
        _, key = users.add_api_key(s, name="hotline", actor="adm", now=T0)
    # A refused change leaves no event behind.
    with sessions.begin() as s, pytest.raises(Conflict):
        users.add_api_key(s, name="hotline", actor="adm", now=T0)
    with sessions() as s:
        new = events(s, start)
        assert verify(s, "k").ok
    assert new == [
        ("user.added", "adm", {"user": "wang", "unit": "W-ZHL-02", "role": "clerk"}),
        ("user.disabled", "adm", {"user": "wang"}),
        ("apikey.issued", "adm", {"name": "hotline"}),
    ]
    text = json.dumps(new, ensure_ascii=False)
    assert "a long secret" not in text and key not in text
