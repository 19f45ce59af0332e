"""The list-admin endpoints over HTTP: import (dry run, diff, bad rows), export, street routing
tables, moving running cases; and their place in the OpenAPI document."""

from __future__ import annotations

import base64
import dataclasses
import io
from collections.abc import Callable

from openpyxl import Workbook, load_workbook
from sqlalchemy.orm import Session, sessionmaker

from tests.api.conftest import Client
from tests.listadmin.helpers import published, rows_of
from workflow.catalog import registry


def xlsx_b64(rows: list[list[object]]) -> str:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for r in rows:
        sheet.append(r)
    out = io.BytesIO()
    book.save(out)
    return base64.b64encode(out.getvalue()).decode()


def test_import_dry_run_then_publish_and_export(
    login: Callable[..., Client], sessions: sessionmaker[Session], make_case: Callable[..., int]
) -> None:
    admin = login("X-SN", "admin")
    running = make_case("SW-01", "accept")
    with sessions() as s:
        items = published(s)
    items = [dataclasses.replace(i, street_limit_wd=8) if i.code == "SW-01" else i for i in items]
    body = {"filename": "清单.xlsx", "content_base64": xlsx_b64(rows_of(items, chinese=True))}
    r = admin.post("/list/import", json={**body, "dry_run": True})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["dry_run"] is True and out["version"] is None and out["changed"] is True
    (change,) = out["diff"]["changed"]
    assert change["code"] == "SW-01"
    assert change["changes"] == [{"field": "street_limit_wd", "old": 12, "new": 8}]
    assert change["running_cases"] == [{"id": running, "list_version": 1}]
    with sessions() as s:
        assert registry.latest_version(s, "items", "items") == 1
    r = admin.post("/list/import", json=body)
    assert r.status_code == 200 and r.json()["version"] == 2, r.text

    r = admin.get("/list/export", params={"format": "xlsx"})
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(r.content)).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "code" and rows[1][:1] == ("SW-01",) and rows[1][8] == 8
    again = {"filename": "x.xlsx", "content_base64": base64.b64encode(r.content).decode()}
    r = admin.post("/list/import", json=again)
    assert r.status_code == 200 and r.json()["changed"] is False and r.json()["version"] == 2
    csv = admin.get("/list/export", params={"format": "csv", "chinese": "true"})
    assert csv.status_code == 200 and csv.text.startswith("事项编码,事项名称,英文名称")


def test_bad_rows_are_a_422_naming_row_and_column(
    login: Callable[..., Client], sessions: sessionmaker[Session]
) -> None:
    admin = login("X-SN", "admin")
    with sessions() as s:
        rows = rows_of(published(s), chinese=True)
    rows[3][rows[0].index("部门时限")] = "十"
    r = admin.post("/list/import", json={"filename": "a.xlsx", "content_base64": xlsx_b64(rows)})
    assert r.status_code == 422
    assert r.headers["Content-Type"].startswith("application/problem+json")
    assert r.json()["errors"] == {
        "row 4, column 部门时限 (dept_limit_wd)": ["Not a valid integer."]
    }
    for bad in (
        {"filename": "a.xlsx", "content_base64": "%%%"},
        {"filename": "a.ods", "content_base64": ""},
        {"filename": "a.xlsx", "content_base64": base64.b64encode(b"not a zip").decode()},
    ):
        assert admin.post("/list/import", json=bad).status_code == 422
    with sessions() as s:
        assert registry.latest_version(s, "items", "items") == 1


def test_street_routing_table_over_http(
    login: Callable[..., Client], make_case: Callable[..., int]
) -> None:
    admin = login("S-ZHL", "admin")
    before = make_case("UD-01")
    table = {"items": {"UD-01": {"agency": "A-ZHL-PCS", "street_limit_wd": 2}}}
    assert admin.get("/streets/S-ZHL/routing").json() == {
        "street": "S-ZHL",
        "version": None,
        "items": {},
    }
    r = admin.request("PUT", "/streets/S-ZHL/routing", json=table)
    assert r.status_code == 201, r.text
    assert r.json()["version"] == 1 and r.json()["items"] == table["items"]
    assert admin.request("PUT", "/streets/S-ZHL/routing", json=table).status_code == 200
    longer = {"items": {"UD-01": {"street_limit_wd": 9}}}
    r = admin.request("PUT", "/streets/S-ZHL/routing", json=longer)
    assert r.status_code == 422
    assert "lengthen" in r.json()["errors"]["items.UD-01.street_limit_wd"][0]
    foreign = {"items": {"UD-01": {"agency": "A-XGZ-PCS"}}}
    r = admin.request("PUT", "/streets/S-ZHL/routing", json=foreign)
    assert r.status_code == 422 and "items.UD-01.agency" in r.json()["errors"]
    assert admin.get("/streets/S-NOPE/routing").status_code == 404
    clerk = login("W-ZHL-01", "clerk")
    assert clerk.get("/streets/S-ZHL/routing").json()["version"] == 1
    # A case shows the table it is pinned to: none before the table, version 1 after.
    after = make_case("UD-01")
    pinned = {cid: clerk.get(f"/cases/{cid}").json() for cid in (before, after)}
    assert pinned[before]["routing_version"] is None
    assert pinned[after]["routing_version"] == 1
    assert pinned[before]["list_version"] == pinned[after]["list_version"] == 1


