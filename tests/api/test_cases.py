"""Cases through the HTTP API: open, read (and its trail event), list, fire, rate, trail."""

from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.api.conftest import Client
from workflow.store.models import Case, TrailEvent

NEW = {
    "item": "UD-01",
    "workstation": "W-ZHL-01",
    "applicant": {"name": "李雷", "phone": "13912345678"},
    "description": "井盖缺失",
    "form": {"address": "珠海路 1 号"},
}


def events(sessions: sessionmaker[Session], action: str, case_id: int | None = None) -> int:
    with sessions() as s:
        q = select(func.count()).select_from(TrailEvent).where(TrailEvent.action == action)
        if case_id is not None:
            q = q.where(TrailEvent.case_id == case_id)
        return s.execute(q).scalar_one()


def test_open_case_at_the_window(login: Callable[..., Client]) -> None:
    clerk = login("W-ZHL-01", "clerk")
    r = clerk.post("/cases", json=NEW)
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["item"] == "UD-01" and case["state"] == "reported"
    assert case["route"]["name"] == "incident" and case["route"]["version"] >= 1
    assert case["holder"]["code"] == "W-ZHL-01" and case["holder"]["kind"] == "workstation"
    assert case["workstation"] == "W-ZHL-01" and case["version"] == 1
    assert case["light"] == "green"
    assert case["stage_due_at"].endswith("Z") and case["due_at"].endswith("Z")
    assert case["available_triggers"] == ["accept", "refuse"]
    assert case["applicant"] == {"name": "李雷", "phone": "13912345678"}
    assert r.headers["ETag"] == '"1"'


def test_open_case_refusals(login: Callable[..., Client]) -> None:
    clerk = login("W-ZHL-01", "clerk")
    r = clerk.post("/cases", json={**NEW, "item": "NOPE"})
    assert r.status_code == 422 and "item" in r.json()["errors"]
    r = clerk.post("/cases", json={**NEW, "applicant": {"phone": "13912345678"}})
    assert r.status_code == 422 and "applicant.name" in r.json()["errors"]
    assert clerk.post("/cases", json={**NEW, "workstation": "W-ZHL-02"}).status_code == 403


def test_read_is_a_trail_event_and_phone_shown_to_the_holder_only(
    login: Callable[..., Client], make_case: Callable[..., int], sessions: sessionmaker[Session]
) -> None:
    case_id = make_case("UD-01")
    clerk, street = login("W-ZHL-01", "clerk"), login("S-ZHL", "staff")
    r = clerk.get(f"/cases/{case_id}")
    assert r.status_code == 200
    assert r.json()["applicant"]["phone"] == "13800001234"
    assert r.json()["description"] == "路灯不亮"
    assert r.headers["ETag"] == '"1"'
    r = street.get(f"/cases/{case_id}")
    assert r.json()["applicant"]["phone"] == "138****1234"
    assert events(sessions, "case.personal_data_read", case_id) == 2
    trail = clerk.get(f"/cases/{case_id}/trail").json()
    reads = [e for e in trail if e["action"] == "case.personal_data_read"]
    assert [e["actor"] for e in reads] == [clerk.name, street.name]
    # A refused read leaves no trace.
    assert login("W-ZHL-02", "clerk").get(f"/cases/{case_id}").status_code == 404
    assert events(sessions, "case.personal_data_read", case_id) == 2


