"""Open311 GeoReport v2 with a real HTTP client: services, definitions, filing and following."""

from __future__ import annotations

from collections.abc import Callable
from xml.etree import ElementTree as ET

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.api.conftest import Client
from workflow import users
from workflow.store.models import Case, TrailEvent

V2 = "/open311/v2"


@pytest.fixture
def api_key(sessions: sessionmaker[Session]) -> str:
    with sessions.begin() as s:
        _, key = users.add_api_key(s, name="hotline-12345", actor="test")
    return key


def filing(key: str, **extra: str) -> dict[str, str]:
    return {
        "api_key": key,
        "service_code": "UD-01",
        "attribute[workstation]": "W-ZHL-01",
        "lat": "36.06",
        "long": "120.38",
        "first_name": "芳",
        "last_name": "王",
        "phone": "13800001111",
        "description": "人行道破损",
        **extra,
    }


def count_cases(sessions: sessionmaker[Session]) -> int:
    with sessions() as s:
        return s.execute(select(func.count()).select_from(Case)).scalar_one()


def test_discovery_and_services(anon: Client) -> None:
    d = anon.get(f"{V2}/discovery.json").json()
    assert d["endpoints"][0]["url"].endswith("/open311/v2")
    assert "application/json" in d["endpoints"][0]["formats"]
    services = anon.get(f"{V2}/services.json").json()
    assert len(services) == 13
    ud01 = next(s for s in services if s["service_code"] == "UD-01")
    assert ud01["metadata"] is True and ud01["type"] == "realtime" and ud01["service_name"]
    xml = ET.fromstring(anon.get(f"{V2}/services.xml").content)
    assert xml.tag == "services" and len(xml.findall("service")) == 13


def test_service_definition_has_the_workstation_attribute(anon: Client) -> None:
    r = anon.get(f"{V2}/services/UD-01.json")
    attrs = r.json()["attributes"]
    assert [a["code"] for a in attrs] == ["workstation"]
    a = attrs[0]
    assert a["required"] is False and a["datatype"] == "singlevaluelist" and a["variable"] is True
    assert len(a["values"]) == 50 and {"key", "name"} <= set(a["values"][0])
    x = ET.fromstring(anon.get(f"{V2}/services/UD-01.xml").content)
    assert x.find("attributes/attribute/code").text == "workstation"  # type: ignore[union-attr]
    assert len(x.findall("attributes/attribute/values/value")) == 50
    err = anon.get(f"{V2}/services/NOPE.json")
    assert err.status_code == 404 and err.json()[0]["code"] == 404


def test_file_and_follow_a_request(
    anon: Client, api_key: str, login: Callable[..., Client], sessions: sessionmaker[Session]
) -> None:
    r = anon.post(f"{V2}/requests.json", data=filing(api_key))
    assert r.status_code == 201, r.text
    rid = r.json()[0]["service_request_id"]
    assert r.json()[0]["service_notice"].startswith("expected by")
    # It is a case like one filed at the window, with the key's name as its channel.
    clerk = login("W-ZHL-01", "clerk")
    case = clerk.get(f"/cases/{rid}").json()
    assert case["state"] == "reported" and case["channel"] == "hotline-12345"
    assert case["applicant"] == {"name": "王 芳", "phone": "13800001111"}
    with sessions() as s:
        opened = s.execute(
            select(TrailEvent).where(
                TrailEvent.case_id == int(rid), TrailEvent.action == "case.opened"
            )
        ).scalar_one()
    assert opened.actor == "hotline-12345" and opened.data["channel"] == "hotline-12345"

    one = anon.get(f"{V2}/requests/{rid}.json").json()
    assert len(one) == 1
    req = one[0]
    assert req["status"] == "open" and req["service_code"] == "UD-01"
    assert req["agency_responsible"] == "香港花园社区工作站"
    assert "reported" in req["status_notes"]
    assert req["lat"] == 36.06 and req["description"] is None
    assert "13800001111" not in anon.get(f"{V2}/requests/{rid}.json").text

    # The case moves on: status_notes and agency_responsible follow it.
    for trigger in ("accept", "forward"):
        assert clerk.post(f"/cases/{rid}/transitions", json={"trigger": trigger}).status_code == 200
    req = anon.get(f"{V2}/requests/{rid}.json").json()[0]
    assert req["agency_responsible"] == "珠海路街道" and "street_handling" in req["status_notes"]
    street = login("S-ZHL", "staff")
    assert street.post(f"/cases/{rid}/transitions", json={"trigger": "resolve"}).status_code == 200
    assert clerk.post(f"/cases/{rid}/transitions", json={"trigger": "confirm"}).status_code == 200
    req = anon.get(f"{V2}/requests/{rid}.json").json()[0]
    assert req["status"] == "closed" and req["agency_responsible"] == "香港花园社区工作站"

    listed = anon.get(f"{V2}/requests.json").json()
    assert [x["service_request_id"] for x in listed] == [rid]
    assert anon.get(f"{V2}/requests.json", params={"status": "open"}).json() == []
    assert (
        len(anon.get(f"{V2}/requests.json", params={"service_request_id": f"{rid},999"}).json())
        == 1
    )
    xml = ET.fromstring(anon.get(f"{V2}/requests/{rid}.xml").content)
    assert xml.tag == "service_requests"
    assert xml.find("request/status").text == "closed"  # type: ignore[union-attr]


