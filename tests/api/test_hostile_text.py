"""The one text policy, on every interface: a lone surrogate, a C0 control character (other than
tab, newline and carriage return), DEL or NUL in any text field is refused with the field named
(422 on the API, 400 in Open311's format, the form's error on the console), nothing is stored,
no request gets a 500, and the public Open311 XML stays well-formed."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from typing import Any
from xml.etree import ElementTree as ET

import pytest
import requests
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from tests.api.conftest import PASSWORD, Client
from tests.api.test_hostile import assert_problem, snapshot
from workflow import users
from workflow.store.models import Assessment, Case, Extension, TrailEvent

BAD = {
    "a lone surrogate": "王\ud800芳",
    "a control character": "王\x01芳",
    "an escape": "路灯\x1b[31m不亮",
    "NUL": "王\x00芳",
}
V2 = "/open311/v2"
CASE = {
    "item": "UD-01",
    "workstation": "W-ZHL-01",
    "applicant": {"name": "王芳", "phone": "13912345678"},
}


def stored(sessions: sessionmaker[Session]) -> tuple[Any, ...]:
    with sessions() as s:
        return (
            *snapshot(sessions),
            s.execute(select(func.count()).select_from(Extension)).scalar_one(),
            s.execute(select(func.count()).select_from(Assessment)).scalar_one(),
        )


def changes(sessions: sessionmaker[Session]) -> tuple[Any, ...]:
    """What a refused form must not change: cases, extensions, and trail events other than the
    record of a page's read."""
    with sessions() as s:
        return (
            s.execute(select(func.count()).select_from(Case)).scalar_one(),
            s.execute(select(func.sum(Case.version))).scalar_one(),
            s.execute(select(func.count()).select_from(Extension)).scalar_one(),
            s.execute(
                select(func.count())
                .select_from(TrailEvent)
                .where(TrailEvent.action != "case.personal_data_read")
            ).scalar_one(),
        )


def test_good_text_is_kept_exactly(login: Callable[..., Client]) -> None:
    """Tabs, newlines, carriage returns and any real character pass untouched."""
    clerk = login("W-ZHL-01", "clerk")
    text = "第一行\r\n第二行\tend 😀 \u200b ﹏"
    r = clerk.post("/cases", json={**CASE, "description": text})
    assert r.status_code == 201, r.text
    assert r.json()["description"] == text


def test_api_refuses_bad_text_in_every_field(
    login: Callable[..., Client], make_case: Callable[..., int], sessions: sessionmaker[Session]
) -> None:
    clerk, staff = login("W-ZHL-01", "clerk"), login("S-ZHL", "staff")
    admin = login("S-ZHL", "admin")
    live = make_case("UD-01", "accept")
    before = stored(sessions)
    for what, bad in BAD.items():
        # (client, path, body, the field the answer must name)
        attempts: list[tuple[Client, str, dict[str, Any], str]] = [
            (clerk, "/cases", {**CASE, "applicant": {"name": bad}}, "applicant.name"),
            (
                clerk,
                "/cases",
                {**CASE, "applicant": {"name": "王芳", "phone": bad}},
                "applicant.phone",
            ),
            (clerk, "/cases", {**CASE, "description": bad}, "description"),
            (clerk, "/cases", {**CASE, "form": {"materials": ["身份证", bad]}}, "form.materials.1"),
            (clerk, "/cases", {**CASE, "item": bad}, "item"),
            (
                clerk,
                f"/cases/{live}/transitions",
                {"trigger": "forward", "reason": bad},
                "reason",
            ),
            (
                clerk,
                f"/cases/{live}/transitions",
                {"trigger": "complete", "data": {"notes": {"site": ["ok", bad]}}},
                "data.notes.site.1",
            ),
            (
                clerk,
                f"/cases/{live}/transitions",
                {"trigger": "complete", "data": {bad: 1}},
                "data",
            ),
            (clerk, f"/cases/{live}/transitions", {"trigger": bad}, "trigger"),
            (
                clerk,
                f"/cases/{live}/feedback",
                {"level": 5, "resolved": True, "channel": "phone", "comment": bad},
                "comment",
            ),
            (clerk, f"/cases/{live}/extensions", {"reason": bad, "days": 2}, "reason"),
            (
                admin,
                "/appraisals/assessments",
                {"unit": "A-ZHL-PCS", "period": "2026-11", "score": 90, "comment": bad},
                "comment",
            ),
            (
                admin,
                "/routes/validate",
                {
                    "name": "x",
                    "title_zh": bad,
                    "title_en": "x",
                    "initial": "a",
                    "states": {},
                    "transitions": [],
                },
                "title_zh",
            ),
            (staff, "/auth/token", {"username": bad, "password": PASSWORD}, "username"),
        ]
        for client, path, body, field in attempts:
            r = client.post(path, json=body)
            assert_problem(r, 422, f"{what} in {field}")
            assert field in r.json()["errors"], (what, field, r.json())
            assert field in r.json()["detail"]
        if what != "a lone surrogate":  # a URL cannot carry one
            r = clerk.get("/cases", params={"state": bad})
            assert_problem(r, 422, f"{what} in a query")
            assert "state" in r.json()["errors"]
    r = clerk.post(
        f"/cases/{live}/transitions",
        json={"trigger": "forward", "reason": "转街道"},
        headers={"Idempotency-Key": "key\x01"},
    )
    assert_problem(r, 422, "a control character in Idempotency-Key")
    assert "Idempotency-Key" in r.json()["errors"]
    assert stored(sessions) == before


