"""GET /api/v1/cases?q=...: the console's search over HTTP, in the OpenAPI document, with bad
input answered as problem+json naming the field."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import open_case_as


def test_q_finds_by_name_phone_place_and_number_in_scope(
    login: Callable[..., Any], sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as s:
        a = open_case_as(
            s, applicant_name="王小明", applicant_phone="13912345678", description="海口路12号"
        ).id
        b = open_case_as(s, applicant_name="李四", applicant_phone="13800007777").id
        open_case_as(s, workstation="W-ZHL-02", applicant_name="王小明")
    clerk = login("W-ZHL-01", "clerk")

    def ids(**params: str) -> list[int]:
        r = clerk.get("/cases", params=params)
        assert r.status_code == 200, r.text
        return [c["id"] for c in r.json()["items"]]

    assert ids(q="王小明") == [a]
    assert ids(q="5678") == [a]
    assert ids(q="海口路") == [a]
    assert ids(q=f"#{b}") == [b]
    assert ids(q="王", urgency="normal") == [a]
    assert ids(q="李四", opened_from="2000-01-01", opened_until="2000-01-02") == []
    auditor = login("X-SN", "auditor")
    assert auditor.get("/cases", params={"q": "王小明"}).json()["items"] == []


def test_bad_search_input_is_a_problem_naming_the_field(login: Callable[..., Any]) -> None:
    clerk = login("W-ZHL-01", "clerk")
    for params, field in (
        ({"q": "x" * 101}, "q"),
        ({"view": "everything"}, "view"),
        ({"opened_from": "2026-02-30"}, "opened_from"),
        ({"urgency": "asap"}, "urgency"),
    ):
        r = clerk.get("/cases", params=params)
        assert r.status_code == 422, (params, r.text)
        assert r.headers["Content-Type"].startswith("application/problem+json")
        assert field in r.text
    r = clerk.get("/cases", params={"opened_from": "2026-11-02", "opened_until": "2026-11-01"})
    assert r.status_code == 422 and "opened_until" in r.text


def test_the_search_parameters_are_in_the_openapi_document(anon: Any) -> None:
    doc = anon.get("/api/v1/openapi.json").json()
    params = {p["name"] for p in doc["paths"]["/api/v1/cases"]["get"]["parameters"]}
    assert {"q", "view", "street", "urgency", "opened_from", "opened_until", "overdue"} <= params
