"""Who reads what, over real HTTP: the part of the trail each reader gets (the same cases through
the API and the console), applicants' names as auditors see them, and what Open311 publishes."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
import requests
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.cli import main
from tests.api.conftest import PASSWORD, Client
from tests.api.test_supervisions import (
    cases_with_supervisions,
    fast_login,
    time_places,
)
from tests.conftest import open_case_as, walk
from workflow import users
from workflow.actors import Actor
from workflow.store.models import Case, TrailEvent

V2 = "/open311/v2"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


class Console:
    """A console session over real HTTP: signs in through the login form, as a browser does."""

    def __init__(self, base: str, name: str):
        self.base, self.http = base, requests.Session()
        page = self.http.get(f"{base}/console/login", timeout=30).text
        token = TOKEN.search(page)
        assert token, page
        r = self.http.post(
            f"{base}/console/login",
            data={"csrf_token": token.group(1), "username": name, "password": PASSWORD},
            allow_redirects=False,
            timeout=30,
        )
        assert r.status_code == 302, r.text

    def get(self, path: str, **params: str) -> requests.Response:
        return self.http.get(self.base + path, params=params, allow_redirects=False, timeout=30)


def open_at(
    sessions: sessionmaker[Session], workstation: str, item: str, *triggers: str, name: str
) -> int:
    """A case opened at WORKSTATION by its clerk and walked on by the same clerk."""
    clerk = Actor(f"clerk@{workstation}", workstation, "clerk")
    with sessions.begin() as s:
        case = open_case_as(
            s,
            item,
            workstation=workstation,
            actor=clerk,
            applicant_name=name,
            applicant_phone="13900002222",
        )
        walk(s, case.id, *((t, clerk) for t in triggers))
        return case.id


@dataclass
class Place:
    zhl: int  # a case of Zhuhai Road (S-ZHL), held by its workstation
    xgz: int  # a case of Hong Kong Middle Road (S-XGZ), forwarded to the department D-CL


@pytest.fixture
def place(sessions: sessionmaker[Session]) -> Place:
    zhl = open_at(sessions, "W-ZHL-01", "GA-03", name="王芳")
    xgz = open_at(sessions, "W-XGZ-01", "SW-06", "accept", "forward", name="李小红")
    with sessions() as s:
        assert s.get(Case, xgz).holder == "D-CL"  # type: ignore[union-attr]
    return Place(zhl, xgz)


# Who reads which part of the trail: (unit, role) -> the cases whose events they read, or None
# when they read no part at all (refused). The same table drives the API and the console.
READERS: dict[str, tuple[str, str, set[str] | None]] = {
    "district auditor": ("X-SN", "auditor", {"zhl", "xgz"}),
    "street auditor": ("S-ZHL", "auditor", {"zhl"}),
    "other street auditor": ("S-XGZ", "auditor", {"xgz"}),
    "department auditor": ("D-CL", "auditor", {"xgz"}),
    "street admin": ("S-ZHL", "admin", None),
    "other street admin": ("S-XGZ", "admin", None),
    "district admin": ("X-SN", "admin", None),
    "street staff": ("S-ZHL", "staff", None),
}


@pytest.mark.parametrize("reader", list(READERS))
def test_the_api_gives_each_reader_their_part_of_the_trail(
    reader: str, place: Place, login: Callable[..., Client]
) -> None:
    unit, role, reads = READERS[reader]
    c = login(unit, role)
    for key, case_id in (("zhl", place.zhl), ("xgz", place.xgz)):
        r = c.get("/audit/events", params={"case": case_id})
        if reads is None:
            assert r.status_code == 403, r.text
            continue
        assert r.status_code == 200, r.text
        got = r.json()["items"]
        assert bool(got) == (key in reads), (key, got)
        # Another street's events do not come back through a unit filter either.
        holder_unit = "W-ZHL-01" if key == "zhl" else "W-XGZ-01"
        by_unit = c.get("/audit/events", params={"unit": holder_unit}).json()
        assert (by_unit["total"] > 0) == (key in reads)
        # Nor through the case's own trail.
        assert c.get(f"/cases/{case_id}/trail").status_code == (200 if key in reads else 404)
    if reads is not None and reads != {"zhl", "xgz"}:
        # Everything a unit's auditor gets is of its cases or its own doing.
        mine = {place.zhl if k == "zhl" else place.xgz for k in reads}
        everything = c.get("/audit/events", params={"per_page": 1000}).json()["items"]
        assert everything
        assert all(e["case"] in mine or e["unit"] == unit for e in everything)


@pytest.mark.parametrize("reader", list(READERS))
def test_the_console_gives_each_reader_the_same_part(
    reader: str, place: Place, server: str, add_user: Callable[..., str]
) -> None:
    unit, role, reads = READERS[reader]
    c = Console(server, add_user(unit, role))
    for key, case_id in (("zhl", place.zhl), ("xgz", place.xgz)):
        link = f'href="/console/cases/{case_id}"'
        holder_unit = "W-ZHL-01" if key == "zhl" else "W-XGZ-01"
        for params in ({"case": str(case_id)}, {"unit": holder_unit}):
            r = c.get("/console/trail", **params)
            if reads is None:
                assert r.status_code == 403, r.text
                continue
            assert r.status_code == 200
            assert (link in r.text) == (key in reads), (key, params)
        if role == "auditor":
            page = c.get(f"/console/cases/{case_id}")
            assert page.status_code == (200 if key in reads else 404)


def test_only_the_districts_auditors_export_the_whole_trail(
    place: Place, server: str, add_user: Callable[..., str]
) -> None:
    district = Console(server, add_user("X-SN", "auditor"))
    r = district.get("/console/trail/export.jsonl")
    assert r.status_code == 200 and f'"case":{place.xgz}' in r.text
    street = Console(server, add_user("S-ZHL", "auditor"))
    assert "export.jsonl" not in street.get("/console/trail").text
    assert street.get("/console/trail/export.jsonl").status_code == 403


def test_an_auditors_supervisions_and_extensions_are_those_of_their_part(
    server: str, sessions: sessionmaker[Session]
) -> None:
    ws, agency = cases_with_supervisions(sessions)  # late stages of Zhuhai Road's cases
    ext = time_places(sessions)["ext"]  # a pending extension of a Zhuhai Road case
    login = fast_login(server, sessions)
    for unit, sees in (("X-SN", True), ("S-ZHL", True), ("S-XGZ", False), ("D-ZF", False)):
        c = login(unit, "auditor")  # D-ZF: the department never held these cases
        sups = {x["case"] for x in c.get("/supervisions").json()["items"]}
        assert ({ws, agency} <= sups) == sees and (sups == set()) == (not sees), unit
        exts = {x["id"] for x in c.get("/extensions").json()["items"]}
        assert exts == ({ext} if sees else set()), unit


# ---------------------------------------------------------------- names and auditors


def count_reads(sessions: sessionmaker[Session], case_id: int) -> int:
    with sessions() as s:
        return s.execute(
            select(func.count())
            .select_from(TrailEvent)
            .where(TrailEvent.case_id == case_id, TrailEvent.action == "case.personal_data_read")
        ).scalar_one()


def test_auditors_read_names_masked_on_the_api(
    place: Place, login: Callable[..., Client], sessions: sessionmaker[Session]
) -> None:
    auditor = login("X-SN", "auditor")
    listed = {c["id"]: c for c in auditor.get("/cases", params={"per_page": 100}).json()["items"]}
    assert listed[place.zhl]["applicant"]["name"] == "王*"
    assert listed[place.xgz]["applicant"]["name"] == "李**"
    one = auditor.get(f"/cases/{place.zhl}").json()
    assert one["applicant"] == {"name": "王*", "phone": "139****2222"}
    # Nothing personal was shown, so nothing is recorded as read.
    assert count_reads(sessions, place.zhl) == 0
    # The department's auditor sits in the holding unit: still no name, no phone.
    dept = login("D-CL", "auditor")
    one = dept.get(f"/cases/{place.xgz}").json()
    assert one["applicant"] == {"name": "李**", "phone": "139****2222"}
    assert "李小红" not in dept.get("/cases").text
    # Everyone else reads names as before, and a full read is still recorded.
    clerk = login("W-ZHL-01", "clerk")
    assert clerk.get(f"/cases/{place.zhl}").json()["applicant"]["name"] == "王芳"
    assert count_reads(sessions, place.zhl) == 1


def test_auditors_read_names_masked_on_the_console(
    place: Place, server: str, add_user: Callable[..., str], sessions: sessionmaker[Session]
) -> None:
    auditor = Console(server, add_user("X-SN", "auditor"))
    page = auditor.get(f"/console/cases/{place.zhl}").text
    assert "王芳" not in page and "王*" in page and "139****2222" in page
    # The department's auditor has the case in its unit's inbox: masked there too.
    dept = Console(server, add_user("D-CL", "auditor"))
    inbox = dept.get("/console/inbox").text
    assert f"#{place.xgz}" in inbox and "李小红" not in inbox and "李**" in inbox
    assert "李小红" not in dept.get(f"/console/cases/{place.xgz}").text
    assert count_reads(sessions, place.zhl) == count_reads(sessions, place.xgz) == 0
    clerk = Console(server, add_user("W-ZHL-01", "clerk"))
    assert "王芳" in clerk.get(f"/console/cases/{place.zhl}").text


# ---------------------------------------------------------------- Open311 publication


@pytest.fixture
def api_key(sessions: sessionmaker[Session]) -> str:
    with sessions.begin() as s:
        _, key = users.add_api_key(s, name="hotline-12345", actor="test")
    return key


def file_request(anon: Client, key: str) -> str:
    r = anon.post(
        f"{V2}/requests.json",
        data={
            "api_key": key,
            "service_code": "UD-01",
            "attribute[workstation]": "W-ZHL-01",
            "address_string": "珠海路 1 号",
            "first_name": "芳",
            "last_name": "王",
            "email": "wangfang@example.com",
        },
    )
    assert r.status_code == 201, r.text
    return str(r.json()[0]["service_request_id"])


def test_open311_publishes_only_what_was_filed_through_it(
    place: Place, anon: Client, api_key: str
) -> None:
    rid = file_request(anon, api_key)
    listed = [r["service_request_id"] for r in anon.get(f"{V2}/requests.json").json()]
    assert listed == [rid]
    xml = ET.fromstring(anon.get(f"{V2}/requests.xml").content)
    assert [e.text for e in xml.iter("service_request_id")] == [rid]
    assert anon.get(f"{V2}/requests/{rid}.json").status_code == 200
    for window_case in (place.zhl, place.xgz):
        for fmt in ("json", "xml"):
            r = anon.get(f"{V2}/requests/{window_case}.{fmt}")
            assert r.status_code == 404, r.text
        asked = anon.get(f"{V2}/requests.json", params={"service_request_id": str(window_case)})
        assert asked.json() == []
    # A window case is 404 exactly like no case at all: ids cannot be probed.
    missing = anon.get(f"{V2}/requests/{place.zhl}.json").json()
    assert missing == [{"code": 404, "description": f"no service request {place.zhl}"}]


def test_auditors_do_not_read_an_open311_residents_contact(
    anon: Client, api_key: str, login: Callable[..., Client]
) -> None:
    rid = file_request(anon, api_key)
    auditor = login("X-SN", "auditor")
    one = auditor.get(f"/cases/{rid}").json()
    assert one["applicant"]["name"] == "王**"  # filed as last and first name: "王 芳"
    assert one["form"]["open311"]["email"] == "***"
    assert one["form"]["open311"]["address_string"] == "珠海路 1 号"
    assert "wangfang@example.com" not in auditor.get(f"/cases/{rid}").text
    clerk = login("W-ZHL-01", "clerk")
    assert clerk.get(f"/cases/{rid}").json()["form"]["open311"]["email"] == "wangfang@example.com"


def test_no_open311_channel_may_be_called_window(env: Path) -> None:
    r = CliRunner().invoke(main, ["apikeys", "add", "window"])
    assert r.exit_code == 1, r.output
    assert "window" in r.output and "choose another name" in r.output
