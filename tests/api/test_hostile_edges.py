"""Values at the edge: numbers beyond the database's integers, dates at the edge of time,
periods no calendar holds, CR/LF in a redirect target, bodies too large (sent whole or chunked),
transition data too large to keep for ever, Open311 fields without a length, and an appraisal
assessment of a month that has not begun. Each is refused with a clear error and changes
nothing; none is a 500."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.cli import main
from tests.api.conftest import PASSWORD, Client
from tests.api.test_hostile import assert_problem, snapshot
from tests.api.test_hostile_text import _console_login, api_key, filing  # noqa: F401
from workflow.inputs import MAX_DATA_BYTES
from workflow.store.models import Assessment, TrailEvent
from workflow.users import add_user

HUGE = 10**20
V2 = "/open311/v2"


def test_api_numbers_dates_and_periods_out_of_range(
    login: Callable[..., Client], sessions: sessionmaker[Session]
) -> None:
    auditor, admin = login("X-SN", "auditor"), login("S-ZHL", "admin")
    before = snapshot(sessions)
    gets = [
        (auditor, "/audit/events", {"after": 2**64}),
        (auditor, "/audit/events", {"after": -1}),
        (auditor, "/audit/events", {"per_page": HUGE}),
        (auditor, "/audit/events", {"case": HUGE}),
        (auditor, "/audit/events", {"from": "0001-01-01T00:00:00+14:00"}),
        (auditor, "/audit/events", {"to": "9999-12-31T23:59:59-12:00"}),
        (auditor, "/appraisals", {"period": "9999-12"}),
        (auditor, "/appraisals", {"period": "0000-01"}),
        (auditor, "/cases", {"per_page": HUGE}),
        (admin, "/list/export", {"version": HUGE}),
        (admin, "/routes/incident/diagram.svg", {"version": HUGE}),
        (admin, "/supervisions", {"case": HUGE}),
        (admin, "/extensions", {"case": HUGE}),
    ]
    for client, path, params in gets:
        assert_problem(client.get(path, params=params), 422, f"{path} {params}")
    posts = [
        (admin, "/routes/incident/migrations", {"from_version": HUGE, "to_version": 1}),
        (admin, "/routes/incident/migrations", {"from_version": 1, "to_version": HUGE}),
        (
            admin,
            "/routes/incident/migrations",
            {"from_version": 1, "to_version": 1, "list_version": HUGE, "dry_run": False},
        ),
        (auditor, "/appraisals", {"period": "9999-12"}),
        (
            admin,
            "/appraisals/assessments",
            {"unit": "A-ZHL-PCS", "period": "9999-12", "score": 90, "comment": "好"},
        ),
    ]
    for client, path, body in posts:
        r = client.post(path, json=body)
        assert_problem(r, 422, f"{path} {body}")
    for path in (
        f"/supervisions/{HUGE}/acknowledgement",
        f"/extensions/{HUGE}/decision",
        f"/cases/{HUGE}/feedback",
        f"/ratings/{HUGE}/appeal",
        f"/appeals/{HUGE}/decision",
        f"/rectifications/{HUGE}/report",
        f"/cases/{HUGE}/extensions",
    ):
        assert_problem(admin.post(path, json={}), 404, path)
    assert_problem(auditor.get(f"/appraisals/{HUGE}"), 404, "record id")
    assert_problem(auditor.get(f"/cases/{HUGE}/trail"), 404, "case id")
    r = auditor.get("/audit/events", params={"after": 2**63 - 1})
    assert r.status_code == 200 and r.json()["items"] == []
    assert snapshot(sessions) == before


def test_open311_dates_at_the_edge_of_time(anon: Client) -> None:
    for params in (
        {"start_date": "0001-01-01T00:00:00+14:00"},
        {"end_date": "9999-12-31T23:59:59-12:00"},
        {"start_date": "9999-12-31T23:59:59Z"},
        {"end_date": "0001-01-01"},
    ):
        for fmt in ("json", "xml"):
            r = anon.get(f"{V2}/requests.{fmt}", params=params)
            assert r.status_code == 400, (params, r.text[:200])
            assert "between 1900-01-01 and 2999-12-31" in r.text
    r = anon.get(f"{V2}/requests.json", params={"start_date": "1970-01-01T00:00:00Z"})
    assert r.status_code == 200


@pytest.fixture
def auditor_console(server: str, add_user: Callable[..., str]) -> requests.Session:
    return _console_login(server, add_user("X-SN", "auditor"))[0]


def test_console_dates_periods_and_versions_out_of_range(
    server: str, auditor_console: requests.Session, add_user: Callable[..., str]
) -> None:
    http = auditor_console
    for params in ({"from": "0001-01-01"}, {"to": "9999-12-31"}, {"from": "9999-12-31"}):
        r = http.get(f"{server}/console/trail", params=params, timeout=30)
        assert r.status_code == 422, (params, r.status_code)
        assert "1900-01-01" in r.text and "2999-12-31" in r.text
    r = http.get(f"{server}/console/trail", params={"from": "2026-01-01"}, timeout=30)
    assert r.status_code == 200
    for period in ("9999-12", "0001-01"):
        r = http.get(f"{server}/console/appraisal", params={"period": period}, timeout=30)
        assert r.status_code == 400 and "2999-12" in r.text, period
    admin, token = _console_login(server, add_user("S-ZHL", "admin"))
    r = admin.post(
        f"{server}/console/appraisal/compute",
        data={"csrf_token": token, "period": "9999-12"},
        timeout=30,
    )
    assert r.status_code == 400 and "2999-12" in r.text
    r = admin.get(f"{server}/console/admin/routes/incident", params={"version": HUGE}, timeout=30)
    assert r.status_code == 404


def test_crlf_in_next_is_no_header(server: str, add_user: Callable[..., str]) -> None:
    evil = "/console/inbox\r\nSet-Cookie: owned=1"
    http = requests.Session()
    r = http.get(f"{server}/console/lang/en", params={"next": evil}, allow_redirects=False)
    assert r.status_code == 302
    assert r.headers["Location"].endswith("/console/inbox") and "owned" not in r.headers.get(
        "Set-Cookie", ""
    )
    page = http.get(f"{server}/console/login", params={"next": evil}, timeout=30)
    assert page.status_code == 200
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    r = http.post(
        f"{server}/console/login",
        data={
            "csrf_token": token.group(1),
            "username": add_user("W-ZHL-01", "clerk"),
            "password": PASSWORD,
            "next": evil,
        },
        allow_redirects=False,
        timeout=30,
    )
    assert r.status_code == 302 and r.headers["Location"].endswith("/console/inbox")
    assert "owned" not in r.headers.get("Set-Cookie", "")


def test_transition_data_is_bounded(
    login: Callable[..., Client], make_case: Callable[..., int], sessions: sessionmaker[Session]
) -> None:
    live = make_case("UD-01", "accept")
    clerk = login("W-ZHL-01", "clerk")
    before = snapshot(sessions)
    big = {"trigger": "forward", "reason": "转街道", "data": {"blob": "x" * 900_000}}
    r = clerk.post(f"/cases/{live}/transitions", json=big)
    assert_problem(r, 422, "900 KB of data")
    assert r.json()["errors"]["data"] == [f"at most {MAX_DATA_BYTES} bytes as JSON"]
    just_over = {"trigger": "forward", "data": {"blob": "x" * MAX_DATA_BYTES}}
    assert_problem(clerk.post(f"/cases/{live}/transitions", json=just_over), 422, "just over")
    form = {"item": "UD-01", "workstation": "W-ZHL-01", "applicant": {"name": "王芳"}}
    r = clerk.post("/cases", json={**form, "form": {"blob": "x" * 20_000}})
    assert_problem(r, 422, "a form too large")
    assert "form" in r.json()["errors"]
    assert snapshot(sessions) == before
    fits = {"trigger": "forward", "reason": "转街道", "data": {"note": "现场" * 2000}}
    r = clerk.post(f"/cases/{live}/transitions", json=fits)
    assert r.status_code == 200, r.text
    with sessions() as s:
        last = s.execute(select(TrailEvent).order_by(TrailEvent.seq.desc()).limit(1)).scalar_one()
        assert last.data["input"] == {"note": "现场" * 2000}


def _chunks(size: int) -> Iterator[bytes]:
    body = json.dumps({"trigger": "forward", "reason": "x" * size}).encode()
    for i in range(0, len(body), 64 * 1024):
        yield body[i : i + 64 * 1024]


def test_a_chunked_body_over_the_limit_is_413(
    login: Callable[..., Client], make_case: Callable[..., int], sessions: sessionmaker[Session]
) -> None:
    live = make_case("UD-01", "accept")
    clerk = login("W-ZHL-01", "clerk")
    before = snapshot(sessions)
    headers = {"Content-Type": "application/json"}
    r = clerk.post(
        f"/cases/{live}/transitions", data=_chunks(1024 * 1024 + 10_000), headers=headers
    )
    assert_problem(r, 413, "a chunked body over 1 MiB")
    assert snapshot(sessions) == before
    # A chunked body under the limit is read whole.
    r = clerk.post(f"/cases/{live}/transitions", data=_chunks(3000), headers=headers)
    assert r.status_code == 200, r.text


def test_open311_fields_have_lengths(
    anon: Client,
    api_key: str,  # noqa: F811
    sessions: sessionmaker[Session],
) -> None:
    before = snapshot(sessions)
    for field, limit in (
        ("email", 254),
        ("address_string", 500),
        ("media_url", 2048),
        ("description", 4000),
        ("first_name", 60),
        ("last_name", 60),
        ("device_id", 128),
        ("attribute[workstation]", 200),
    ):
        r = anon.post(f"{V2}/requests.json", data=filing(api_key, **{field: "x" * (limit + 1)}))
        assert r.status_code == 400, (field, r.text[:200])
        assert r.json()[0]["description"] == f"{field}: at most {limit} characters"
    assert snapshot(sessions) == before
    r = anon.post(
        f"{V2}/requests.json",
        data=filing(api_key, email="a" * 240 + "@example.org", description="破" * 4000),
    )
    assert r.status_code == 201, r.text


def test_an_assessment_of_a_month_not_begun_is_refused(
    login: Callable[..., Client], sessions: sessionmaker[Session], env: Path
) -> None:
    admin = login("S-ZHL", "admin")
    body = {"unit": "A-ZHL-PCS", "period": "2099-01", "score": 90, "comment": "提前录入"}
    r = admin.post("/appraisals/assessments", json=body)
    assert_problem(r, 422, "2099-01")
    assert "2099-01 has not begun" in r.json()["detail"]
    with sessions.begin() as s:
        add_user(s, name="zhl-admin", unit="S-ZHL", role="admin", password="long enough", actor="t")
    args = ["appraisal", "assess", "A-ZHL-PCS", "--period", "2099-01", "--score", "90"]
    result = CliRunner().invoke(main, [*args, "--comment", "提前", "--as", "zhl-admin"])
    assert result.exit_code == 1 and "2099-01 has not begun" in result.output
    with sessions() as s:
        assert s.execute(select(func.count()).select_from(Assessment)).scalar_one() == 0
    # The month under way can be assessed.
    r = admin.post("/appraisals/assessments", json={**body, "period": "2026-11"})
    assert r.status_code == 201, r.text


def test_cli_versions_and_instants_out_of_range(env: Path) -> None:
    for args, message in (
        (["routes", "migrate", "incident", "--from", str(HUGE), "--to", "1"], "--from"),
        (["routes", "migrate", "incident", "--from", "1", "--to", "1", "--list-version", "-1"], ""),
        (["sla", "sweep", "--now", "9999-12-31T23:59:59-12:00"], "between 1900-01-01"),
        (["sla", "sweep", "--now", "0001-01-01T00:00:00+14:00"], "between 1900-01-01"),
    ):
        result = CliRunner().invoke(main, args)
        assert result.exit_code in (1, 2), (args, result.output)
        assert isinstance(result.exception, SystemExit), (args, result.exception)
        assert message in result.output, (args, result.output)
