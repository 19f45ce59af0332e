"""GET /audit/verify holds the stored text of the trail to its hashes, as the CLI does."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tests.api.conftest import Client
from tests.audit.helpers import head, intrude


def test_a_duplicate_key_in_an_events_data_is_reported_over_http(
    login: Callable[..., Client],
    make_case: Callable[..., int],
    sessions: sessionmaker[Session],
    engine: Engine,
) -> None:
    auditor = login("X-SN", "auditor")
    make_case("UD-01", "accept")
    n = head(sessions)
    assert auditor.get("/audit/verify").json()["ok"] is True
    # SQL's JSON functions read the first "due_at" (null), a JSON parser the last.
    data = "CAST(replace(data::text, :old, :new) AS json)"
    if engine.dialect.name == "sqlite":
        data = "replace(data, :old, :new)"
    intrude(
        engine,
        (
            f"UPDATE trail_events SET data = {data} WHERE seq = {n}",
            {"old": '"due_at":', "new": '"due_at":null,"due_at":'},
        ),
    )
    body = auditor.get("/audit/verify").json()
    assert body["ok"] is False and body["events_checked"] == n - 1
    assert (body["first_bad"]["seq"], body["first_bad"]["kind"]) == (n, "modified")
