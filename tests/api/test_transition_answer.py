"""The answer to a transition is the case as written: what a read of it right after says."""

from __future__ import annotations

from collections.abc import Callable

from tests.api.conftest import Client

NEW = {
    "item": "UD-01",
    "workstation": "W-ZHL-01",
    "applicant": {"name": "李雷", "phone": "13912345678"},
    "description": "井盖缺失",
}


def test_each_answer_is_the_case_as_a_read_then_shows_it(login: Callable[..., Client]) -> None:
    clerk = login("W-ZHL-01", "clerk")
    street = login("S-ZHL", "staff")
    r = clerk.post("/cases", json={**NEW, "urgency": "urgent"})
    assert r.status_code == 201, r.text
    case_id = r.json()["id"]
    for who, body in [
        (clerk, {"trigger": "accept"}),
        (clerk, {"trigger": "forward"}),
        (street, {"trigger": "resolve", "result": "井盖已补"}),
    ]:
        fired = who.post(f"/cases/{case_id}/transitions", json=body)
        assert fired.status_code == 200, fired.text
        read = who.get(f"/cases/{case_id}")
        assert read.status_code == 200, read.text
        answer, record = fired.json(), read.json()
        # (The full record shows the phone to the holder; a transition's answer masks it.)
        assert answer.pop("applicant") == {**record["applicant"], "phone": "139****5678"}
        shown = {k: v for k, v in record.items() if k in answer}
        assert answer == shown, body
        assert fired.headers["ETag"] == read.headers["ETag"] == f'"{answer["version"]}"'


def test_a_refused_firing_changes_nothing(login: Callable[..., Client]) -> None:
    clerk = login("W-ZHL-01", "clerk")
    case_id = clerk.post("/cases", json=NEW).json()["id"]
    before = clerk.get(f"/cases/{case_id}").json()
    r = clerk.post(f"/cases/{case_id}/transitions", json={"trigger": "resolve"})
    assert r.status_code == 409, r.text
    assert r.json()["code"] == "not_allowed_in_state"
    after = clerk.get(f"/cases/{case_id}").json()
    assert (after["state"], after["version"]) == (before["state"], before["version"])
