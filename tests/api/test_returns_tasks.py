"""退单 of a task of a joint whistle over HTTP: the called department asks to be released, the
street in command reviews; refused and insisted on, the district arbitrates; approved, the
department is released (or another called in its place); the appraisal shows who carries it."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from tests.api.conftest import Client
from tests.api.test_returns import a_period
from workflow.audit.replay import differences


def joint_whistle(make_case: Callable[..., int], street: Client) -> int:
    cid = make_case("UD-01", "accept", "forward")
    r = street.post(
        f"/cases/{cid}/transitions",
        json={"trigger": "whistle", "targets": ["D-ZF", "D-ZJ"], "reason": "违建需联合执法"},
    )
    assert r.status_code == 200, r.text
    return cid


def task_of(client: Client, case_id: int, unit: str) -> dict:
    items = client.get("/tasks", params={"case": case_id}).json()["items"]
    return next(t for t in items if t["unit"] == unit)


def test_a_task_returned_refused_arbitrated_and_one_reassigned(
    login: Callable[..., Client], make_case: Callable[..., int], sessions: sessionmaker[Session]
) -> None:
    street = login("S-ZHL", "staff")
    zj, zf = login("D-ZJ", "staff"), login("D-ZF", "staff")
    district = login("X-SN", "admin")
    auditor = login("X-SN", "auditor")
    a, b = joint_whistle(make_case, street), joint_whistle(make_case, street)
    ta = task_of(zj, a, "D-ZJ")
    # Another unit's task, or another case's, is not the caller's to return.
    r = zf.post(
        f"/cases/{a}/returns", json={"category": "not_our_duty", "reason": "x", "task": ta["id"]}
    )
    assert r.status_code == 403
    r = zj.post(
        f"/cases/{b}/returns", json={"category": "not_our_duty", "reason": "x", "task": ta["id"]}
    )
    assert r.status_code == 422 and r.json()["errors"]["task"] == ["no such task"]

    # Case A: D-ZJ asks; the street refuses; D-ZJ insists; the district releases it.
    r = zj.post(
        f"/cases/{a}/returns",
        json={"category": "not_our_duty", "reason": "拆除属综合执法，非住建", "task": ta["id"]},
    )
    assert r.status_code == 201, r.text
    first = r.json()
    assert (first["task"], first["reviewer"], first["arbitration"]) == (ta["id"], "S-ZHL", False)
    assert task_of(zj, a, "D-ZJ")["status"] == "return_requested"
    # The case stays with the street meanwhile.
    assert street.get(f"/cases/{a}").json()["holder"]["code"] == "S-ZHL"
    r = district.post(f"/returns/{first['id']}/decision", json={"approve": True, "reason": "x"})
    assert r.status_code == 403  # the street reviews first
    r = street.post(
        f"/returns/{first['id']}/decision",
        json={"approve": False, "reason": "需住建认定违建性质"},
    )
    assert r.status_code == 200, r.text
    assert task_of(zj, a, "D-ZJ")["status"] == "awaiting_report"
    r = zj.post(
        f"/cases/{a}/returns",
        json={"category": "not_our_duty", "reason": "坚持：性质已由规划认定", "task": ta["id"]},
    )
    second = r.json()
    assert (second["reviewer"], second["arbitration"]) == ("X-SN", True)
    r = district.post(
        f"/returns/{second['id']}/decision",
        json={"approve": True, "reason": "仲裁：住建无需参与，由执法局单独处置"},
    )
    assert r.status_code == 200, r.text
    assert task_of(zj, a, "D-ZJ")["status"] == "cancelled"
    assert task_of(zf, a, "D-ZF")["status"] == "awaiting_report"
    r = zj.post(
        f"/cases/{a}/returns", json={"category": "other", "reason": "再次", "task": ta["id"]}
    )
    assert r.status_code == 409 and "final" in r.json()["detail"]

    # Case B: the street approves at once and calls the emergency bureau in D-ZJ's place.
    tb = task_of(zj, b, "D-ZJ")
    rb = zj.post(
        f"/cases/{b}/returns",
        json={"category": "not_our_duty", "reason": "涉及消防", "task": tb["id"]},
    ).json()
    r = street.post(
        f"/returns/{rb['id']}/decision",
        json={"approve": True, "reason": "改派应急管理局", "to": "D-YJ", "at_fault": "S-ZHL"},
    )
    assert r.status_code == 200, r.text
    called = {
        t["unit"]: t["status"] for t in street.get("/tasks", params={"case": b}).json()["items"]
    }
    assert called == {"D-ZF": "awaiting_report", "D-ZJ": "cancelled", "D-YJ": "awaiting_report"}

    trail = [e["action"] for e in zj.get(f"/cases/{a}/trail").json()]
    assert "task.return_requested" in trail and "task.released" in trail
    r = auditor.post("/appraisals", json={"period": a_period(first["requested_at"])})
    assert r.status_code == 201, r.text
    records = {x["unit"]: x for x in r.json()}
    # D-ZJ: one refused of its three decided returns; the street: one mis-sent.
    assert records["D-ZJ"]["metrics"]["return_refusal_rate"]["value"] == round(1 / 3, 6)
    assert records["S-ZHL"]["metrics"]["returns_at_fault"]["value"] == 1
    # Every task row is what its trail events make of it.
    with sessions() as s:
        assert list(differences(s)) == []