def _console_login(server: str, name: str) -> tuple[requests.Session, str]:
    http = requests.Session()
    page = http.get(f"{server}/console/login", timeout=30).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    r = http.post(
        f"{server}/console/login",
        data={"csrf_token": token.group(1), "username": name, "password": PASSWORD},
        allow_redirects=False,
        timeout=30,
    )
    assert r.status_code == 302, r.text
    # Sign-in starts a fresh session: the forms from now on carry its token.
    home = http.get(f"{server}{r.headers['Location']}", timeout=30).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', home)
    assert token
    return http, token.group(1)


def test_console_forms_refuse_bad_text(
    server: str,
    add_user: Callable[..., str],
    make_case: Callable[..., int],
    sessions: sessionmaker[Session],
) -> None:
    # Forms cannot carry a lone surrogate (a browser sends UTF-8); everything else can.
    live = make_case("UD-01", "accept")
    http, token = _console_login(server, add_user("W-ZHL-01", "clerk"))
    before = changes(sessions)
    for what, bad in BAD.items():
        if what == "a lone surrogate":
            continue
        case_page = f"{server}/console/cases/{live}"
        posts = [
            (
                f"{server}/console/cases/new",
                {"item": "UD-01", "name": bad, "phone": "13912345678", "description": "x"},
                "name",
            ),
            (
                f"{server}/console/cases/new",
                {"item": "UD-01", "name": "王芳", "phone": "13912345678", "description": bad},
                "description",
            ),
            (
                f"{case_page}/fire",
                {"trigger": "forward", "version": "2", "reason": bad},
                "reason",
            ),
            (f"{case_page}/extension", {"days": "2", "reason": bad}, "reason"),
        ]
        for url, form, field in posts:
            r = http.post(
                url,
                data={"csrf_token": token, **form},
                headers={"Referer": case_page},
                timeout=30,
            )
            assert r.status_code in (200, 422), (what, field, r.status_code)
            assert f"{field}: contains" in r.text and "不允许的字符" in r.text, (what, field)
        r = http.get(f"{server}/console/inbox", params={"light": bad}, timeout=30)
        assert r.status_code == 422 and "light" in r.text
    assert changes(sessions) == before


def test_console_trail_filter_refuses_bad_text(server: str, add_user: Callable[..., str]) -> None:
    http, _ = _console_login(server, add_user("X-SN", "auditor"))
    r = http.get(f"{server}/console/trail", params={"actor": "a\x00b"}, timeout=30)
    assert r.status_code in (400, 422) and "Traceback" not in r.text
    r = http.get(f"{server}/console/trail", params={"actor": "a\x07b"}, timeout=30)
    assert r.status_code == 422 and "actor" in r.text


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
        "address_string": "珠海路 1 号",
        "first_name": "芳",
        "last_name": "王",
        "description": "人行道破损",
        **extra,
    }


OPEN311_FIELDS = (
    "first_name",
    "last_name",
    "description",
    "address_string",
    "email",
    "media_url",
    "phone",
    "attribute[workstation]",
)


def test_open311_refuses_bad_text_and_its_xml_stays_valid(
    anon: Client, api_key: str, sessions: sessionmaker[Session]
) -> None:
    before = stored(sessions)
    for what, bad in BAD.items():
        for field in OPEN311_FIELDS:
            # As JSON (the only way to send a lone surrogate) and as a form.
            sends = [{"json": filing(api_key, **{field: bad})}]
            if what != "a lone surrogate":
                sends.append({"data": filing(api_key, **{field: bad})})
            for kwargs in sends:
                r = anon.post(f"{V2}/requests.json", **kwargs)
                assert r.status_code == 400, (what, field, r.status_code, r.text[:200])
                error = r.json()[0]
                assert error["code"] == 400 and error["description"].startswith(field), error
        if what != "a lone surrogate":  # a URL cannot carry one
            r = anon.get(f"{V2}/requests.xml", params={"status": bad})
            assert r.status_code == 400 and ET.fromstring(r.content).tag == "errors"
    assert stored(sessions) == before
    assert anon.post(f"{V2}/requests.json", data=filing(api_key)).status_code == 201
    ET.fromstring(anon.get(f"{V2}/requests.xml").content)  # well-formed


def test_open311_xml_survives_text_stored_before_the_policy(
    anon: Client, api_key: str, sessions: sessionmaker[Session]
) -> None:
    """A row written before the policy (or behind the service's back) with a control character
    does not break the public list for everyone."""
    r = anon.post(f"{V2}/requests.json", data=filing(api_key))
    rid = int(r.json()[0]["service_request_id"])
    with sessions.begin() as s:
        s.execute(
            update(Case)
            .where(Case.id == rid)
            .values(form={"open311": {"address_string": "珠海路\x01\x0b1 号"}})
        )
    root = ET.fromstring(anon.get(f"{V2}/requests.xml").content)
    address = root.find("request/address")
    assert address is not None and address.text == "珠海路\ufffd\ufffd1 号"


def test_a_list_spreadsheet_with_a_control_character_is_refused(
    login: Callable[..., Client], sessions: sessionmaker[Session]
) -> None:
    """The list's names reach every page and the Open311 XML: a cell with a control character
    is a bad row, named, and nothing is published."""
    admin = login("X-SN", "admin")  # the district publishes the list
    sheet = admin.get("/list/export", params={"format": "csv"})
    assert sheet.status_code == 200
    lines = sheet.content.decode("utf-8").splitlines()
    lines[1] = lines[1].replace(",", ",\x01", 2)
    bad = "\n".join(lines).encode("utf-8")
    body = {"filename": "list.csv", "content_base64": base64.b64encode(bad).decode()}
    before = stored(sessions)
    for dry_run in (True, False):
        r = admin.post("/list/import", json={**body, "dry_run": dry_run})
        assert_problem(r, 422, "a control character in a list cell")
        assert any("control character" in m for ms in r.json()["errors"].values() for m in ms)
    assert stored(sessions) == before
