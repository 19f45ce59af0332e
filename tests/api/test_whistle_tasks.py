"""A joint whistle over HTTP (the real `requests` client against a served app): three departments
report and work in parallel, the street keeps the case and resolves it only after the join."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.api.conftest import Client
from tests.tasks.helpers import STREET, at_street
from workflow.audit.replay import differences
from workflow.audit.verify import verify
from workflow.runtime import engine, sla
from workflow.store.models import Supervision

REASON = "违建占道、消防通道堵塞，多部门职责交叉"


def whistled_a_week_ago(sessions: sessionmaker[Session]) -> int:
    """PS-06 (whistle_to D-GA, D-ZJ, D-ZF) whistled to D-GA alone a week ago: D-GA's report,
    due within 4 working hours, is late by now."""
    past = engine.utcnow() - dt.timedelta(days=7)
    with sessions.begin() as s:
        cid = at_street(s, "PS-06", now=past)
        engine.fire(s, cid, "whistle", STREET, reason=REASON, targets=["D-GA"], now=past)
    return cid


def tasks_by_unit(client: Client, cid: int) -> dict[str, dict[str, object]]:
    r = client.get(f"/cases/{cid}")
    assert r.status_code == 200, r.text
    return {t["unit"]: t for t in r.json()["tasks"]}


def test_a_joint_whistle_to_three_departments_end_to_end(
    login: Callable[..., Client], sessions: sessionmaker[Session]
) -> None:
    cid = whistled_a_week_ago(sessions)
    street = login("S-ZHL", "staff")
    ga, zj, zf = (login(u, "staff") for u in ("D-GA", "D-ZJ", "D-ZF"))

    # The street calls two more departments to the same case; it keeps command.
    r = street.post(
        f"/cases/{cid}/transitions",
        json={"trigger": "whistle", "targets": ["D-ZJ", "D-ZF"], "reason": REASON},
    )
    assert r.status_code == 200, r.text
    case = r.json()
    assert (case["state"], case["holder"]["code"]) == ("coordinating", "S-ZHL")
    board = {t["unit"]: t for t in case["tasks"]}
    assert {u: (t["lead"], t["status"]) for u, t in board.items()} == {
        "D-GA": (True, "awaiting_report"),
        "D-ZJ": (False, "awaiting_report"),
        "D-ZF": (False, "awaiting_report"),
    }
    assert all(t["report_due_at"] for t in board.values())

    # D-GA's report is late: the sweep raises its supervision, to the district, copied to the
    # street; the others are not late.
    sla.sweep(sessions)
    with sessions() as s:
        sups = (
            s.execute(
                select(Supervision).where(
                    Supervision.case_id == cid, Supervision.task_id.is_not(None)
                )
            )
            .scalars()
            .all()
        )
        assert [(x.holder, x.unit, x.also_unit, x.task_id) for x in sups] == [
            ("D-GA", "X-SN", "S-ZHL", board["D-GA"]["id"])
        ]

    # Each department sees its own task, not the others'.
    assert [t["unit"] for t in ga.get("/tasks").json()["items"]] == ["D-GA"]
    assert ga.get(f"/tasks/{board['D-ZJ']['id']}").status_code == 404
    assert [t["unit"] for t in ga.get(f"/cases/{cid}").json()["tasks"]] == ["D-GA"]
    assert {t["unit"] for t in street.get("/tasks", params={"case": cid}).json()["items"]} == {
        "D-GA",
        "D-ZJ",
        "D-ZF",
    }

    # The street may not resolve before the join.
    r = street.post(f"/cases/{cid}/transitions", json={"trigger": "resolve"})
    assert r.status_code == 409 and r.headers["Content-Type"] == "application/problem+json"
    assert "D-GA" in r.json()["detail"]

    # Each reports for duty; a department cannot report another's task.
    assert ga.post(f"/tasks/{board['D-ZJ']['id']}/report", json={}).status_code == 404
    for client, unit in ((ga, "D-GA"), (zj, "D-ZJ"), (zf, "D-ZF")):
        r = client.post(f"/tasks/{board[unit]['id']}/report", json={})
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "working" and r.json()["due_at"]
    # Reporting twice is a conflict.
    assert zf.post(f"/tasks/{board['D-ZF']['id']}/report", json={}).status_code == 409

    # Done with a written result; a result is required.
    r = zf.post(f"/tasks/{board['D-ZF']['id']}/done", json={})
    assert r.status_code == 422 and "result" in str(r.json()["errors"])
    for client, unit, result in (
        (ga, "D-GA", "已出警，清理占道人员"),
        (zj, "D-ZJ", "已核查，系违法搭建"),
        (zf, "D-ZF", "已依法拆除违建"),
    ):
        r = client.post(f"/tasks/{board[unit]['id']}/done", json={"result": result})
        assert r.status_code == 200, r.text
    # The street sends one part back; it is redone.
    zj_task = board["D-ZJ"]["id"]
    r = street.post(f"/tasks/{zj_task}/send_back", json={"reason": "缺少现场核查记录"})
    assert r.status_code == 200 and r.json()["status"] == "working"
    r = street.post(f"/cases/{cid}/transitions", json={"trigger": "resolve"})
    assert r.status_code == 409 and "D-ZJ" in r.json()["detail"]
    # A stale If-Match is 412; a retry with the same Idempotency-Key answers the same.
    etag = zj.get(f"/tasks/{zj_task}").headers["ETag"]
    r = zj.post(f"/tasks/{zj_task}/done", json={"result": "x"}, headers={"If-Match": '"1"'})
    assert r.status_code == 412
    headers = {"If-Match": etag, "Idempotency-Key": "zj-redo-1"}
    first = zj.post(f"/tasks/{zj_task}/done", json={"result": "补充现场核查记录"}, headers=headers)
    again = zj.post(f"/tasks/{zj_task}/done", json={"result": "补充现场核查记录"}, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.headers.get("Idempotent-Replayed") == "true" and again.json() == first.json()

    # Now the join holds: the street resolves.
    r = street.post(f"/cases/{cid}/transitions", json={"trigger": "resolve"})
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "resolved"
    assert {t["status"] for t in tasks_by_unit(street, cid).values()} == {"done"}

    # A department reads its own steps on the case's trail, not the others' results.
    trail = ga.get(f"/cases/{cid}/trail").json()
    task_units = {e["to_holder"] for e in trail if e["action"].startswith("task.")}
    assert task_units == {"D-GA"}
    assert "已依法拆除违建" not in str(trail)

    # The trail verifies, and replaying it gives every case and task row.
    with sessions() as s:
        assert verify(s, "test-secret").ok
        assert list(differences(s)) == []

    # Each department's own response counts: D-GA late, D-ZJ and D-ZF in time.
    admin = login("X-SN", "admin")
    period = engine.utcnow().astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    r = admin.post("/appraisals", json={"period": period})
    assert r.status_code in (200, 201), r.text
    records = admin.get("/appraisals", params={"period": period, "kind": "department"}).json()
    metrics = {rec["unit"]: rec["metrics"]["response_rate"] for rec in records["items"]}
    assert (metrics["D-GA"]["numerator"], metrics["D-GA"]["denominator"]) == (0, 1)
    assert (metrics["D-ZJ"]["numerator"], metrics["D-ZJ"]["denominator"]) == (1, 1)
    assert (metrics["D-ZF"]["numerator"], metrics["D-ZF"]["denominator"]) == (1, 1)


def test_cancel_is_the_commanding_units_and_a_cancelled_task_frees_the_join(
    login: Callable[..., Client], sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as s:
        cid = at_street(s, "UD-01", now=engine.utcnow())
    street = login("S-ZHL", "staff")
    zf, zj = login("D-ZF", "staff"), login("D-ZJ", "staff")
    r = street.post(
        f"/cases/{cid}/transitions",
        json={"trigger": "whistle", "target": "D-ZF", "reason": REASON},
    )
    assert r.status_code == 200 and [t["unit"] for t in r.json()["tasks"]] == ["D-ZF"]
    r = street.post(
        f"/cases/{cid}/transitions",
        json={"trigger": "whistle", "targets": ["D-ZJ"], "lead": "D-ZF", "reason": REASON},
    )
    assert r.status_code == 422
    r = street.post(
        f"/cases/{cid}/transitions",
        json={"trigger": "whistle", "targets": ["D-ZJ"], "reason": REASON},
    )
    tasks = {t["unit"]: t["id"] for t in r.json()["tasks"]}
    # A department may not cancel (nor throw back) its task: 403, and nothing changes.
    r = zj.post(f"/tasks/{tasks['D-ZJ']}/cancel", json={"reason": "不是我们的事"})
    assert r.status_code == 403
    assert street.post(f"/tasks/{tasks['D-ZJ']}/cancel", json={}).status_code == 422
    r = street.post(f"/tasks/{tasks['D-ZJ']}/cancel", json={"reason": "经核实不涉及住建"})
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    # Reporting needs no body at all.
    assert zf.post(f"/tasks/{tasks['D-ZF']}/report").status_code == 200
    assert zf.post(f"/tasks/{tasks['D-ZF']}/done", json={"result": "已处理"}).status_code == 200
    r = street.post(f"/cases/{cid}/transitions", json={"trigger": "resolve"})
    assert r.status_code == 200, r.text
    # Filters and paging of the list.
    r = street.get("/tasks", params={"status": "cancelled", "case": cid})
    assert [t["unit"] for t in r.json()["items"]] == ["D-ZJ"]
    page = street.get("/tasks", params={"case": cid, "per_page": 1}).json()
    assert len(page["items"]) == 1 and page["next"] == page["items"][0]["id"]
    rest = street.get("/tasks", params={"case": cid, "after": page["next"]}).json()
    assert [t["unit"] for t in rest["items"]] == ["D-ZJ"] and rest["next"] is None
    assert street.get("/tasks", params={"status": "lost"}).status_code == 422


def test_a_department_asks_more_time_on_its_task_and_the_district_decides(
    login: Callable[..., Client], sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as s:
        cid = at_street(s, "UD-01", now=engine.utcnow())
    street, zf = login("S-ZHL", "staff"), login("D-ZF", "staff")
    r = street.post(
        f"/cases/{cid}/transitions",
        json={"trigger": "whistle", "targets": ["D-ZF", "D-ZJ"], "reason": REASON},
    )
    task = next(t for t in r.json()["tasks"] if t["unit"] == "D-ZF")
    # Another department may not ask on D-ZF's task.
    zj = login("D-ZJ", "staff")
    r = zj.post(f"/cases/{cid}/extensions", json={"reason": "x", "days": 1, "task": task["id"]})
    assert r.status_code == 403
    r = zf.post(
        f"/cases/{cid}/extensions", json={"reason": "需协调执法车辆", "days": 2, "task": task["id"]}
    )
    assert r.status_code == 201, r.text
    ext = r.json()
    assert (ext["task"], ext["holder"], ext["unit"]) == (task["id"], "D-ZF", "X-SN")
    district = login("X-SN", "admin")
    r = district.post(f"/extensions/{ext['id']}/decision", json={"approve": True})
    assert r.status_code == 200, r.text
    after = zf.get(f"/tasks/{task['id']}").json()
    assert after["report_due_at"] > task["report_due_at"]
    assert after["report_due_at"] == r.json()["new_stage_due_at"]
    # The case's own stage is untouched, and the task's version too (not a step).
    assert after["version"] == task["version"]
