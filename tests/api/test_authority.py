"""Authority over definitions over HTTP: district-wide publishing by district administrators,
a street's variant of a route by its own administrators, the case showing the variant."""

from __future__ import annotations

import base64
from collections.abc import Callable

import requests
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.api.conftest import Client
from tests.authority.helpers import variant_json
from workflow.catalog import registry
from workflow.config import DEFAULT_DEFINITIONS
from workflow.store.models import DefinitionVersion

NEW_CASE = {"item": "UD-01", "applicant": {"name": "张三", "phone": "13700000000"}}


def _problem(r: requests.Response, status: int) -> None:
    """A refusal as problem+json, saying why."""
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"].startswith("application/problem+json")
    body = r.json()
    assert {"type", "title", "status", "detail"} <= set(body) and body["status"] == status


def _route_rows(sessions: sessionmaker[Session]) -> list[tuple[int, str | None]]:
    with sessions() as s:
        return [
            (r.version, r.street)
            for r in s.execute(
                select(DefinitionVersion)
                .where(DefinitionVersion.kind == "route", DefinitionVersion.name == "incident")
                .order_by(DefinitionVersion.version)
            ).scalars()
        ]


def test_a_street_administrator_publishes_only_their_streets_variant(
    login: Callable[..., Client], sessions: sessionmaker[Session]
) -> None:
    zhl, xgz = login("S-ZHL", "admin"), login("S-XGZ", "admin")
    before = _route_rows(sessions)
    body = variant_json()
    # District-wide: refused, with the reason, and nothing published.
    r = zhl.post("/routes", json=body)
    _problem(r, 403)
    assert "district administrator" in r.json()["detail"]
    _problem(xgz.post("/routes/incident/streets/S-ZHL", json=body), 403)
    assert _route_rows(sessions) == before
    # Their own street: published as a new version, the street's variant.
    r = zhl.post("/routes/incident/streets/S-ZHL", json=body)
    assert r.status_code == 201, r.text
    v = r.json()["version"]
    assert r.json() == {"name": "incident", "version": v, "changed": True, "street": "S-ZHL"}
    assert zhl.post("/routes/incident/streets/S-ZHL", json=body).json()["changed"] is False
    # Read back: the variant is listed, the district's latest stays the route's face.
    district = zhl.get("/routes/incident").json()
    assert district["street"] is None and district["version"] < v
    assert district["variants"] == [{"street": "S-ZHL", "version": v}]
    assert v in district["versions"]
    assert zhl.get("/routes/incident/streets").json() == [{"street": "S-ZHL", "version": v}]
    mine = zhl.get("/routes/incident/streets/S-ZHL").json()
    assert (mine["version"], mine["street"]) == (v, "S-ZHL")
    assert mine["definition"]["transitions"][0]["trigger"] == "resolve_on_site"
    other = zhl.get("/routes/incident/streets/S-XGZ").json()
    assert (other["version"], other["street"]) == (district["version"], None)
    assert zhl.get(f"/routes/incident/versions/{v}").json()["street"] == "S-ZHL"
    svg = zhl.get("/routes/incident/diagram.svg", params={"version": v})
    assert svg.status_code == 200 and "resolve_on_site" in svg.text
    # Bad requests: another route's body, no such street.
    r = zhl.post("/routes/mediation/streets/S-ZHL", json=body)
    assert r.status_code == 422 and "name" in r.json()["errors"]
    district_admin = login("X-SN", "admin")
    _problem(district_admin.post("/routes/incident/streets/S-NOPE", json=body), 404)
    _problem(zhl.post("/routes/incident/streets/S-NOPE", json=body), 403)


def test_a_district_administrator_publishes_district_wide_and_for_any_street(
    login: Callable[..., Client], sessions: sessionmaker[Session]
) -> None:
    district = login("X-SN", "admin")
    body = variant_json()
    r = district.post("/routes/incident/streets/S-XGZ", json=body)
    assert r.status_code == 201 and r.json()["street"] == "S-XGZ"
    r = district.post("/routes", json={**body, "title_en": "Incident (district, 2027)"})
    assert r.status_code == 201 and r.json()["street"] is None
    rows = _route_rows(sessions)
    assert rows[-2:] == [(rows[-2][0], "S-XGZ"), (r.json()["version"], None)]