def test_list_is_scoped_masked_filtered_and_paged(
    login: Callable[..., Client], make_case: Callable[..., int]
) -> None:
    ids = [make_case("UD-01") for _ in range(3)] + [make_case("GA-02", "accept")]
    clerk = login("W-ZHL-01", "clerk")
    page = clerk.get("/cases", params={"per_page": 2}).json()
    assert page["total"] == 4 and page["per_page"] == 2 and page["page"] == 1
    assert [c["id"] for c in page["items"]] == [ids[3], ids[2]]
    assert all(c["applicant"]["phone"] == "138****1234" for c in page["items"])
    page2 = clerk.get("/cases", params={"per_page": 2, "page": 2}).json()
    assert [c["id"] for c in page2["items"]] == [ids[1], ids[0]]
    assert clerk.get("/cases", params={"per_page": 10_000}).json()["per_page"] == 100
    by_state = clerk.get("/cases", params={"state": "processing"}).json()
    assert [c["id"] for c in by_state["items"]] == [ids[3]]
    by_item = clerk.get("/cases", params={"item": "UD-01"}).json()
    assert by_item["total"] == 3
    assert clerk.get("/cases", params={"holder": "W-ZHL-01", "light": "green"}).json()["total"] == 4
    assert clerk.get("/cases", params={"light": "red"}).json()["total"] == 0
    assert clerk.get("/cases", params={"light": "purple"}).status_code == 422
    assert login("W-ZHL-02", "clerk").get("/cases").json()["total"] == 0
    assert login("S-ZHL", "staff").get("/cases").json()["total"] == 4
    assert login("S-XGZ", "staff").get("/cases").json()["total"] == 0
    assert login("X-SN", "auditor").get("/cases").json()["total"] == 4


