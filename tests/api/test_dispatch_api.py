"""The dispatch centre and duplicates over HTTP: a call opened at the centre, classified, placed
and dispatched into the workstation's inbox; a question answered; who may do what; a duplicate
seen on opening and merged; the Open311 status of both."""

from __future__ import annotations

from collections.abc import Callable

from tests.api.conftest import Client

CALLER = {"name": "王芳", "phone": "13800000000"}


def _call(dispatcher: Client, **body: object) -> dict:
    r = dispatcher.post("/dispatch", json={"applicant": CALLER, **body})
    assert r.status_code == 201, r.text
    return r.json()


def test_the_dispatchers_journey(login: Callable[..., Client]) -> None:
    dispatcher = login("H-SN", "dispatcher")
    clerk = login("W-ZHL-01", "clerk")
    case = _call(dispatcher, description="路灯不亮，说不清是哪个社区")
    assert (case["state"], case["holder"]["code"], case["item"]) == (
        "awaiting_dispatch",
        "H-SN",
        "",
    )
    assert case["available_triggers"] == []
    queue = dispatcher.get("/dispatch").json()
    assert [c["id"] for c in queue["items"]] == [case["id"]]
    # Where the list allows an incident at W-ZHL-01 to go.
    r = dispatcher.get(
        "/dispatch/destinations", params={"item": "UD-04", "workstation": "W-ZHL-01"}
    )
    assert {d["tier"]: d["unit"] for d in r.json()} == {
        "workstation": "W-ZHL-01",
        "street_office": "S-ZHL",
    }
    r = dispatcher.post(
        f"/cases/{case['id']}/dispatch",
        json={"to": "W-ZHL-01", "item": "UD-04", "urgency": "urgent", "reason": "夜间无灯"},
    )
    assert r.status_code == 200, r.text
    sent = r.json()
    assert (sent["state"], sent["holder"]["code"], sent["urgency"]) == (
        "reported",
        "W-ZHL-01",
        "urgent",
    )
    assert dispatcher.get("/dispatch").json()["items"] == []
    # It is in the workstation's hands, and the clerk goes on as with a case from the window.
    assert case["id"] in [
        c["id"] for c in clerk.get("/cases", params={"holder": "W-ZHL-01"}).json()["items"]
    ]
    assert "accept" in clerk.get(f"/cases/{case['id']}").json()["available_triggers"]
    trail = dispatcher.get(f"/cases/{case['id']}/trail").json()
    assert [e["action"] for e in trail if e["action"] != "case.personal_data_read"] == [
        "case.opened",
        "case.classified",
        "case.placed",
        "case.urgency_changed",
        "case.dispatched",
    ]


def test_a_consultation_answered_on_the_spot(login: Callable[..., Client]) -> None:
    dispatcher = login("H-SN", "dispatcher")
    case = _call(dispatcher, description="高龄津贴怎么申请？")
    r = dispatcher.post(
        f"/cases/{case['id']}/answer", json={"answer": "带身份证到社区工作站申请", "item": "GA-08"}
    )
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["holder"]) == ("answered", None)
    other = _call(dispatcher, item="UD-01")
    r = dispatcher.post(f"/cases/{other['id']}/answer", json={"answer": "不是咨询"})
    assert r.status_code == 422 and r.headers["Content-Type"] == "application/problem+json"


def test_who_may_dispatch(login: Callable[..., Client]) -> None:
    dispatcher = login("H-SN", "dispatcher")
    clerk = login("W-ZHL-01", "clerk")
    case = _call(dispatcher, item="UD-04", workstation="W-ZHL-01")
    # A clerk sees no queue and cannot dispatch.
    assert clerk.get("/dispatch").status_code == 403
    r = clerk.post(f"/cases/{case['id']}/dispatch", json={"to": "W-ZHL-01"})
    assert r.status_code in (403, 404)
    # A destination the list does not allow, and bad input: problems, nothing changed.
    r = dispatcher.post(f"/cases/{case['id']}/dispatch", json={"to": "D-ZJ"})
    assert r.status_code == 422 and "to" in r.json()["errors"]
    assert dispatcher.post(f"/cases/{case['id']}/dispatch", json={}).status_code == 422
    assert (
        dispatcher.post(
            f"/cases/{case['id']}/dispatch", json={"to": "W-ZHL-01", "urgency": "x"}
        ).status_code
        == 422
    )
    assert dispatcher.get("/dispatch").json()["total"] == 1
    assert (
        dispatcher.post(f"/cases/{case['id']}/dispatch", json={"to": "W-ZHL-01"}).status_code == 200
    )
    # A dispatcher does not act in the workstation's stages.
    r = dispatcher.post(f"/cases/{case['id']}/transitions", json={"trigger": "accept"})
    assert r.status_code == 403
    # Nor dispatches twice.
    assert (
        dispatcher.post(f"/cases/{case['id']}/dispatch", json={"to": "W-ZHL-01"}).status_code == 409
    )


