"""The appraisal endpoints over HTTP: compute, list, drill down, finalize, assess."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from tests.api.conftest import Client
from tests.appraisal.month import build_november


def test_compute_list_and_drill_down_into_a_month(
    login: Callable[..., Client], sessions: sessionmaker[Session]
) -> None:
    cases = build_november(sessions)
    auditor, admin = login("X-SN", "auditor"), login("S-ZHL", "admin")
    r = auditor.post("/appraisals", json={"period": "2026-11"})
    assert r.status_code == 201, r.text
    assert len(r.json()) == 113 and {x["status"] for x in r.json()} == {"draft"}

    r = admin.get("/appraisals", params={"period": "2026-11", "kind": "workstation"})
    assert r.status_code == 200
    page = r.json()
    assert (page["total"], page["per_page"], len(page["items"])) == (50, 20, 20)
    listed = page["items"]
    second = admin.get("/appraisals", params={"period": "2026-11", "page": 6}).json()
    assert (second["total"], len(second["items"])) == (113, 13)
    top = listed[0]
    assert (top["unit"], top["score"], top["rank"]) == ("W-ZHL-01", 66.06, 1)
    assert top["metrics"]["response_rate"] == {"value": 0.75, "numerator": 3, "denominator": 4}

    one = auditor.get(f"/appraisals/{top['id']}").json()
    response = one["metrics"]["response_rate"]
    assert response["numerator_cases"] == sorted([cases["A"], cases["B"], cases["E"]])
    assert response["denominator_cases"] == sorted(cases[k] for k in "ABDE")
    assert one["metrics"]["open_overdue"]["numerator_cases"] == sorted([cases["D"], cases["E"]])
    assert one["inputs"]["period"] == "2026-11" and len(one["digest"]) == 64


def test_finalize_and_refusals(login: Callable[..., Client]) -> None:
    auditor, admin = login("X-SN", "auditor"), login("S-ZHL", "admin")
    r = admin.post("/appraisals", json={"period": "2026-09", "finalize": True})
    assert r.status_code == 403
    r = auditor.post("/appraisals", json={"period": "2099-01", "finalize": True})
    assert r.status_code == 409 and "has not ended" in r.json()["detail"]
    r = auditor.post("/appraisals", json={"period": "2026-09", "finalize": True})
    assert r.status_code == 201 and {x["status"] for x in r.json()} == {"final"}
    for body in ({"period": "2026-09", "finalize": True}, {"period": "2026-09"}):
        r = auditor.post("/appraisals", json=body)
        assert r.status_code == 409
        assert r.headers["Content-Type"] == "application/problem+json"
    for bad in ({}, {"period": "2026-13"}, {"period": 202609}, {"period": "2026-09", "x": 1}):
        assert auditor.post("/appraisals", json=bad).status_code == 422, bad
    r = auditor.post("/appraisals", data="{", headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    for params in ({"period": "2026"}, {"kind": "district"}):
        assert auditor.get("/appraisals", params=params).status_code == 422
    for rid in ("999999", "99999999999"):
        assert auditor.get(f"/appraisals/{rid}").status_code == 404


def test_the_host_streets_admin_assesses_an_agency_once(login: Callable[..., Client]) -> None:
    admin, other = login("S-ZHL", "admin"), login("S-XGZ", "admin")
    body = {"unit": "A-ZHL-PCS", "period": "2026-11", "score": 92.5, "comment": "治安巡逻到位"}
    assert other.post("/appraisals/assessments", json=body).status_code == 403
    for bad in (
        {**body, "score": 101},
        {**body, "score": "NaN"},
        {**body, "comment": ""},
        {**body, "period": "11/2026"},
        {**body, "unit": "W-ZHL-01"},
        {k: v for k, v in body.items() if k != "comment"},
    ):
        r = admin.post("/appraisals/assessments", json=bad)
        assert r.status_code == 422, (bad, r.text)
    r = admin.post("/appraisals/assessments", json=body)
    assert r.status_code == 201, r.text
    got = r.json()
    assert (got["unit"], got["score"], got["comment"]) == ("A-ZHL-PCS", 92.5, "治安巡逻到位")
    assert admin.post("/appraisals/assessments", json=body).status_code == 409
    r = admin.post("/appraisals", json={"period": "2026-11"})
    pcs = next(x for x in r.json() if x["unit"] == "A-ZHL-PCS")
    assert pcs["metrics"]["street_assessment"] == {"value": 92.5}
    # No cases this month: 不参评, whatever the street's assessment.
    assert (pcs["score"], pcs["rank"], pcs["metrics"]["cases"]) == (None, None, {"value": 0})