def test_the_case_record_shows_the_variant_it_is_pinned_to(login: Callable[..., Client]) -> None:
    admin, clerk = login("S-ZHL", "admin"), login("W-ZHL-01", "clerk")
    before = clerk.post("/cases", json={**NEW_CASE, "workstation": "W-ZHL-01"}).json()
    v = admin.post("/routes/incident/streets/S-ZHL", json=variant_json()).json()["version"]
    after = clerk.post("/cases", json={**NEW_CASE, "workstation": "W-ZHL-01"}).json()
    assert after["route"] == {"name": "incident", "version": v, "street": "S-ZHL"}
    assert "resolve_on_site" in after["available_triggers"]
    assert before["route"]["street"] is None and before["route"]["version"] < v
    full = clerk.get(f"/cases/{after['id']}").json()
    assert full["route"] == {"name": "incident", "version": v, "street": "S-ZHL"}
    other = login("W-XGZ-01", "clerk")
    elsewhere = other.post("/cases", json={**NEW_CASE, "workstation": "W-XGZ-01"}).json()
    assert elsewhere["route"] == {
        "name": "incident",
        "version": before["route"]["version"],
        "street": None,
    }


def test_only_a_district_administrator_publishes_the_list(
    login: Callable[..., Client], sessions: sessionmaker[Session]
) -> None:
    text = (DEFAULT_DEFINITIONS / "items.csv").read_text(encoding="utf-8")
    changed = text.replace(",local,D-GA,3,", ",local,D-GA,2,", 1)
    assert changed != text
    body = {
        "filename": "items.csv",
        "content_base64": base64.b64encode(changed.encode()).decode(),
    }
    street = login("S-ZHL", "admin")
    dry = street.post("/list/import", json={**body, "dry_run": True})
    assert dry.status_code == 200 and dry.json()["changed"] is True
    r = street.post("/list/import", json=body)
    _problem(r, 403)
    with sessions() as s:
        assert registry.latest_version(s, "items", "items") == 1
    r = login("X-SN", "admin").post("/list/import", json=body)
    assert r.status_code == 200 and r.json()["version"] == 2


def test_the_openapi_document_has_the_variant_endpoints(anon: Client) -> None:
    paths = anon.get("/api/v1/openapi.json").json()["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/routes/{name}/streets/{street}"])
    assert "get" in paths["/api/v1/routes/{name}/streets"]
    assert "403" in paths["/api/v1/routes"]["post"]["responses"]


def test_cases_move_to_a_streets_variant_only_within_that_street(
    login: Callable[..., Client], make_case: Callable[..., int]
) -> None:
    zhl, xgz = login("S-ZHL", "admin"), login("S-XGZ", "admin")
    case = make_case("UD-01")
    district_version = zhl.get("/routes/incident").json()["version"]
    v = zhl.post("/routes/incident/streets/S-ZHL", json=variant_json()).json()["version"]
    body = {"from_version": district_version, "to_version": v, "dry_run": False}
    r = xgz.post("/routes/incident/migrations", json=body)
    assert r.status_code == 422 and "variant of S-ZHL" in r.json()["detail"]
    r = zhl.post("/routes/incident/migrations", json=body)
    assert r.status_code == 200 and r.json()["movable"] == 1, r.text
    assert zhl.get(f"/cases/{case}").json()["route"] == {
        "name": "incident",
        "version": v,
        "street": "S-ZHL",
    }


def test_a_street_administrator_withdraws_their_streets_variant(
    login: Callable[..., Client], make_case: Callable[..., int]
) -> None:
    zhl, xgz = login("S-ZHL", "admin"), login("S-XGZ", "admin")
    district_version = zhl.get("/routes/incident").json()["version"]
    v = zhl.post("/routes/incident/streets/S-ZHL", json=variant_json()).json()["version"]
    on_variant = make_case("UD-01")
    _problem(xgz.request("DELETE", "/routes/incident/streets/S-ZHL"), 403)
    r = zhl.request("DELETE", "/routes/incident/streets/S-ZHL")
    assert r.status_code == 200, r.text
    assert (r.json()["version"], r.json()["street"], r.json()["variants"]) == (
        district_version,
        None,
        [],
    )
    _problem(zhl.request("DELETE", "/routes/incident/streets/S-ZHL"), 404)
    assert zhl.get(f"/cases/{on_variant}").json()["route"]["version"] == v
    assert make_case("UD-01") != on_variant
    assert zhl.get(f"/cases/{make_case('UD-01')}").json()["route"] == {
        "name": "incident",
        "version": district_version,
        "street": None,
    }
