"""GET /cases (and the other id-ordered lists) paged by cursor over HTTP: `after=next` reads
every case exactly once while cases are opened between the pages; page numbers still work."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from tests.api.conftest import Client


def test_after_pages_read_every_case_once_while_cases_are_opened(
    login: Callable[..., Client], make_case: Callable[..., int]
) -> None:
    before = [make_case() for _ in range(7)]
    street = login("S-ZHL", "staff")
    clerk = login("W-ZHL-01", "clerk")
    read: list[int] = []
    query: dict[str, object] = {"per_page": 3}
    added = 0
    while True:
        r = street.get("/cases", params=query)
        assert r.status_code == 200, r.text
        body = r.json()
        read += [c["id"] for c in body["items"]]
        # A new case is opened at the window between the pages.
        opened = clerk.post(
            "/cases",
            json={"item": "UD-01", "workstation": "W-ZHL-01", "applicant": {"name": "李雷"}},
        )
        assert opened.status_code == 201, opened.text
        added += 1
        if body["next"] is None:
            break
        assert body["next"] == read[-1]
        query = {"per_page": 3, "after": body["next"]}
    assert Counter(read) == Counter(before)
    assert len(read) == 7 and added == 3
    # The count is of the whole list as it is now.
    assert body["total"] == 7 + added - 1


def test_page_numbers_still_work_and_carry_the_cursor(
    login: Callable[..., Client], make_case: Callable[..., int]
) -> None:
    ids = sorted((make_case() for _ in range(5)), reverse=True)
    street = login("S-ZHL", "staff")
    one = street.get("/cases", params={"page": 1, "per_page": 2}).json()
    two = street.get("/cases", params={"page": 2, "per_page": 2}).json()
    last = street.get("/cases", params={"page": 3, "per_page": 2}).json()
    assert [c["id"] for c in one["items"] + two["items"] + last["items"]] == ids
    assert (one["page"], one["per_page"], one["total"]) == (1, 2, 5)
    assert one["next"] == ids[1] and two["next"] == ids[3] and last["next"] is None
    # The cursor of a numbered page continues where it ended.
    on = street.get("/cases", params={"after": one["next"], "per_page": 2}).json()
    assert on["items"] == two["items"]


def test_after_with_filters_and_scope(
    login: Callable[..., Client], make_case: Callable[..., int]
) -> None:
    make_case()
    make_case()
    other_street = login("S-XGZ", "staff")
    r = other_street.get("/cases", params={"after": 2**31 - 1})
    assert r.status_code == 200
    assert r.json()["items"] == [] and r.json()["next"] is None
    make_case("UD-01", "accept")
    clerk = login("W-ZHL-01", "clerk")
    state = clerk.get("/cases", params={"per_page": 1, "page": 3}).json()["items"][0]["state"]
    body = clerk.get("/cases", params={"state": state, "per_page": 1}).json()
    assert body["total"] == 2 and body["next"] is not None
    rest = clerk.get("/cases", params={"state": state, "per_page": 1, "after": body["next"]}).json()
    assert len(rest["items"]) == 1 and rest["next"] is None


def test_a_bad_cursor_is_a_422_naming_it(login: Callable[..., Client]) -> None:
    street = login("S-ZHL", "staff")
    for bad in ("0", "-1", "abc", str(2**31), "1.5"):
        r = street.get("/cases", params={"after": bad})
        assert r.status_code == 422, (bad, r.text)
        assert r.headers["Content-Type"].startswith("application/problem+json")
        assert "after" in str(r.json()["errors"])


def test_supervisions_and_extensions_page_by_cursor_too(
    login: Callable[..., Client], make_case: Callable[..., int]
) -> None:
    ids = [make_case() for _ in range(3)]
    clerk = login("W-ZHL-01", "clerk")
    made = []
    for case_id in ids:
        r = clerk.post(f"/cases/{case_id}/extensions", json={"reason": "等待材料", "days": 2})
        assert r.status_code == 201, r.text
        # Written by the schema: the trail's instant format, the case's id as `case`.
        assert r.json()["case"] == case_id and r.json()["requested_at"].endswith("Z")
        assert r.json()["status"] == "pending" and r.json()["decided_at"] is None
        made.append(r.json()["id"])
    street = login("S-ZHL", "staff")
    one = street.get("/extensions", params={"per_page": 2}).json()
    two = street.get("/extensions", params={"per_page": 2, "after": one["next"]}).json()
    assert [e["id"] for e in one["items"] + two["items"]] == sorted(made, reverse=True)
    assert two["next"] is None and one["total"] == 3
    sups = street.get("/supervisions", params={"per_page": 2}).json()
    assert sups == {
        "items": [],
        "page": 1,
        "per_page": 2,
        "total": 0,
        "total_exact": True,
        "next": None,
    }


def test_the_cursor_is_in_the_openapi_document(anon: Client) -> None:
    doc = anon.get("/api/v1/openapi.json").json()
    params = {p["name"] for p in doc["paths"]["/api/v1/cases"]["get"]["parameters"]}
    assert {"after", "page", "per_page", "state", "holder", "item", "light"} <= params
    assert "next" in doc["components"]["schemas"]["CasePage"]["properties"]
