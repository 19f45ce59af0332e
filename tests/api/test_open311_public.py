"""Open311 publishes only the items residents may file from an app (the list's `public` column),
and asks for a place only where the item needs one."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.api.conftest import Client
from workflow import users
from workflow.store.models import Case

V2 = "/open311/v2"


@pytest.fixture
def api_key(sessions: sessionmaker[Session]) -> str:
    with sessions.begin() as s:
        _, key = users.add_api_key(s, name="app-12345", actor="test")
    return key


def filing(key: str, code: str, **extra: str) -> dict[str, str]:
    return {
        "api_key": key,
        "service_code": code,
        "attribute[workstation]": "W-ZHL-01",
        "first_name": "芳",
        "last_name": "王",
        "phone": "13800001111",
        **extra,
    }


def count_cases(sessions: sessionmaker[Session]) -> int:
    with sessions() as s:
        return s.execute(select(func.count()).select_from(Case)).scalar_one()


def test_only_public_items_are_services(anon: Client) -> None:
    codes = {s["service_code"] for s in anon.get(f"{V2}/services.json").json()}
    assert {"UD-01", "PS-05", "PS-01", "UD-05"} <= codes
    # Applications need the window (or the party committee): not offered to an app.
    assert not codes & {"SW-02", "PB-03", "PB-01", "GA-01"}
    assert anon.get(f"{V2}/services/PB-03.json").status_code == 404
    assert anon.get(f"{V2}/services/UD-01.json").status_code == 200


def test_a_non_public_item_cannot_be_filed(
    anon: Client, api_key: str, sessions: sessionmaker[Session]
) -> None:
    before = count_cases(sessions)
    r = anon.post(f"{V2}/requests.json", data=filing(api_key, "SW-02", lat="36", long="120"))
    assert r.status_code == 404
    assert "no service 'SW-02'" in r.json()[0]["description"]
    assert count_cases(sessions) == before


def test_a_mediation_request_needs_no_location_and_goes_to_the_mediation_committee(
    anon: Client, api_key: str
) -> None:
    r = anon.post(f"{V2}/requests.json", data=filing(api_key, "PS-01", description="邻里纠纷"))
    assert r.status_code == 201, r.text
    rid = r.json()[0]["service_request_id"]
    req = anon.get(f"{V2}/requests/{rid}.json").json()[0]
    assert req["agency_responsible"] == "香港花园社区人民调解委员会"


def test_an_incident_still_needs_a_place(
    anon: Client, api_key: str, sessions: sessionmaker[Session]
) -> None:
    before = count_cases(sessions)
    r = anon.post(f"{V2}/requests.json", data=filing(api_key, "UD-01"))
    assert r.status_code == 400
    assert "a location is required" in r.json()[0]["description"]
    assert count_cases(sessions) == before
