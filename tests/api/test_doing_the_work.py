"""Doing the work over HTTP: the result (办理结果), phones, materials with an override, the
dispatch's choice of agency, and a closed case's phone for its workstation's follow-up."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.api.conftest import Client
from workflow.audit.replay import differences
from workflow.store.models import Case, TrailEvent

NEW = {
    "item": "UD-01",
    "workstation": "W-ZHL-01",
    "applicant": {"name": "李雷", "phone": "13912345678"},
    "description": "井盖缺失",
}
ALLOWANCE = {**NEW, "item": "SW-01", "description": "高龄津贴"}


def fire(client: Client, case_id: int, trigger: str, **body: object) -> dict[str, object]:
    r = client.post(f"/cases/{case_id}/transitions", json={"trigger": trigger, **body})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def last_event(sessions: sessionmaker[Session], case_id: int, action: str) -> TrailEvent:
    with sessions() as s:
        ev = (
            s.execute(
                select(TrailEvent)
                .where(TrailEvent.case_id == case_id, TrailEvent.action == action)
                .order_by(TrailEvent.seq.desc())
            )
            .scalars()
            .first()
        )
        assert ev is not None
        return ev


def test_the_result_is_kept_shown_and_in_the_trail(
    login: Callable[..., Client], sessions: sessionmaker[Session]
) -> None:
    clerk = login("W-ZHL-01", "clerk")
    case_id = clerk.post("/cases", json=NEW).json()["id"]
    # A result goes with resolve or complete only.
    r = clerk.post(f"/cases/{case_id}/transitions", json={"trigger": "accept", "result": "x"})
    assert r.status_code == 422 and "result" in r.json()["errors"]
    fire(clerk, case_id, "accept")
    out = fire(clerk, case_id, "resolve", result="已补装井盖")
    assert out["result"] == "已补装井盖"
    assert clerk.get(f"/cases/{case_id}").json()["result"] == "已补装井盖"
    ev = last_event(sessions, case_id, "case.transition")
    assert ev.trigger == "resolve" and ev.data["result"] == "已补装井盖"
    # The trail alone gives the case's result back.
    with sessions() as s:
        assert [d for d in differences(s) if d.kind == "case" and d.id == case_id] == []
        # A result changed behind the trail's back is found.
        case = s.get(Case, case_id)
        assert case is not None
        case.result = "别的"
        s.flush()
        assert any(d.field == "result" for d in differences(s) if d.id == case_id)
        s.rollback()


@pytest.mark.parametrize(
    "phone", ["13912345678", "+86 13912345678", "0532-82871234", "053282871234", "(0532)82871234"]
)
def test_phones_mobile_and_landline_accepted(login: Callable[..., Client], phone: str) -> None:
    clerk = login("W-ZHL-01", "clerk")
    r = clerk.post("/cases", json={**NEW, "applicant": {"name": "李雷", "phone": phone}})
    assert r.status_code == 201, r.text


@pytest.mark.parametrize("phone", ["1", "12345678901", "1391234567", "82871234", "abc"])
def test_a_phone_that_is_no_phone_is_refused(
    login: Callable[..., Client], sessions: sessionmaker[Session], phone: str
) -> None:
    clerk = login("W-ZHL-01", "clerk")
    with sessions() as s:
        before = s.execute(select(Case.id)).all()
    r = clerk.post("/cases", json={**NEW, "applicant": {"name": "李雷", "phone": phone}})
    assert r.status_code == 422 and r.headers["Content-Type"] == "application/problem+json"
    assert "applicant.phone" in r.json()["errors"]
    with sessions() as s:
        assert s.execute(select(Case.id)).all() == before


def test_materials_missing_are_refused_unless_a_reason_is_given(
    login: Callable[..., Client], sessions: sessionmaker[Session]
) -> None:
    clerk = login("W-ZHL-01", "clerk")
    short = {**ALLOWANCE, "form": {"materials": ["身份证"]}}
    r = clerk.post("/cases", json=short)
    assert r.status_code == 422
    assert "户口簿" in r.json()["errors"]["materials"][0]
    r = clerk.post("/cases", json={**short, "materials_override": "户口簿在派出所办理中，先受理"})
    assert r.status_code == 201, r.text
    ev = last_event(sessions, r.json()["id"], "case.opened")
    assert ev.data["materials_missing"] == ["户口簿", "银行卡"]
    assert ev.data["materials_override"] == "户口簿在派出所办理中，先受理"
    # Every material ticked: no reason needed, none recorded.
    full = {**ALLOWANCE, "form": {"materials": ["身份证", "户口簿", "银行卡"]}}
    r = clerk.post("/cases", json=full)
    assert r.status_code == 201, r.text
    assert "materials_missing" not in last_event(sessions, r.json()["id"], "case.opened").data


def test_the_street_chooses_the_agency_and_another_after_a_send_back(
    login: Callable[..., Client],
) -> None:
    clerk, street = login("W-ZHL-01", "clerk"), login("S-ZHL", "staff")
    case_id = clerk.post("/cases", json=NEW).json()["id"]
    fire(clerk, case_id, "accept")
    fire(clerk, case_id, "forward")
    # Not an agency of this street: refused, nothing changes.
    r = street.post(
        f"/cases/{case_id}/transitions", json={"trigger": "dispatch", "target": "A-XGZ-ZF"}
    )
    assert r.status_code == 422 and "target" in r.json()["errors"]
    assert street.get(f"/cases/{case_id}").json()["state"] == "street_handling"
    out = fire(street, case_id, "dispatch", target="A-ZHL-ZF")
    assert out["holder"]["code"] == "A-ZHL-ZF"  # type: ignore[index]
    squad = login("A-ZHL-ZF", "staff")
    fire(squad, case_id, "send_back", reason="不属于执法范围")
    # After the send-back, the street keeps it itself this time.
    out = fire(street, case_id, "dispatch", target="S-ZHL")
    assert out["holder"]["code"] == "S-ZHL"  # type: ignore[index]


def test_a_closed_case_phone_for_its_workstation_while_the_callback_is_open(
    login: Callable[..., Client], make_case: Callable[..., int], sessions: sessionmaker[Session]
) -> None:
    case_id = make_case("UD-01", phone="13900002222")
    clerk, street = login("W-ZHL-01", "clerk"), login("S-ZHL", "staff")
    for trigger in ("accept", "resolve", "confirm"):
        fire(clerk, case_id, trigger, **({"result": "已处理"} if trigger == "resolve" else {}))
    body = clerk.get(f"/cases/{case_id}").json()
    assert body["state"] == "closed" and body["applicant"]["phone"] == "13900002222"
    ev = last_event(sessions, case_id, "case.personal_data_read")
    assert ev.data == {"phone": "shown", "for": "follow_up"} and ev.unit == "W-ZHL-01"
    # The street did not open it: masked.
    assert street.get(f"/cases/{case_id}").json()["applicant"]["phone"] == "139****2222"
    # Once the resident has answered (no 回访 pending), the phone is masked again.
    with sessions.begin() as s:
        from workflow.store.models import Feedback

        for fb in s.execute(select(Feedback).where(Feedback.case_id == case_id)).scalars():
            fb.status = "given"
    assert clerk.get(f"/cases/{case_id}").json()["applicant"]["phone"] == "139****2222"