def test_a_duplicate_seen_on_opening_and_merged(login: Callable[..., Client], anon: Client) -> None:
    clerk = login("W-ZHL-01", "clerk")
    dispatcher = login("H-SN", "dispatcher")
    opened = {"item": "UD-03", "workstation": "W-ZHL-01", "applicant": CALLER}
    first = clerk.post("/cases", json=opened).json()
    assert first["similar"] == []
    second = clerk.post("/cases", json=opened).json()
    assert second["similar"] == [first["id"]]
    assert [c["id"] for c in clerk.get(f"/cases/{second['id']}/similar").json()] == [first["id"]]
    # The dispatcher's call about the same place and item is flagged too.
    call = _call(dispatcher, item="UD-03", workstation="W-ZHL-01")
    assert set(call["similar"]) == {first["id"], second["id"]}
    r = clerk.post(f"/cases/{second['id']}/merge", json={"into": first["id"]})
    assert r.status_code == 422  # a reason is required
    r = clerk.post(f"/cases/{second['id']}/merge", json={"into": first["id"], "reason": "同一处"})
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["merged_into"]) == ("merged", first["id"])
    r = dispatcher.post(
        f"/cases/{call['id']}/merge", json={"into": first["id"], "reason": "同一处"}
    )
    assert r.status_code == 200, r.text
    # Merged cases are not merged again, nor merged into.
    r = clerk.post(f"/cases/{first['id']}/merge", json={"into": second["id"], "reason": "x"})
    assert r.status_code == 409
    assert clerk.get(f"/cases/{first['id']}/similar").json() == []
    # An accepted case is no longer merged by its clerk.
    third = clerk.post("/cases", json=opened).json()
    clerk.post(f"/cases/{third['id']}/transitions", json={"trigger": "accept"})
    r = clerk.post(f"/cases/{third['id']}/merge", json={"into": first["id"], "reason": "x"})
    assert r.status_code == 403


def test_open311_shows_centre_and_merged_cases(login: Callable[..., Client], anon: Client) -> None:
    dispatcher = login("H-SN", "dispatcher")
    clerk = login("W-ZHL-01", "clerk")
    master = clerk.post(
        "/cases", json={"item": "UD-03", "workstation": "W-ZHL-01", "applicant": CALLER}
    ).json()
    waiting = _call(dispatcher, item="UD-03", workstation="W-ZHL-01")
    merged = _call(dispatcher, item="UD-03", workstation="W-ZHL-01")
    dispatcher.post(f"/cases/{merged['id']}/merge", json={"into": master["id"], "reason": "同一处"})
    r = anon.get(f"/open311/v2/requests/{waiting['id']}.json")
    assert r.status_code == 200 and r.json()[0]["status"] == "open"
    r = anon.get(f"/open311/v2/requests/{merged['id']}.json")
    assert r.status_code == 200
    assert r.json()[0]["status"] == "closed" and str(master["id"]) in r.json()[0]["status_notes"]
    assert anon.get("/open311/v2/requests.json").status_code == 200


def test_no_trigger_fires_on_a_merged_or_waiting_case(login: Callable[..., Client]) -> None:
    clerk = login("W-ZHL-01", "clerk")
    dispatcher = login("H-SN", "dispatcher")
    opened = {"item": "UD-03", "workstation": "W-ZHL-01", "applicant": CALLER}
    first = clerk.post("/cases", json=opened).json()
    second = clerk.post("/cases", json=opened).json()
    clerk.post(f"/cases/{second['id']}/merge", json={"into": first["id"], "reason": "同一处"})
    r = clerk.post(f"/cases/{second['id']}/transitions", json={"trigger": "accept"})
    assert r.status_code == 409
    waiting = _call(dispatcher, item="UD-03", workstation="W-ZHL-01")
    r = dispatcher.post(f"/cases/{waiting['id']}/transitions", json={"trigger": "accept"})
    assert r.status_code == 409
    r = dispatcher.post(
        f"/cases/{waiting['id']}/urgency", json={"urgency": "critical", "reason": "火情"}
    )
    assert r.status_code == 200 and r.json()["urgency"] == "critical"
