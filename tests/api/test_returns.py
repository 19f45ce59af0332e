"""退单 over HTTP: a return approved, one refused and then arbitrated by the district, with the
appraisal showing who carries each; urgency on a case over HTTP."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

from tests.api.conftest import Client
from workflow.config import DEFAULT_TIMEZONE


def dispatched(make_case: Callable[..., int], street: Client) -> int:
    """A report of illegal construction dispatched by the street to its enforcement squad."""
    cid = make_case("UD-01", "accept", "forward")
    r = street.post(f"/cases/{cid}/transitions", json={"trigger": "dispatch"})
    assert r.status_code == 200, r.text
    assert r.json()["holder"]["code"] == "A-ZHL-ZF"
    return cid


def test_a_return_approved_one_refused_and_arbitrated_with_the_appraisal(
    login: Callable[..., Client], make_case: Callable[..., int]
) -> None:
    street = login("S-ZHL", "staff")
    squad, police = login("A-ZHL-ZF", "staff"), login("A-ZHL-PCS", "staff")
    district = login("X-SN", "admin")
    auditor = login("X-SN", "auditor")
    a, b = dispatched(make_case, street), dispatched(make_case, street)

    # Bad requests change nothing.
    for body, field in (
        ({"category": "bored", "reason": "不想办"}, "category"),
        ({"category": "not_our_duty", "reason": "  "}, "reason"),
        ({"category": "not_our_duty", "reason": "不属本部门", "task": 1}, "task"),
        ({"reason": "不属本部门"}, "category"),
    ):
        r = squad.post(f"/cases/{a}/returns", json=body)
        assert r.status_code == 422, r.text
        assert field in r.json()["errors"], r.json()
    r = squad.post(
        f"/cases/{a}/returns", json={"category": "not_our_duty", "reason": "x", "task": 999}
    )
    assert r.json()["errors"]["task"] == ["no such task"]
    # Only the holder asks.
    r = street.post(f"/cases/{a}/returns", json={"category": "other", "reason": "不是我"})
    assert r.status_code == 403
    assert squad.get("/returns").json()["items"] == []

    # Case A: asked, approved back to the street, which mis-sent it.
    r = squad.post(
        f"/cases/{a}/returns",
        json={"category": "not_our_duty", "reason": "属于派出所职责，非执法中队"},
    )
    assert r.status_code == 201, r.text
    ra = r.json()
    assert (ra["status"], ra["reviewer"], ra["sender"], ra["unit"], ra["arbitration"]) == (
        "pending",
        "X-SN",
        "S-ZHL",
        "A-ZHL-ZF",
        False,
    )
    assert ra["category_zh"] == "非本单位职责" and ra["review_due_at"]
    # While it is pending the case keeps its holder.
    assert squad.get(f"/cases/{a}").json()["holder"]["code"] == "A-ZHL-ZF"
    r = squad.post(f"/cases/{a}/returns", json={"category": "other", "reason": "再次"})
    assert r.status_code == 409
    queue = district.get("/returns", params={"status": "pending"}).json()
    assert [x["id"] for x in queue["items"]] == [ra["id"]]
    assert (queue["total"], queue["next"]) == (1, None)
    # The requester cannot decide its own return.
    r = squad.post(f"/returns/{ra['id']}/decision", json={"approve": True, "reason": "同意"})
    assert r.status_code == 403
    r = district.post(
        f"/returns/{ra['id']}/decision",
        json={"approve": True, "reason": "确属派出所职责，街道错派", "at_fault": "S-ZHL"},
    )
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["to"], r.json()["at_fault"]) == (
        "approved",
        "S-ZHL",
        "S-ZHL",
    )
    case = street.get(f"/cases/{a}").json()
    assert (case["state"], case["holder"]["code"]) == ("street_handling", "S-ZHL")
    r = district.post(f"/returns/{ra['id']}/decision", json={"approve": False, "reason": "改"})
    assert r.status_code == 409

    # Case B: refused (the squad keeps it), then contested: the district arbitrates, finally.
    rb = squad.post(
        f"/cases/{b}/returns", json={"category": "not_our_duty", "reason": "不属执法中队"}
    ).json()
    r = district.post(
        f"/returns/{rb['id']}/decision",
        json={"approve": False, "reason": "违建查处属执法中队职责", "to": "A-ZHL-PCS"},
    )
    assert r.status_code == 422  # a refusal sends the case nowhere
    r = district.post(
        f"/returns/{rb['id']}/decision",
        json={"approve": False, "reason": "违建查处属执法中队职责"},
    )
    assert (r.json()["status"], r.json()["responsible"]) == ("refused", "A-ZHL-ZF")
    assert squad.get(f"/cases/{b}").json()["holder"]["code"] == "A-ZHL-ZF"
    r = squad.post(
        f"/cases/{b}/returns",
        json={"category": "not_our_duty", "reason": "对驳回有异议：涉及暴力抗法，应由派出所处置"},
    )
    assert r.status_code == 201
    rc = r.json()
    assert (rc["arbitration"], rc["reviewer"]) == (True, "X-SN")
    r = district.post(
        f"/returns/{rc['id']}/decision",
        json={"approve": True, "reason": "仲裁：涉及暴力抗法，由派出所负责", "to": "D-ZF"},
    )
    assert r.status_code == 422  # not a unit that can hold a stationed agency's stage
    r = district.post(
        f"/returns/{rc['id']}/decision",
        json={"approve": True, "reason": "仲裁：涉及暴力抗法，由派出所负责", "to": "A-ZHL-PCS"},
    )
    assert r.status_code == 200, r.text
    assert (r.json()["responsible"], r.json()["to"]) == ("A-ZHL-PCS", "A-ZHL-PCS")
    case = police.get(f"/cases/{b}").json()
    assert (case["state"], case["holder"]["code"]) == ("agency_handling", "A-ZHL-PCS")
    # Final: the police station cannot bounce it again.
    r = police.post(f"/cases/{b}/returns", json={"category": "not_our_duty", "reason": "不是我们"})
    assert r.status_code == 409
    assert "final" in r.json()["detail"]
    # Paged by cursor: the page after the newest return holds the older ones.
    first = district.get("/returns", params={"per_page": 1}).json()
    assert first["total"] == 3 and first["next"] == rc["id"]
    rest = district.get("/returns", params={"per_page": 5, "after": first["next"]}).json()
    assert [x["id"] for x in rest["items"]] == [rb["id"], ra["id"]] and rest["next"] is None
    # Both units see the arbitration and its basis; its trail says so.
    assert rc["id"] in [x["id"] for x in police.get("/returns").json()["items"]]
    assert rc["id"] in [x["id"] for x in squad.get("/returns").json()["items"]]
    trail = police.get(f"/cases/{b}/trail").json()
    steps = [
        (e["action"], e["trigger"], e["to_holder"])
        for e in trail
        if e["action"].startswith("return.") or e["trigger"] in ("dispatch", "return")
    ]
    assert steps == [
        ("case.transition", "dispatch", "A-ZHL-ZF"),
        ("return.requested", None, "A-ZHL-ZF"),
        ("return.refused", None, "A-ZHL-ZF"),
        ("return.requested", None, "A-ZHL-ZF"),
        ("case.transition", "return", "A-ZHL-PCS"),
        ("return.approved", None, "A-ZHL-PCS"),
    ]
    decided = next(e for e in trail if e["action"] == "return.approved")
    assert decided["reason"] == "仲裁：涉及暴力抗法，由派出所负责"
    assert decided["data"]["responsible"] == "A-ZHL-PCS"
    assert decided["data"]["arbitration"] is True

    # The appraisal: the refused return counts against the squad (1 of its 3 decided returns),
    # the approved one on case A against the street that mis-sent it, the arbitrated one nobody.
    r = auditor.post("/appraisals", json={"period": a_period(case["created_at"])})
    assert r.status_code == 201, r.text
    records = {x["unit"]: x for x in r.json()}
    squad_rec, police_rec = records["A-ZHL-ZF"], records["A-ZHL-PCS"]
    assert squad_rec["metrics"]["return_refusal_rate"]["value"] == round(1 / 3, 6)
    drill = auditor.get(f"/appraisals/{squad_rec['id']}").json()
    assert drill["metrics"]["return_refusal_rate"]["numerator_cases"] == [b]
    assert records["S-ZHL"]["metrics"]["returns_at_fault"]["value"] == 1
    assert police_rec["metrics"]["returns_at_fault"]["value"] == 0
    assert police_rec["metrics"]["return_refusal_rate"]["value"] is None


def a_period(at: str) -> str:
    """The appraisal's period of the instant AT (ISO, UTC): its month in the city, not in UTC
    (from 16:00 UTC on a month's last day the city is in the next month)."""
    when = dt.datetime.fromisoformat(at.replace("Z", "+00:00"))
    return when.astimezone(ZoneInfo(DEFAULT_TIMEZONE)).strftime("%Y-%m")


def test_urgency_over_http(login: Callable[..., Client]) -> None:
    clerk = login("W-ZHL-01", "clerk")
    body = {
        "item": "PS-04",
        "workstation": "W-ZHL-01",
        "applicant": {"name": "李雷", "phone": "13900000000"},
        "description": "楼道堆放杂物有火险",
    }
    r = clerk.post("/cases", json={**body, "urgency": "panic"})
    assert r.status_code == 422 and "urgency" in r.json()["errors"]
    r = clerk.post("/cases", json=body)
    assert r.status_code == 201 and r.json()["urgency"] == "normal"
    r = clerk.post("/cases", json={**body, "urgency": "critical"})
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["urgency"] == "critical"
    r = clerk.post(f"/cases/{case['id']}/urgency", json={"urgency": "urgent"})
    assert r.status_code == 422 and "reason" in r.json()["errors"]
    other = login("W-XGZ-01", "clerk")
    r = other.post(f"/cases/{case['id']}/urgency", json={"urgency": "urgent", "reason": "x"})
    assert r.status_code == 404
    r = clerk.post(
        f"/cases/{case['id']}/urgency", json={"urgency": "urgent", "reason": "已控制火源"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["urgency"] == "urgent" and r.json()["version"] == case["version"]
    trail = clerk.get(f"/cases/{case['id']}/trail").json()
    changed = [e for e in trail if e["action"] == "case.urgency_changed"]
    assert [(e["reason"], e["data"]["urgency"]) for e in changed] == [("已控制火源", "urgent")]
