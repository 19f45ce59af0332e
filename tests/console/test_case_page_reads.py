"""What the case page shows of the resident's phone and what it writes on the trail for that
read, reader by reader; and each unit's navigation badges its own, asked in turn."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.console.conftest import Browserless
from tests.console.test_find_pending import badge
from workflow.actors import Actor
from workflow.runtime import sla
from workflow.store.models import TrailEvent

PHONE = "13912345678"
MASKED = "139****5678"
CLERK = Actor("clerk", "W-ZHL-01", "clerk")
CLERK_BDG = Actor("clerk", "W-BDG-01", "clerk")


def reads(sessions: sessionmaker[Session], case_id: int) -> list[tuple[str, dict[str, str]]]:
    """The case's personal-data reads on the trail: (who, what the read showed)."""
    with sessions() as s:
        return [
            (e.actor, dict(e.data or {}))
            for e in s.execute(
                select(TrailEvent)
                .where(
                    TrailEvent.case_id == case_id, TrailEvent.action == "case.personal_data_read"
                )
                .order_by(TrailEvent.seq)
            ).scalars()
        ]


def test_the_case_page_shows_and_records_the_phone_reader_by_reader(
    sessions: sessionmaker[Session],
    sign_in_client: Callable[..., Browserless],
    make_case: Callable[..., int],
) -> None:
    cid = make_case("SW-10", "accept", phone=PHONE)
    holder = sign_in_client("W-ZHL-01", "clerk")  # the case's holder: the whole phone
    street = sign_in_client("S-ZHL", "staff")  # sees the street's cases, does not hold this one
    auditor = sign_in_client("S-ZHL", "auditor")  # reads without personal data

    page = holder.get(f"/console/cases/{cid}").get_data(as_text=True)
    assert PHONE in page
    page = street.get(f"/console/cases/{cid}").get_data(as_text=True)
    assert MASKED in page and PHONE not in page
    page = auditor.get(f"/console/cases/{cid}").get_data(as_text=True)
    assert MASKED in page and PHONE not in page

    # The holder's read showed the phone, the street's masked it; the auditor's is no read.
    assert reads(sessions, cid) == [
        (holder.name, {"phone": "shown"}),  # type: ignore[attr-defined]
        (street.name, {"phone": "masked"}),  # type: ignore[attr-defined]
    ]


def test_each_units_badges_are_its_own_asked_in_turn(
    sessions: sessionmaker[Session],
    sign_in_client: Callable[..., Browserless],
    make_case: Callable[..., int],
) -> None:
    zhl = [make_case("SW-10", "accept") for _ in range(2)]
    bdg = make_case("SW-10", ("accept", CLERK_BDG), workstation="W-BDG-01")
    with sessions.begin() as s:
        asked = [
            sla.request_extension(session=s, case_id=cid, actor=CLERK, reason="等待答复", days=3)
            for cid in zhl
        ]
        sla.request_extension(session=s, case_id=bdg, actor=CLERK_BDG, reason="等待答复", days=3)
    zhl_street, bdg_street = sign_in_client("S-ZHL", "staff"), sign_in_client("S-BDG", "staff")

    def extensions(c: Browserless) -> str | None:
        return badge(c.get("/console/inbox").get_data(as_text=True), "延期")

    assert (extensions(zhl_street), extensions(bdg_street), extensions(zhl_street)) == (
        "2",
        "1",
        "2",
    )
    with sessions.begin() as s:
        sla.decide_extension(
            session=s, extension_id=asked[0].id, actor=Actor("z", "S-ZHL", "staff"), approve=True
        )
    assert (extensions(bdg_street), extensions(zhl_street)) == ("1", "1")
