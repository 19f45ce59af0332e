"""Routing by place: Open311 and POST /cases without a workstation land at the community that
contains the point (or matches the address); what cannot be placed is refused and changes
nothing. Points come from the shipped definitions (definitions/places/)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable

import pytest
from shapely.geometry import shape
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.api.conftest import Client
from workflow import users
from workflow.config import DEFAULT_DEFINITIONS
from workflow.store.models import Case, TrailEvent

V2 = "/open311/v2"
FEATURES = json.loads((DEFAULT_DEFINITIONS / "places" / "communities.geojson").read_text("utf-8"))[
    "features"
]


def boundary(code: str) -> object:
    return next(shape(f["geometry"]) for f in FEATURES if f["properties"]["workstation"] == code)


def shared_corner() -> tuple[float, float, list[str]]:
    """(lat, long, workstations) of a boundary vertex two or more communities share."""
    seen: Counter[tuple[float, float]] = Counter()
    owners: dict[tuple[float, float], set[str]] = {}
    for f in FEATURES:
        for x, y in f["geometry"]["coordinates"][0][:-1]:
            seen[(x, y)] += 1
            owners.setdefault((x, y), set()).add(f["properties"]["workstation"])
    (x, y), _ = next((p, n) for p, n in sorted(seen.items()) if len(owners[p]) >= 2)
    return y, x, sorted(owners[(x, y)])


@pytest.fixture
def api_key(sessions: sessionmaker[Session]) -> str:
    with sessions.begin() as s:
        _, key = users.add_api_key(s, name="hotline-12345", actor="test")
    return key


def filing(key: str, **extra: str) -> dict[str, str]:
    return {
        "api_key": key,
        "service_code": "UD-01",
        "first_name": "芳",
        "last_name": "王",
        "phone": "13800001111",
        "description": "人行道破损",
        **extra,
    }


def landed(sessions: sessionmaker[Session], rid: str) -> Case:
    with sessions() as s:
        case = s.get(Case, int(rid))
        assert case is not None
        s.expunge(case)
        return case


def test_a_point_inside_lands_at_its_community(
    anon: Client, api_key: str, sessions: sessionmaker[Session]
) -> None:
    inside = boundary("W-XGZ-04").representative_point()  # type: ignore[attr-defined]
    r = anon.post(
        f"{V2}/requests.json",
        data=filing(api_key, lat=str(inside.y), long=str(inside.x)),
    )
    assert r.status_code == 201, r.text
    rid = r.json()[0]["service_request_id"]
    case = landed(sessions, rid)
    assert case.workstation == "W-XGZ-04" and case.street == "S-XGZ"
    assert (case.lat, case.long) == (inside.y, inside.x)
    # The public request shows the point as GeoReport v2 numbers.
    req = anon.get(f"{V2}/requests/{rid}.json").json()[0]
    assert (req["lat"], req["long"]) == (inside.y, inside.x)
    assert req["agency_responsible"] == "南京路社区工作站"
    with sessions() as s:
        opened = s.execute(
            select(TrailEvent).where(
                TrailEvent.case_id == int(rid), TrailEvent.action == "case.opened"
            )
        ).scalar_one()
    assert opened.data["placed_by"] == "point" and opened.data["places_version"] >= 1


def test_a_point_on_a_shared_edge_lands_at_the_lowest_code(
    anon: Client, api_key: str, sessions: sessionmaker[Session]
) -> None:
    lat, long, owners = shared_corner()
    r = anon.post(f"{V2}/requests.json", data=filing(api_key, lat=str(lat), long=str(long)))
    assert r.status_code == 201, r.text
    assert landed(sessions, r.json()[0]["service_request_id"]).workstation == owners[0]


def test_an_address_only_lands_by_the_table(
    anon: Client, api_key: str, sessions: sessionmaker[Session]
) -> None:
    # The odd numbers 201-399 of Hong Kong Middle Road go to W-XGZ-02, the even to W-XGZ-03.
    for address, expected in (
        ("香港中路 ２０１号", "W-XGZ-02"),
        ("青岛市市南区香港中路202号", "W-XGZ-03"),
        ("香港花园3号楼2单元", "W-ZHL-01"),
    ):
        r = anon.post(f"{V2}/requests.json", data=filing(api_key, address_string=address))
        assert r.status_code == 201, (address, r.text)
        case = landed(sessions, r.json()[0]["service_request_id"])
        assert case.workstation == expected, address
        assert case.address == address.strip() and case.lat is None


def test_a_named_workstation_wins_over_the_point(
    anon: Client, api_key: str, sessions: sessionmaker[Session]
) -> None:
    inside = boundary("W-XGZ-04").representative_point()  # type: ignore[attr-defined]
    r = anon.post(
        f"{V2}/requests.json",
        data=filing(
            api_key, lat=str(inside.y), long=str(inside.x), **{"attribute[workstation]": "W-ZHL-01"}
        ),
    )
    assert r.status_code == 201
    case = landed(sessions, r.json()[0]["service_request_id"])
    assert case.workstation == "W-ZHL-01" and case.lat == inside.y


@pytest.mark.parametrize(
    "where",
    [
        {"lat": "35.0", "long": "119.0"},  # outside the district
        {"lat": "36.039", "long": "120.35"},  # just south of its extent
        {"address_string": "北京市东城区某某胡同1号"},
        {"address_string": "香港中路"},  # a road split between communities, no number
    ],
)
def test_what_cannot_be_placed_goes_to_the_dispatch_queue(
    anon: Client,
    api_key: str,
    login: Callable[..., Client],
    sessions: sessionmaker[Session],
    where: dict[str, str],
) -> None:
    r = anon.post(f"{V2}/requests.json", data=filing(api_key, **where))
    assert r.status_code == 201, r.text
    case = landed(sessions, r.json()[0]["service_request_id"])
    assert case.state == "awaiting_dispatch" and case.holder == "H-SN"
    # The dispatcher finds it in the queue, with where the resident said it was.
    queue = login("H-SN", "dispatcher").get("/dispatch").json()["items"]
    assert [c["id"] for c in queue] == [case.id]
    if "lat" in where:
        assert case.lat == float(where["lat"]) and case.long == float(where["long"])
    else:
        assert case.address == where["address_string"]


def test_the_service_definition_makes_the_workstation_optional(anon: Client) -> None:
    attrs = anon.get(f"{V2}/services/UD-01.json").json()["attributes"]
    assert attrs[0]["code"] == "workstation" and attrs[0]["required"] is False


def test_post_cases_by_place_for_the_clerk_of_that_community(
    login: Callable[..., Client], sessions: sessionmaker[Session]
) -> None:
    clerk = login("W-XGZ-04", "clerk")
    inside = boundary("W-XGZ-04").representative_point()  # type: ignore[attr-defined]
    body = {"item": "UD-01", "applicant": {"name": "王芳"}, "lat": inside.y, "long": inside.x}
    r = clerk.post("/cases", json={**body, "address": "南京路 8 号"})
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["workstation"] == "W-XGZ-04"
    assert case["location"] == {"lat": inside.y, "long": inside.x, "address": "南京路 8 号"}
    got = clerk.get(f"/cases/{case['id']}").json()
    assert got["location"]["address"] == "南京路 8 号"
    # Another community's point: this clerk does not open cases there.
    other = boundary("W-ZHL-01").representative_point()  # type: ignore[attr-defined]
    r = clerk.post("/cases", json={**body, "lat": other.y, "long": other.x})
    assert r.status_code == 403 and r.headers["Content-Type"] == "application/problem+json"


def test_post_cases_sends_what_cannot_be_placed_to_the_queue_and_refuses_bad_places(
    login: Callable[..., Client], sessions: sessionmaker[Session]
) -> None:
    clerk = login("W-XGZ-04", "clerk")
    base = {"item": "UD-01", "applicant": {"name": "王芳"}}
    r = clerk.post("/cases", json={**base, "lat": 35.0, "long": 119.0})
    assert r.status_code == 201, r.text
    assert r.json()["state"] == "awaiting_dispatch" and r.json()["holder"]["code"] == "H-SN"
    r = clerk.post("/cases", json=base)
    assert r.status_code == 422 and "workstation" in r.json()["errors"]
    r = clerk.post("/cases", json={**base, "lat": 36.06})
    assert r.status_code == 422 and "long" in r.json()["errors"]
    r = clerk.post("/cases", json={**base, "lat": 91, "long": 120})
    assert r.status_code == 422
    with sessions() as s:  # the refusals changed nothing: only the queued case is there
        assert s.execute(select(func.count()).select_from(Case)).scalar_one() == 1
