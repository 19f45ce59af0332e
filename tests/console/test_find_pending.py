"""The navigation's waiting counts (延期, 退单, 督办, 吹哨, 回访): what still asks for action; a
decided extension leaves the list to decide and the count."""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from tests.console.conftest import Browserless
from workflow.actors import Actor
from workflow.notify import manage
from workflow.queries import pending
from workflow.runtime import sla

CLERK = Actor("clerk", "W-ZHL-01", "clerk")
STREET = Actor("street", "S-ZHL", "staff")
LOCAL_ITEM = "SW-10"  # accept, then complete at the window


def badge(body: str, label: str) -> str | None:
    m = re.search(rf'{label}(?: <span class="badge"[^>]*>([^<]+)</span>)?</a>', body)
    assert m is not None, label
    return m.group(1)


def test_a_decided_extension_leaves_the_list_and_the_count(
    sessions: sessionmaker[Session],
    sign_in_client: Callable[..., Browserless],
    make_case: Callable[..., int],
) -> None:
    one, two = make_case("SW-10", "accept"), make_case("SW-10", "accept")
    with sessions.begin() as s:
        asked = [
            sla.request_extension(session=s, case_id=cid, actor=CLERK, reason="等待答复", days=3)
            for cid in (one, two)
        ]
    street = sign_in_client("S-ZHL", "staff")
    body = street.get("/console/extensions").get_data(as_text=True)
    assert badge(body, "延期") == "2"
    with sessions.begin() as s:
        sla.decide_extension(session=s, extension_id=asked[0].id, actor=STREET, approve=True)
        assert pending.counts(s, STREET)["extensions"] == 1
    body = street.get("/console/extensions").get_data(as_text=True)
    assert badge(body, "延期") == "1"
    to_decide = body.split('class="card to-decide"')[1].split("</section>")[0]
    decided = body.split('class="card decided"')[1].split("</section>")[0]
    assert f"#{two}" in to_decide and f"#{one}" not in to_decide
    assert f"#{one}" in decided
    # The clerk's navigation shows no count for what is not theirs to decide.
    clerk = sign_in_client("W-ZHL-01", "clerk")
    assert badge(clerk.get("/console/inbox").get_data(as_text=True), "延期") is None


def test_counts_by_role(sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        assert set(pending.counts(s, STREET)) == {
            "supervisions",
            "whistles",
            "extensions",
            "returns",
        }
        assert set(pending.counts(s, CLERK)) == {"extensions", "returns"}
        assert set(pending.counts(s, Actor("cb", "X-SN", "callback"))) == {"callbacks"}
        assert pending.counts(s, Actor("au", "X-SN", "auditor")) == {}
        # With the unit's unread notifications, asked in the same statement, as counted alone.
        for actor in (CLERK, STREET):
            counts = pending.counts(s, actor, unread=True)
            assert set(counts) - set(pending.counts(s, actor)) == {"unread"}
            assert counts["unread"] == manage.unread_count(s, actor.unit)


def test_a_supervision_on_a_closed_case_no_longer_waits(
    sessions: sessionmaker[Session], make_case: Callable[..., int]
) -> None:
    import datetime as dt

    from sqlalchemy import select

    from tests.conftest import walk
    from workflow.store.models import Supervision

    cid = make_case(LOCAL_ITEM, "accept")
    late = dt.datetime.now(dt.UTC) + dt.timedelta(days=90)
    sla.sweep(sessions, now=late)
    with sessions() as s:
        sup = s.execute(select(Supervision).where(Supervision.case_id == cid)).scalar_one()
        waiting = Actor("staff", sup.unit, "staff")
        assert pending.counts(s, waiting)["supervisions"] == 1
    with sessions.begin() as s:
        walk(s, cid, "complete", at=late + dt.timedelta(minutes=1))
    with sessions() as s:
        assert pending.counts(s, waiting)["supervisions"] == 0