def test_migration_dry_run_and_apply_over_http(
    login: Callable[..., Client], sessions: sessionmaker[Session], make_case: Callable[..., int]
) -> None:
    from tests.listadmin.test_migration import publish_v2

    case = make_case("SW-02", "accept", "forward")
    with sessions.begin() as s:
        publish_v2(s)
    admin = login("S-ZHL", "admin")
    body = {"from_version": 1, "to_version": 2, "map": {}}
    r = admin.post("/routes/three_tier/migrations", json=body)
    assert r.status_code == 200, r.text
    plan = r.json()
    assert plan["applied"] is False and plan["blocked"] == 1
    assert "not mapped" in plan["cases"][0]["why_not"]
    other = login("S-XGZ", "admin")
    body["map"] = {"street_review": "street_check"}
    r = other.post("/routes/three_tier/migrations", json={**body, "dry_run": False})
    assert r.status_code == 200 and r.json()["cases"] == []  # not its street's case
    r = admin.post("/routes/three_tier/migrations", json={**body, "dry_run": False})
    assert r.status_code == 200 and r.json()["applied"] is True
    assert r.json()["cases"][0]["to_state"] == "street_check"
    trail = admin.get(f"/cases/{case}/trail").json()
    events = trail["items"] if isinstance(trail, dict) else trail
    assert events[-1]["action"] == "case.migrated"
    bad = admin.post("/routes/three_tier/migrations", json={**body, "map": {"x": "y"}})
    assert bad.status_code == 422
    assert (
        admin.post("/routes/three_tier/migrations", json={**body, "to_version": 9}).status_code
        == 404
    )


def test_the_endpoints_are_in_the_openapi_document(anon: Client) -> None:
    paths = anon.get("/api/v1/openapi.json").json()["paths"]
    assert {"post"} <= set(paths["/api/v1/list/import"])
    assert {"get"} <= set(paths["/api/v1/list/export"])
    assert {"get", "put"} <= set(paths["/api/v1/streets/{code}/routing"])
    assert {"post"} <= set(paths["/api/v1/routes/{name}/migrations"])


def test_malformed_admin_requests_are_refused_not_crashed(login: Callable[..., Client]) -> None:
    admin = login("S-ZHL", "admin")
    district = login("X-SN", "admin")  # the list is published by the district's administrators
    garbage = base64.b64encode(bytes(range(256)) * 4).decode()
    cases = [
        ("POST", "/list/import", {"filename": "..", "content_base64": ""}, 422),
        ("POST", "/list/import", {"filename": "a.csv", "content_base64": garbage}, 422),
        ("POST", "/list/import", {"filename": "a.xlsx", "content_base64": garbage}, 422),
        ("POST", "/list/import", {"filename": "a.csv", "content_base64": ""}, 422),
        ("POST", "/list/import", {"filename": "a.csv"}, 422),
        ("PUT", "/streets/S-ZHL/routing", {"items": {"UD-01": {"agency": 5}}}, 422),
        ("PUT", "/streets/S-ZHL/routing", {"items": {"UD-01": "A-ZHL-PCS"}}, 422),
        ("PUT", "/streets/S-ZHL/routing", {"items": {"UD-01": {"street_limit_wd": "2"}}}, 422),
        ("PUT", "/streets/S-ZHL/routing", {"items": {"UD-01": {"street_limit_wd": 2.5}}}, 422),
        ("PUT", "/streets/S-ZHL/routing", {"items": [], "extra": 1}, 422),
        ("PUT", "/streets/S-XGZ/routing", {"items": {}}, 403),
        ("POST", "/routes/nope/migrations", {"from_version": 1, "to_version": 2}, 404),
        ("POST", "/routes/incident/migrations", {"from_version": 1, "to_version": 1}, 422),
        ("POST", "/routes/incident/migrations", {"from_version": "a", "to_version": 1}, 422),
        ("POST", "/routes/incident/migrations", {"from_version": 1, "map": []}, 422),
    ]
    wrong = []
    for method, path, body, want in cases:
        r = (district if path.startswith("/list") else admin).request(method, path, json=body)
        if r.status_code != want or not r.headers["Content-Type"].startswith("application/problem"):
            wrong.append(f"{method} {path} {body}: {r.status_code} {r.text[:200]}")
    assert not wrong, "\n".join(wrong)
    assert admin.get("/list/export", params={"format": "ods"}).status_code == 422
    assert admin.get("/list/export", params={"version": 99}).status_code == 404
