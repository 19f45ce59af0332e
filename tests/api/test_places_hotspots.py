"""Hot spots over HTTP (GET /hotspots): the period's cases by community and item, a street's own
communities for a street office, every street for the district; and GET /places/locate,
GET /places/communities."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from tests.api.conftest import Client

TODAY = dt.date.today()
PERIOD = {"from": str(TODAY - dt.timedelta(days=2)), "to": str(TODAY + dt.timedelta(days=2))}


def test_hotspots_by_community_and_item(
    login: Callable[..., Client], make_case: Callable[..., int]
) -> None:
    make_case("UD-01")
    make_case("UD-01")
    make_case("UD-02", workstation="W-ZHL-02")
    make_case("UD-01", workstation="W-XGZ-01")

    street = login("S-ZHL", "staff")
    r = street.get("/hotspots", params=PERIOD)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["street"] == "S-ZHL" and body["total"] == 3
    counts = {c["workstation"]: c["count"] for c in body["communities"]}
    assert counts == {"W-ZHL-01": 2, "W-ZHL-02": 1, "W-ZHL-03": 0, "W-ZHL-04": 0, "W-ZHL-05": 0}
    assert body["communities"][0]["name"] == "香港花园社区工作站"
    assert body["cells"][0] == {"workstation": "W-ZHL-01", "item": "UD-01", "count": 2}
    assert {i["item"]: i["count"] for i in body["items"]} == {"UD-01": 2, "UD-02": 1}
    # Another street's hot spots are not this street's to see.
    r = street.get("/hotspots", params={**PERIOD, "street": "S-XGZ"})
    assert r.status_code == 403 and r.headers["Content-Type"] == "application/problem+json"

    district = login("X-SN", "admin")
    whole = district.get("/hotspots", params=PERIOD).json()
    assert whole["street"] is None and whole["total"] == 4 and len(whole["communities"]) == 50
    one = district.get("/hotspots", params={**PERIOD, "street": "S-XGZ"}).json()
    assert one["total"] == 1 and len(one["communities"]) == 5
    # A period before the cases: nothing.
    before = {"from": "2026-01-01", "to": "2026-01-31"}
    assert district.get("/hotspots", params=before).json()["total"] == 0


def test_hotspots_refusals(login: Callable[..., Client]) -> None:
    clerk = login("W-ZHL-01", "clerk")
    assert clerk.get("/hotspots", params=PERIOD).status_code == 403
    district = login("X-SN", "admin")
    for params in (
        {"from": "2026-02-01", "to": "2026-01-01"},
        {"from": "2024-01-01", "to": "2026-01-01"},
        {"from": "yesterday", "to": "2026-01-01"},
        {"from": "0001-01-01", "to": "0001-01-02"},
        {"from": "9999-12-30", "to": "9999-12-31"},
        {"to": "2026-01-01"},
        {**PERIOD, "street": "W-ZHL-01"},
    ):
        r = district.get("/hotspots", params=params)
        assert r.status_code == 422, (params, r.text)
        assert r.headers["Content-Type"] == "application/problem+json"


def test_locate_and_communities(login: Callable[..., Client], anon: Client) -> None:
    clerk = login("W-ZHL-01", "clerk")
    r = clerk.get("/places/locate", params={"address": "香港中路202号"})
    assert r.status_code == 200
    assert r.json() | {"version": 1} == {
        "workstation": "W-XGZ-03",
        "name": "漳州路社区工作站",
        "street": "S-XGZ",
        "by": "address",
        "version": 1,
    }
    assert clerk.get("/places/locate", params={"lat": 35, "long": 119}).status_code == 404
    assert clerk.get("/places/locate", params={"lat": 36.06}).status_code == 422
    geo = clerk.get("/places/communities")
    assert geo.status_code == 200 and geo.headers["Content-Type"].startswith("application/geo+json")
    assert len(geo.json()["features"]) == 50 and geo.json()["illustrative"] is True
    assert anon.get("/places/communities").status_code == 401
