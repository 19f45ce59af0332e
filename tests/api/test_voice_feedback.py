"""回访 and 好差评 over HTTP: the resident's one-time link, the callback operator's call, a 差评
rectified and visited again, an appeal upheld and taken out of the appraisal; a clerk may no
longer rate their own unit's case."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from zoneinfo import ZoneInfo

import requests
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from tests.api.conftest import Client
from workflow.actors import Actor
from workflow.appraisal import records as appraisal
from workflow.runtime import engine
from workflow.store.models import Feedback, TrailEvent


def pending_link(clerk: Client, case: int) -> str:
    items = clerk.get("/feedback", params={"status": "pending", "case": case}).json()["items"]
    assert [f["case"] for f in items] == [case]
    link: str = items[0]["link"]
    assert re.fullmatch(r"http://[^/]+/f/[2-9A-HJ-NP-Z]{8}", link), link
    return link


def actions(sessions: sessionmaker[Session], case: int) -> list[str]:
    with sessions() as s:
        return list(
            s.scalars(
                select(TrailEvent.action)
                .where(TrailEvent.case_id == case, TrailEvent.action.like("feedback.%"))
                .order_by(TrailEvent.seq)
            )
        )


def test_the_resident_rates_once_through_the_link(
    login: Callable[..., Client], make_case: Callable[..., int], sessions: sessionmaker[Session]
) -> None:
    done = make_case("GA-03", "accept", "complete")
    clerk = login("W-ZHL-01", "clerk")
    link = pending_link(clerk, done)
    page = requests.get(link, timeout=30)
    assert page.status_code == 200
    assert "出租房屋信息登记" in page.text and "王芳" not in page.text and "路灯" not in page.text
    answer = {"level": "5", "resolved": "1", "comment": "很快"}
    r = requests.post(link, data=answer, timeout=30)
    assert r.status_code == 200 and "感谢您的评价" in r.text
    # Used: refused the second time, to a GET as to a POST, and nothing changes.
    again = requests.post(link, data={**answer, "level": "1"}, timeout=30)
    assert again.status_code == 404 and "此评价链接已失效" in again.text
    assert requests.get(link, timeout=30).status_code == 404
    (given,) = clerk.get("/feedback", params={"status": "given", "case": done}).json()["items"]
    assert (given["level"], given["resolved"], given["channel"]) == (5, True, "link")
    assert given["handler"] == "W-ZHL-01" and given["link"] is None
    assert actions(sessions, done) == ["feedback.given"]


def test_an_expired_link_is_refused_and_a_bad_answer_changes_nothing(
    login: Callable[..., Client], make_case: Callable[..., int], sessions: sessionmaker[Session]
) -> None:
    done = make_case("GA-03", "accept", "complete")
    link = pending_link(login("W-ZHL-01", "clerk"), done)
    bad = requests.post(link, data={"level": "9", "resolved": "1"}, timeout=30)
    assert bad.status_code == 422 and "请选择满意程度" in bad.text
    with sessions.begin() as s:
        s.execute(
            update(Feedback)
            .where(Feedback.case_id == done)
            .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
    r = requests.post(link, data={"level": "5", "resolved": "1"}, timeout=30)
    assert r.status_code == 404 and "已过期" in r.text
    assert requests.get(link, timeout=30).status_code == 404
    assert actions(sessions, done) == []
    # A made-up code is told the same, never which codes exist.
    assert requests.get(link[:-8] + "ZZZZZZZZ", timeout=30).status_code == 404


def test_a_clerk_may_not_rate_their_own_units_case(
    login: Callable[..., Client], make_case: Callable[..., int], sessions: sessionmaker[Session]
) -> None:
    done = make_case("GA-03", "accept", "complete")
    clerk = login("W-ZHL-01", "clerk")
    r = clerk.post(f"/cases/{done}/rating", json={"score": 5})
    assert r.status_code == 410 and r.headers["Content-Type"] == "application/problem+json"
    assert f"/api/v1/cases/{done}/feedback" in r.json()["detail"]
    r = clerk.post(
        f"/cases/{done}/feedback", json={"level": 5, "resolved": True, "channel": "phone"}
    )
    assert r.status_code == 403
    # Nor may a street's own callback operator rate a case its street handled.
    street_case = make_case("UD-01", "accept", "forward")
    with sessions.begin() as s:
        for trigger in ("resolve", "confirm"):
            unit, role = ("S-ZHL", "staff") if trigger == "resolve" else ("W-ZHL-01", "clerk")
            engine.fire(s, street_case, trigger, Actor(f"{role}@{unit}", unit, role))
    own = login("S-ZHL", "callback").post(
        f"/cases/{street_case}/feedback", json={"level": 5, "resolved": True, "channel": "phone"}
    )
    assert own.status_code == 403 and "handling unit" in own.json()["detail"]
    other_street = login("S-XGZ", "callback").post(
        f"/cases/{done}/feedback", json={"level": 5, "resolved": True, "channel": "phone"}
    )
    assert other_street.status_code == 403
    assert actions(sessions, done) == actions(sessions, street_case) == []


def test_a_callback_call_is_recorded_once(
    login: Callable[..., Client], make_case: Callable[..., int]
) -> None:
    done = make_case("GA-03", "accept", "complete")
    running = make_case("GA-03", "accept")
    callback = login("X-SN", "callback")
    queue = callback.get("/feedback", params={"status": "pending"}).json()
    assert [f["case"] for f in queue["items"]] == [done] and queue["next"] is None
    for body, field in (
        ({"level": 6, "resolved": True, "channel": "phone"}, "level"),
        ({"level": 3, "resolved": "yes", "channel": "phone"}, "resolved"),
        ({"level": 3, "resolved": True, "channel": "fax"}, "channel"),
    ):
        r = callback.post(f"/cases/{done}/feedback", json=body)
        assert r.status_code == 422 and field in r.json()["errors"], r.text
    answer = {"level": 3, "resolved": False, "comment": "还行", "channel": "phone"}
    r = callback.post(f"/cases/{done}/feedback", json=answer)
    assert r.status_code == 201, r.text
    assert (r.json()["level"], r.json()["resolved"], r.json()["round"]) == (3, False, 1)
    assert callback.post(f"/cases/{done}/feedback", json=answer).status_code == 409
    assert callback.post(f"/cases/{running}/feedback", json=answer).status_code == 409
    assert callback.get("/feedback", params={"status": "pending"}).json()["items"] == []
    assert callback.get("/feedback", params={"status": "lost"}).status_code == 422


def test_a_bad_rating_is_rectified_and_visited_again(
    login: Callable[..., Client], make_case: Callable[..., int], sessions: sessionmaker[Session]
) -> None:
    done = make_case("GA-03", "accept", "complete")
    callback, clerk = login("X-SN", "callback"), login("W-ZHL-01", "clerk")
    bad = {"level": 1, "resolved": False, "comment": "没人管", "channel": "phone"}
    assert callback.post(f"/cases/{done}/feedback", json=bad).status_code == 201
    (rect,) = clerk.get("/rectifications", params={"status": "open"}).json()["items"]
    assert (rect["case"], rect["unit"], rect["status"]) == (done, "W-ZHL-01", "open")
    assert rect["due_at"] > rect["opened_at"]
    # Only the handling unit reports.
    assert (
        login("W-ZHL-02", "clerk")
        .post(f"/rectifications/{rect['id']}/report", json={"report": "x"})
        .status_code
        == 404
    )
    assert (
        login("S-ZHL", "staff")
        .post(f"/rectifications/{rect['id']}/report", json={"report": "x"})
        .status_code
        == 403
    )
    r = clerk.post(f"/rectifications/{rect['id']}/report", json={"report": "已上门补办"})
    assert r.status_code == 200 and r.json()["status"] == "reported"
    assert (
        clerk.post(f"/rectifications/{rect['id']}/report", json={"report": "再报"}).status_code
        == 409
    )
    # The second 回访.
    (again,) = callback.get("/feedback", params={"status": "pending", "case": done}).json()["items"]
    assert again["round"] == 2 and again["link"]
    good = {"level": 4, "resolved": True, "channel": "window_device"}
    assert callback.post(f"/cases/{done}/feedback", json=good).status_code == 201
    assert actions(sessions, done) == [
        "feedback.given",
        "feedback.rectification_opened",
        "feedback.rectification_reported",
        "feedback.given",
    ]


def test_an_upheld_appeal_takes_the_rating_out_of_the_appraisal(
    login: Callable[..., Client], make_case: Callable[..., int], sessions: sessionmaker[Session]
) -> None:
    done = make_case("GA-03", "accept", "complete")
    callback, clerk = login("X-SN", "callback"), login("W-ZHL-01", "clerk")
    r = callback.post(
        f"/cases/{done}/feedback", json={"level": 2, "resolved": False, "channel": "phone"}
    )
    rating = r.json()["id"]
    with sessions() as s:
        zone = ZoneInfo(appraisal.timezone(s))
    period = dt.datetime.now(dt.UTC).astimezone(zone).strftime("%Y-%m")

    def satisfaction() -> dict[str, object]:
        with sessions.begin() as s:
            recs = {rec.unit: rec for rec in appraisal.compute(s, period)}
            m = recs["W-ZHL-01"].metrics["satisfaction_rate"]
            return {"num": m["numerator_cases"], "den": m["denominator_cases"]}

    assert satisfaction() == {"num": [], "den": [done]}
    assert (
        login("W-ZHL-02", "clerk")
        .post(f"/ratings/{rating}/appeal", json={"reason": "x"})
        .status_code
        == 404
    )
    r = clerk.post(f"/ratings/{rating}/appeal", json={"reason": "评价人说的是另一件事"})
    assert r.status_code == 201, r.text
    appeal = r.json()["id"]
    assert clerk.post(f"/ratings/{rating}/appeal", json={"reason": "再诉"}).status_code == 409
    decision = {"uphold": True, "reason": "与本事项无关"}
    assert (
        login("S-ZHL", "admin").post(f"/appeals/{appeal}/decision", json=decision).status_code
        == 403
    )
    district = login("X-SN", "admin")
    assert [
        a["id"] for a in district.get("/appeals", params={"status": "pending"}).json()["items"]
    ] == [appeal]
    r = district.post(f"/appeals/{appeal}/decision", json=decision)
    assert r.status_code == 200 and r.json()["status"] == "upheld"
    assert district.post(f"/appeals/{appeal}/decision", json=decision).status_code == 409
    assert satisfaction() == {"num": [], "den": []}
    (given,) = clerk.get("/feedback", params={"status": "given", "case": done}).json()["items"]
    assert given["excluded"] is True
    with sessions() as s:
        ev = s.scalars(
            select(TrailEvent).where(TrailEvent.action == "feedback.appeal_decided")
        ).one()
        assert ev.data == {
            "appeal": appeal,
            "rating": rating,
            "uphold": True,
            "reason": "与本事项无关",
        }


def test_the_resident_page_is_rate_limited(
    login: Callable[..., Client], make_case: Callable[..., int]
) -> None:
    done = make_case("GA-03", "accept", "complete")
    link = pending_link(login("W-ZHL-01", "clerk"), done)
    guesses = [
        requests.get(
            link[:-8] + f"ZZZZZZ{i:02d}".replace("0", "2").replace("1", "3"), timeout=30
        ).status_code
        for i in range(20)
    ]
    assert set(guesses) == {404}
    assert requests.get(link, timeout=30).status_code == 429


def test_the_callback_operator_reads_the_phone_to_call_and_the_read_is_recorded(
    login: Callable[..., Client], make_case: Callable[..., int], sessions: sessionmaker[Session]
) -> None:
    done = make_case("GA-03", "accept", "complete", phone="13912345678")
    callback = login("X-SN", "callback")
    (pending,) = callback.get("/feedback", params={"status": "pending", "case": done}).json()[
        "items"
    ]
    url = f"/feedback/{pending['id']}/contact"
    assert login("W-ZHL-01", "clerk").post(url).status_code == 403
    assert login("S-XGZ", "callback").post(url).status_code == 403
    r = callback.post(url)
    assert r.status_code == 200 and r.json() == {"name": "王芳", "phone": "13912345678"}
    with sessions() as s:
        read = s.scalars(
            select(TrailEvent).where(
                TrailEvent.case_id == done, TrailEvent.action == "case.personal_data_read"
            )
        ).one()
        assert (read.actor, read.data["for"]) == (callback.name, "callback")
    answer = {"level": 5, "resolved": True, "channel": "phone"}
    assert callback.post(f"/cases/{done}/feedback", json=answer).status_code == 201
    assert callback.post(url).status_code == 409


def test_two_answers_on_one_link_at_once_one_counts(
    login: Callable[..., Client], make_case: Callable[..., int], sessions: sessionmaker[Session]
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    done = make_case("GA-03", "accept", "complete")
    link = pending_link(login("W-ZHL-01", "clerk"), done)
    with ThreadPoolExecutor(4) as pool:
        codes = sorted(
            pool.map(
                lambda level: (
                    requests.post(
                        link, data={"level": str(level), "resolved": "1"}, timeout=30
                    ).status_code
                ),
                (3, 4, 5, 3),  # no 差评: one answer, one event
            )
        )
    assert codes == [200, 404, 404, 404]
    assert actions(sessions, done) == ["feedback.given"]
    with sessions() as s:
        given = s.scalars(
            select(TrailEvent).where(
                TrailEvent.case_id == done, TrailEvent.action == "feedback.given"
            )
        ).one()
        fb = s.scalars(select(Feedback).where(Feedback.case_id == done)).one()
        assert given.data["level"] == fb.level
