"""Supervisions and extensions over HTTP: who sees and does what (the authorization matrix),
the filters, the problem+json refusals."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.api.conftest import Client
from workflow.actors import Actor
from workflow.runtime import engine, sla
from workflow.store.models import ApiToken, Supervision, User
from workflow.users import sha256

SH = dt.timezone(dt.timedelta(hours=8))
CLERK = Actor("clerk", "W-ZHL-01", "clerk")
STREET = Actor("street", "S-ZHL", "staff")
PAST = dt.datetime(2026, 1, 5, 10, tzinfo=SH)  # a Monday
SWEPT = dt.datetime(2026, 2, 2, 10, tzinfo=SH)


def _open(s: Session, item: str, now: dt.datetime | None) -> int:
    return engine.open_case(
        s,
        item=item,
        workstation="W-ZHL-01",
        actor=CLERK,
        applicant_name="王芳",
        applicant_phone="13800001234",
        now=now,
    ).id


def fast_login(server: str, sessions: sessionmaker[Session]) -> Callable[[str, str], Client]:
    """Users with tokens made in the database: the matrix needs many, and a real login hashes a
    password (half a second each); the login itself is tested with the framework."""

    def make(unit: str, role: str) -> Client:
        token = secrets.token_urlsafe(24)
        now = dt.datetime.now(dt.UTC)
        name = f"{role}-{unit}-{secrets.token_hex(3)}".lower()
        with sessions.begin() as s:
            user = User(
                name=name, unit=unit, role=role, password_hash="-", disabled=False, created_at=now
            )
            s.add(user)
            s.flush()
            s.add(
                ApiToken(
                    user_id=user.id,
                    token_hash=sha256(token),
                    created_at=now,
                    expires_at=now + dt.timedelta(hours=1),
                    revoked=False,
                )
            )
        return Client(server, token, name)

    return make


def cases_with_supervisions(sessions: sessionmaker[Session]) -> tuple[int, int]:
    """A late workstation stage (supervised by S-ZHL) and a late agency stage (by D-ZF and
    S-ZHL), in January 2026, swept in February."""
    with sessions.begin() as s:
        ws = _open(s, "SW-11", PAST)
        engine.fire(s, ws, "accept", CLERK, now=PAST)
        agency = _open(s, "UD-01", PAST)
        for trigger, actor in (("accept", CLERK), ("forward", CLERK), ("dispatch", STREET)):
            engine.fire(s, agency, trigger, actor, now=PAST)
    sla.sweep(sessions, now=SWEPT)
    return ws, agency


def time_places(sessions: sessionmaker[Session]) -> dict[str, int]:
    """Placeholders of the authorization matrix (tests/api/test_matrix.py), at W-ZHL-01:
    {sup} an open supervision of a late stage (addressed to S-ZHL), {ext} a pending extension
    of a stage (decided by S-ZHL)."""
    with sessions.begin() as s:
        late = _open(s, "SW-11", PAST)
        engine.fire(s, late, "accept", CLERK, now=PAST)
        live = _open(s, "SW-11", None)
        engine.fire(s, live, "accept", CLERK)
        ext = sla.request_extension(s, case_id=live, actor=CLERK, reason="需上门核实", days=2)
    sla.sweep(sessions, now=SWEPT)
    with sessions() as s:
        sup = s.execute(select(Supervision.id).where(Supervision.case_id == late)).scalar_one()
    return {"sup": sup, "ext": ext.id}


# (unit, role) -> the cases whose supervisions they see in GET /supervisions
VISIBLE = [
    (("W-ZHL-01", "clerk"), {"ws", "agency"}),  # the cases of their workstation
    (("W-ZHL-02", "clerk"), set()),
    (("S-ZHL", "staff"), {"ws", "agency"}),
    (("S-ZHL", "admin"), {"ws", "agency"}),
    (("S-BDG", "staff"), set()),
    (("D-ZF", "staff"), {"agency"}),  # addressed to it, though it never held the case
    (("D-MZ", "staff"), set()),
    (("A-ZHL-ZF", "staff"), {"agency"}),  # it holds the case
    (("X-SN", "auditor"), {"ws", "agency"}),
    (("X-SN", "admin"), {"ws", "agency"}),
]

# (unit, role) -> status of acknowledging the workstation stage's supervision (addressed to
# S-ZHL); the last row acknowledges it, so the ones after see 409.
ACKNOWLEDGE = [
    (("W-ZHL-01", "clerk"), 403),  # sees it, is not addressed
    (("X-SN", "auditor"), 403),
    (("S-BDG", "staff"), 404),
    (("D-ZF", "staff"), 404),
    (("S-ZHL", "staff"), 200),
    (("S-ZHL", "admin"), 409),
]

# (unit, role) -> status of asking for more time on a case W-ZHL-01 holds
REQUEST = [
    (("S-ZHL", "staff"), 403),  # in scope, not the holder
    (("X-SN", "auditor"), 403),
    (("W-ZHL-02", "clerk"), 404),
    (("W-ZHL-01", "clerk"), 201),
    (("W-ZHL-01", "clerk"), 409),  # one pending request per stage
]

# (unit, role) -> status of approving that request (decided by S-ZHL)
DECIDE = [
    (("W-ZHL-01", "clerk"), 403),  # the holder does not decide its own request
    (("X-SN", "auditor"), 403),
    (("S-BDG", "staff"), 404),
    (("D-MZ", "staff"), 404),
    (("S-ZHL", "staff"), 200),
    (("S-ZHL", "admin"), 409),
]


def test_authorization_matrix(server: str, anon: Client, sessions: sessionmaker[Session]) -> None:
    ws, agency = cases_with_supervisions(sessions)
    names = {ws: "ws", agency: "agency"}
    login = fast_login(server, sessions)
    clients = {who: login(*who) for who in {w for w, _ in VISIBLE + ACKNOWLEDGE + REQUEST + DECIDE}}
    for who, expected in VISIBLE:
        r = clients[who].get("/supervisions")
        assert r.status_code == 200, (who, r.text)
        assert {names[x["case"]] for x in r.json()["items"]} == expected, who
    sup = next(
        x
        for x in clients[("S-ZHL", "staff")].get("/supervisions").json()["items"]
        if x["case"] == ws
    )
    for who, status in ACKNOWLEDGE:
        r = clients[who].post(f"/supervisions/{sup['id']}/acknowledgement")
        assert r.status_code == status, (who, r.text)
    with sessions.begin() as s:
        # Real time: the API decides "before the limit" on the server's clock.
        live = _open(s, "SW-11", None)
        engine.fire(s, live, "accept", CLERK)
    body = {"reason": "需上门核实", "days": 2}
    for who, status in REQUEST:
        r = clients[who].post(f"/cases/{live}/extensions", json=body)
        assert r.status_code == status, (who, r.text)
        if status == 201:
            ext = r.json()
    assert (ext["status"], ext["unit"], ext["holder"], ext["days"]) == (
        "pending",
        "S-ZHL",
        "W-ZHL-01",
        2,
    )
    for who, status in DECIDE:
        r = clients[who].post(f"/extensions/{ext['id']}/decision", json={"approve": True})
        assert r.status_code == status, (who, r.text)
    # Without a token: 401, whatever the body.
    assert anon.get("/supervisions").status_code == 401
    assert anon.get("/extensions").status_code == 401
    for path, body in (
        (f"/supervisions/{sup['id']}/acknowledgement", None),
        (f"/cases/{live}/extensions", {"reason": "x", "days": 1}),
        (f"/extensions/{ext['id']}/decision", {"approve": True}),
    ):
        assert anon.post(path, json=body).status_code == 401, path


def test_filters_acknowledgement_and_the_case_moving_its_limit(
    server: str, sessions: sessionmaker[Session]
) -> None:
    login = fast_login(server, sessions)
    ws, agency = cases_with_supervisions(sessions)
    street = login("S-ZHL", "staff")
    dept = login("D-ZF", "staff")
    r = street.get("/supervisions", params={"unit": "D-ZF"})
    assert [x["case"] for x in r.json()["items"]] == [agency]
    assert r.json()["items"][0]["also_unit"] == "S-ZHL"
    assert r.json()["items"][0]["stage_due_at"] == "2026-01-09T09:30:00.000000Z"
    [open_one] = dept.get("/supervisions", params={"open": "true"}).json()["items"]
    r = dept.post(f"/supervisions/{open_one['id']}/acknowledgement")
    assert r.status_code == 200
    assert (r.json()["open"], r.json()["acknowledged_by"]) == (False, dept.name)
    assert dept.get("/supervisions", params={"open": "true"}).json()["items"] == []
    assert len(dept.get("/supervisions", params={"open": "false"}).json()["items"]) == 1
    assert street.get("/supervisions", params={"open": "true"}).json()["total"] == 1
    # Acknowledging is on the case's trail.
    trail = street.get(f"/cases/{agency}/trail").json()
    # (The sweep came long after the limit: the district listed it at once, 挂牌督办.)
    assert [e["action"] for e in trail][-3:] == [
        "supervision.raised",
        "supervision.listed",
        "supervision.acknowledged",
    ]
    # The light filter finds the late cases.
    red = street.get("/cases", params={"light": "red"}).json()["items"]
    assert sorted(x["id"] for x in red) == sorted([ws, agency])

    with sessions.begin() as s:
        live = _open(s, "SW-11", None)
        engine.fire(s, live, "accept", CLERK)
    clerk = login("W-ZHL-01", "clerk")
    before = clerk.get(f"/cases/{live}").json()
    ext = clerk.post(f"/cases/{live}/extensions", json={"reason": "需上门核实", "days": 2}).json()
    assert (
        street.get("/extensions", params={"status": "pending"}).json()["items"][0]["id"]
        == (ext["id"])
    )
    r = street.post(f"/extensions/{ext['id']}/decision", json={"approve": True, "days": 1})
    assert r.status_code == 200 and r.json()["status"] == "approved"
    after = clerk.get(f"/cases/{live}").json()
    assert after["stage_due_at"] == r.json()["new_stage_due_at"] > before["stage_due_at"]
    assert after["version"] == before["version"]  # not a transition: the ETag still holds


def test_bad_bodies_are_422_problems_and_change_nothing(
    server: str, sessions: sessionmaker[Session]
) -> None:
    login = fast_login(server, sessions)
    with sessions.begin() as s:
        live = _open(s, "SW-11", None)
        engine.fire(s, live, "accept", CLERK)
    clerk = login("W-ZHL-01", "clerk")
    street = login("S-ZHL", "staff")
    for body in (
        {},
        {"reason": "x"},
        {"reason": "", "days": 2},
        {"reason": "x", "days": 0},
        {"reason": "x", "days": "2"},
        {"reason": "x", "days": 61},
        {"reason": "x", "days": 2, "extra": 1},
    ):
        r = clerk.post(f"/cases/{live}/extensions", json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.headers["Content-Type"].startswith("application/problem+json")
    assert clerk.get("/extensions").json()["total"] == 0
    ext = clerk.post(f"/cases/{live}/extensions", json={"reason": "x", "days": 2}).json()
    for body in ({}, {"approve": "yes"}, {"approve": False}, {"approve": True, "days": 0}):
        r = street.post(f"/extensions/{ext['id']}/decision", json=body)
        assert r.status_code == 422, (body, r.text)
    assert street.get("/extensions").json()["items"][0]["status"] == "pending"
    r = street.post(
        f"/extensions/{ext['id']}/decision", json={"approve": False, "reason": "应按时办结"}
    )
    assert r.status_code == 200 and r.json()["status"] == "refused"
    for path in ("/supervisions/0/acknowledgement", "/extensions/99999999999/decision"):
        assert street.post(path, json={"approve": True}).status_code == 404
    assert street.get("/supervisions", params={"open": "maybe"}).status_code == 422
    assert street.get("/supervisions", params={"per_page": 0}).status_code == 422


def test_the_openapi_document_lists_the_endpoints(anon: Client) -> None:
    paths = anon.get("/openapi.json").json()["paths"]
    for path in (
        "/api/v1/supervisions",
        "/api/v1/supervisions/{supervision_id}/acknowledgement",
        "/api/v1/extensions",
        "/api/v1/cases/{case_id}/extensions",
        "/api/v1/extensions/{extension_id}/decision",
    ):
        assert path in paths, path