def test_agency_and_department_see_what_they_hold_or_held(
    login: Callable[..., Client], make_case: Callable[..., int]
) -> None:
    held = make_case("UD-01", "accept", "forward", "dispatch")
    make_case("UD-01")
    agency, dept = login("A-ZHL-ZF", "staff"), login("D-ZF", "staff")
    assert [c["id"] for c in agency.get("/cases").json()["items"]] == [held]
    assert agency.get(f"/cases/{held}").status_code == 200
    r = agency.post(
        f"/cases/{held}/transitions", json={"trigger": "send_back", "reason": "不属本所"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["holder"]["code"] == "S-ZHL"
    # No longer the holder, but held it: still in scope, and now 403 on firing.
    assert agency.get(f"/cases/{held}").status_code == 200
    assert agency.post(f"/cases/{held}/transitions", json={"trigger": "resolve"}).status_code == 403
    assert dept.get("/cases").json()["total"] == 0
    assert dept.get(f"/cases/{held}").status_code == 404


def test_fire_with_etag_and_the_codes(
    login: Callable[..., Client], make_case: Callable[..., int]
) -> None:
    case_id = make_case("UD-01")
    clerk = login("W-ZHL-01", "clerk")
    url = f"/cases/{case_id}/transitions"
    stale = {"If-Match": '"7"'}
    assert clerk.post(url, json={"trigger": "accept"}, headers=stale).status_code == 412
    r = clerk.post(url, json={"trigger": "accept"}, headers={"If-Match": '"1"'})
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "ws_handling" and r.headers["ETag"] == '"2"'
    assert sorted(r.json()["available_triggers"]) == ["forward", "resolve"]
    assert clerk.post(url, json={"trigger": "accept"}).status_code == 409
    body = clerk.post(url, json={"trigger": "fly"}).json()
    assert body["status"] == 422 and "trigger" in body["errors"]
    assert (
        clerk.post(url, json={"trigger": "accept"}, headers={"If-Match": '"1"'}).status_code == 412
    )
    assert (
        clerk.post(url, json={"trigger": "forward"}, headers={"If-Match": "*"}).status_code == 200
    )
    assert clerk.post(url, json={"trigger": "resolve"}).status_code == 403  # street holds it now
    assert clerk.get(f"/cases/{case_id}").json()["version"] == 3


def test_reason_required_is_422(
    login: Callable[..., Client], make_case: Callable[..., int]
) -> None:
    case_id = make_case("UD-01")
    clerk = login("W-ZHL-01", "clerk")
    r = clerk.post(f"/cases/{case_id}/transitions", json={"trigger": "refuse"})
    assert r.status_code == 422 and r.json()["errors"]


def test_idempotency_key_returns_the_first_answer(
    login: Callable[..., Client], make_case: Callable[..., int], sessions: sessionmaker[Session]
) -> None:
    case_id = make_case("UD-01")
    clerk = login("W-ZHL-01", "clerk")
    url = f"/cases/{case_id}/transitions"
    key = {"Idempotency-Key": "k-1"}
    first = clerk.post(url, json={"trigger": "accept"}, headers=key)
    again = clerk.post(url, json={"trigger": "accept"}, headers=key)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert events(sessions, "case.transition", case_id) == 1
    other = clerk.post(url, json={"trigger": "forward"}, headers=key)
    assert other.status_code == 422
    # Keys are per user: someone else's same key is their own.
    assert (
        login("W-ZHL-01", "clerk").post(url, json={"trigger": "forward"}, headers=key).status_code
        == 200
    )


def test_idempotency_key_across_processes(
    db_url: str,
    login: Callable[..., Client],
    make_case: Callable[..., int],
    sessions: sessionmaker[Session],
    server: str,
) -> None:
    """Two servers (two engines, two pools) on one database, the same key at the same time."""
    from werkzeug.serving import make_server

    from api import create_app

    other_app = create_app({"DATABASE_URL": db_url, "SECRET_KEY": "test-secret"})
    srv = make_server("127.0.0.1", 0, other_app, threaded=True)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        case_id = make_case("UD-01")
        clerk = login("W-ZHL-01", "clerk")
        twin = Client(f"http://127.0.0.1:{srv.server_port}")
        twin.http.headers.update(clerk.http.headers)
        answers: list[int] = []

        def go(c: Client) -> None:
            r = c.post(
                f"/cases/{case_id}/transitions",
                json={"trigger": "accept"},
                headers={"Idempotency-Key": "same"},
            )
            answers.append(r.status_code)

        threads = [threading.Thread(target=go, args=(c,)) for c in (clerk, twin, clerk, twin)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert answers == [200] * 4
        assert events(sessions, "case.transition", case_id) == 1
    finally:
        srv.shutdown()
        t.join(5)
        other_app.extensions["streetflow.engine"].dispose()


def test_rating_by_the_unit_is_gone(
    login: Callable[..., Client], make_case: Callable[..., int]
) -> None:
    done = make_case("GA-02", "accept", "complete")
    r = login("W-ZHL-01", "clerk").post(f"/cases/{done}/rating", json={"score": 5})
    assert r.status_code == 410 and r.json()["title"] == "Ratings are given by the resident"
    assert login("W-ZHL-01", "clerk").get(f"/cases/{done}").json()["rating"] is None


def test_trail_oldest_first_with_hashes(
    login: Callable[..., Client], make_case: Callable[..., int]
) -> None:
    case_id = make_case("UD-01", "accept", "forward")
    trail = login("X-SN", "auditor").get(f"/cases/{case_id}/trail").json()
    assert [e["action"] for e in trail] == ["case.opened", "case.transition", "case.transition"]
    assert [e["trigger"] for e in trail[1:]] == ["accept", "forward"]
    assert trail[1]["prev_hash"] == trail[0]["hash"]
    assert set(trail[0]) == {
        "seq",
        "at",
        "case",
        "actor",
        "unit",
        "action",
        "trigger",
        "from_state",
        "to_state",
        "from_holder",
        "to_holder",
        "reason",
        "data",
        "prev_hash",
        "hash",
    }


def test_auditor_changes_nothing(
    login: Callable[..., Client], make_case: Callable[..., int], sessions: sessionmaker[Session]
) -> None:
    case_id = make_case("UD-01")
    auditor = login("X-SN", "auditor")
    assert auditor.get(f"/cases/{case_id}").json()["available_triggers"] == []
    assert (
        auditor.post(f"/cases/{case_id}/transitions", json={"trigger": "accept"}).status_code == 403
    )
    with sessions() as s:
        assert s.get(Case, case_id).state == "reported"  # type: ignore[union-attr]
