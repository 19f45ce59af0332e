"""GET /audit/verify names a block of the trail changed after the appraisal digested it, as
`streetflow audit verify` does (tests/appraisal/test_trail_blocks.py)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tests.api.conftest import Client
from tests.audit.helpers import head, intrude, rehash_from
from workflow.audit import blocks


def test_verify_names_a_block_changed_after_it_was_digested(
    login: Callable[..., Client],
    make_case: Callable[..., int],
    sessions: sessionmaker[Session],
    engine: Engine,
) -> None:
    auditor = login("X-SN", "auditor")
    for _ in range(3):
        make_case("UD-01", "accept")
    n = head(sessions)
    with sessions.begin() as s:
        assert [(b.first_seq, b.last_seq) for b in blocks.fill(s, n, size=2)][:2] == [
            (1, 2),
            (3, 4),
        ]
    assert auditor.get("/audit/verify").json()["ok"] is True
    # Event 4 rewritten and every hash from it on recomputed: the chain holds again.
    intrude(engine, "UPDATE trail_events SET reason = 'x' WHERE seq = 4")
    rehash_from(engine, 4)
    body = auditor.get("/audit/verify").json()
    assert body["ok"] is False and body["events_checked"] == n
    assert (body["first_bad"]["seq"], body["first_bad"]["kind"]) == (3, "block_changed")
    assert body["first_bad"]["detail"].startswith("events 3..4 no longer give the digest")