def test_post_xml_answer(anon: Client, api_key: str) -> None:
    r = anon.post(f"{V2}/requests.xml", data=filing(api_key))
    assert r.status_code == 201 and r.headers["Content-Type"].startswith("text/xml")
    x = ET.fromstring(r.content)
    assert x.find("request/service_request_id").text.isdigit()  # type: ignore[union-attr]


# A bad filing, and the status GeoReport v2 gives it.
BAD_FILINGS: list[tuple[dict[str, str], int]] = [
    ({"api_key": ""}, 403),
    ({"api_key": "forged"}, 403),
    ({"service_code": ""}, 400),
    ({"service_code": "NOPE"}, 404),
    # No workstation and a point outside the district: nowhere to place it.
    ({"attribute[workstation]": "", "lat": "", "long": ""}, 400),
    ({"attribute[workstation]": "S-ZHL"}, 400),
    ({"lat": "", "long": ""}, 400),
    ({"lat": "north", "long": "1"}, 400),
    ({"first_name": "", "last_name": ""}, 400),
    ({"phone": "1" * 100}, 400),
]


def test_post_errors_change_nothing(
    anon: Client, api_key: str, sessions: sessionmaker[Session]
) -> None:
    for change, status in BAD_FILINGS:
        r = anon.post(f"{V2}/requests.json", data={**filing(api_key), **change})
        assert r.status_code == status, (change, r.text)
        body = r.json()
        assert body[0]["code"] == status and body[0]["description"], change
        x = anon.post(f"{V2}/requests.xml", data={**filing(api_key), **change})
        assert x.status_code == status, change
        code = ET.fromstring(x.content).find("error/code")
        assert code is not None and code.text == str(status), change
    assert count_cases(sessions) == 0


def test_read_errors(anon: Client) -> None:
    assert anon.get(f"{V2}/requests/abc.json").status_code == 404
    assert anon.get(f"{V2}/requests/999.json").json()[0]["code"] == 404
    r = anon.get(f"{V2}/requests.json", params={"start_date": "yesterday"})
    assert r.status_code == 400 and r.json()[0]["code"] == 400
    assert anon.get(f"{V2}/requests.json", params={"status": "maybe"}).status_code == 400
    r = anon.get(f"{V2}/nothing.json")
    assert r.status_code == 404 and r.json()[0]["code"] == 404
    r = anon.request("DELETE", f"{V2}/services.json")
    assert r.status_code == 405 and r.json()[0]["code"] == 405


def test_disabled_key_is_refused(
    anon: Client, api_key: str, sessions: sessionmaker[Session]
) -> None:
    from sqlalchemy import update

    from workflow.store.models import ApiKey

    with sessions.begin() as s:
        s.execute(update(ApiKey).values(disabled=True))
    assert anon.post(f"{V2}/requests.json", data=filing(api_key)).status_code == 403
