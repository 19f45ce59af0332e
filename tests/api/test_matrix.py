"""The authorization matrix: every endpoint × every role × in and out of scope → status code.

Add a row to ENDPOINTS for a new endpoint: the method, the path (placeholders below), the body,
and the expected status per role (`expect`), with `default` for roles not named. Placeholders
are cases of workstation W-ZHL-01 (Zhuhai Road); a row that changes things (`fresh=True`) gets
new cases for every role, so one role's success does not change the next one's answer.

  {case}  an incident case just reported (held by W-ZHL-01)
  {done}  a local case completed (the resident is asked to rate it)
  {held}  an incident case dispatched to the enforcement squad A-ZHL-ZF
  {sup}   an open supervision of a late stage held by W-ZHL-01 (addressed to S-ZHL)
  {ext}   a pending extension of a stage held by W-ZHL-01 (decided by S-ZHL)
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.api.conftest import Client
from tests.api.test_supervisions import time_places
from workflow.config import DEFAULT_DEFINITIONS

ROLES: dict[str, tuple[str, str] | None] = {
    "anonymous": None,
    "clerk": ("W-ZHL-01", "clerk"),  # the case's workstation
    "clerk_other": ("W-ZHL-02", "clerk"),  # same street, other workstation
    "street_staff": ("S-ZHL", "staff"),
    "street_admin": ("S-ZHL", "admin"),
    "other_street_staff": ("S-XGZ", "staff"),
    "other_street_admin": ("S-XGZ", "admin"),
    "agency": ("A-ZHL-ZF", "staff"),
    "department": ("D-ZF", "staff"),
    "auditor": ("X-SN", "auditor"),
    "district_admin": ("X-SN", "admin"),
}
SEES_CASE = {"clerk", "street_staff", "street_admin", "auditor", "district_admin"}
SEES_HELD = SEES_CASE | {"agency"}
ADMINS = {"street_admin", "other_street_admin", "district_admin"}


def scoped(ok: int, in_scope_not_allowed: int, sees: set[str], allowed: set[str]) -> dict[str, int]:
    """allowed -> ok; others who see the case -> 403 (or given); the rest -> 404."""
    out = {r: 404 for r in ROLES if r != "anonymous"}
    out.update({r: in_scope_not_allowed for r in sees})
    out.update({r: ok for r in allowed})
    return out


@dataclass
class Row:
    method: str
    path: str
    expect: dict[str, int] = field(default_factory=dict)
    default: int = 200
    body: Any = None
    fresh: bool = False


NEW_CASE = {
    "item": "UD-01",
    "workstation": "W-ZHL-01",
    "applicant": {"name": "张三", "phone": "13700000000"},
}

# The shipped list as a CSV upload, checked but not published (dry run).
LIST_DRY_RUN = {
    "filename": "items.csv",
    "content_base64": base64.b64encode((DEFAULT_DEFINITIONS / "items.csv").read_bytes()).decode(),
    "dry_run": True,
}
# The same, published: the list binds the whole district (unchanged content: 200).
LIST_PUBLISH = {**LIST_DRY_RUN, "dry_run": False}

ENDPOINTS: list[Row] = [
    Row("GET", "/units"),
    Row("GET", "/items"),
    Row("GET", "/items/UD-01"),
    Row("GET", "/routes"),
    Row("GET", "/routes/incident"),
    Row("GET", "/routes/incident/versions/1"),
    Row("GET", "/routes/incident/diagram.svg"),
    Row("POST", "/routes/validate", {r: 200 for r in ADMINS}, 403, body="{route}"),
    # A district-wide route: district administrators only (unchanged: 200).
    Row("POST", "/routes", {"district_admin": 200}, 403, body="{route}"),
    # A street's variant: its own administrators (the first publishes it: 201) or the
    # district's (the same content again: 200); the other street's administrator is refused.
    Row("GET", "/routes/incident/streets"),
    Row("GET", "/routes/incident/streets/S-ZHL"),
    Row(
        "POST",
        "/routes/incident/streets/S-ZHL",
        {"street_admin": 201, "district_admin": 200},
        403,
        body="{route}",
    ),
    Row(
        "POST",
        "/routes/incident/streets/S-XGZ",
        {"other_street_admin": 201, "district_admin": 200},
        403,
        body="{route}",
    ),
    Row("POST", "/cases", {"clerk": 201}, 403, body=NEW_CASE),
    Row("GET", "/cases"),
    Row("GET", "/cases/{case}", scoped(200, 200, SEES_CASE, set())),
    Row("GET", "/cases/{case}/trail", scoped(200, 200, SEES_CASE, set())),
    Row("GET", "/audit/events", {"auditor": 200}, 403),
    Row("GET", "/audit/events?case={case}&after=1", {"auditor": 200}, 403),
    Row("GET", "/audit/verify", {"auditor": 200}, 403),
    Row(
        "POST",
        "/cases/{case}/transitions",
        scoped(200, 403, SEES_CASE, {"clerk"}),
        body={"trigger": "accept"},
        fresh=True,
    ),
    # Gone: the resident rates (the one-time link, a 回访), never the unit being rated.
    Row("POST", "/cases/{done}/rating", {}, 410, body={"score": 5}),
    Row("GET", "/feedback?status=pending"),
    Row("GET", "/rectifications"),
    Row("GET", "/appeals"),
    Row("GET", "/cases/{held}", scoped(200, 200, SEES_HELD, set())),
    # -- appraisal (issue 6): {appraisal} is a final record of 2026-09
    Row("GET", "/appraisals?period=2026-09", {r: 200 for r in (*ADMINS, "auditor")}, 403),
    Row("GET", "/appraisals/{appraisal}", {r: 200 for r in (*ADMINS, "auditor")}, 403),
    Row(
        "POST",
        "/appraisals",
        {r: 201 for r in (*ADMINS, "auditor")},
        403,
        body={"period": "2026-10"},
    ),
    Row(
        "POST",
        "/appraisals/assessments",
        {"street_admin": 201},
        403,
        body={"unit": "A-ZHL-SF", "period": "2026-10", "score": 88, "comment": "好"},
    ),
    # -- end appraisal
    Row(
        "POST",
        "/cases/{held}/transitions",
        scoped(200, 403, SEES_HELD, {"agency"}),
        body={"trigger": "resolve"},
        fresh=True,
    ),
    # Time limits: supervisions and extensions.
    Row("GET", "/supervisions"),
    Row(
        "POST",
        "/supervisions/{sup}/acknowledgement",
        scoped(200, 403, SEES_CASE, {"street_staff", "street_admin"}),
        fresh=True,
    ),
    Row("GET", "/extensions"),
    Row(
        "POST",
        "/cases/{case}/extensions",
        scoped(201, 403, SEES_CASE, {"clerk"}),
        body={"reason": "需上门核实", "days": 2},
        fresh=True,
    ),
    Row(
        "POST",
        "/extensions/{ext}/decision",
        scoped(200, 403, SEES_CASE, {"street_staff", "street_admin"}),
        body={"approve": True},
        fresh=True,
    ),
    # List admin (issue 9): the list as a spreadsheet, street routing tables, moving cases.
    # Withdrawn by its street's administrator; then there is none left for the district's (404).
    Row(
        "DELETE",
        "/routes/incident/streets/S-ZHL",
        {"street_admin": 200, "district_admin": 404},
        403,
    ),
    Row("POST", "/list/import", {r: 200 for r in ADMINS}, 403, body=LIST_DRY_RUN),
    Row("POST", "/list/import", {"district_admin": 200}, 403, body=LIST_PUBLISH),
    Row("GET", "/list/export", {r: 200 for r in ADMINS}, 403),
    Row("GET", "/streets/S-ZHL/routing"),
    # A routing table: that street's administrators only (not the district's, not another's).
    Row("PUT", "/streets/S-ZHL/routing", {"street_admin": 201}, 403, body={"items": {}}),
    Row(
        "POST",
        "/routes/incident/migrations",
        {r: 200 for r in ADMINS},
        403,
        body={"from_version": 1, "to_version": 1, "to_route": "mediation", "dry_run": True},
    ),
]


@pytest.fixture
def clients(login: Callable[..., Client], anon: Client) -> dict[str, Client]:
    return {role: (login(*who) if who else anon) for role, who in ROLES.items()}


def test_authorization_matrix(
    clients: dict[str, Client],
    make_case: Callable[..., int],
    sessions: sessionmaker[Session],
) -> None:
    route = clients["clerk"].get("/routes/incident").json()["definition"]

    def places() -> dict[str, int]:
        return {
            "case": make_case("UD-01"),
            "done": make_case("GA-02", "accept", "complete"),
            "held": make_case("UD-01", "accept", "forward", "dispatch"),
            **time_places(sessions),
        }

    shared = places()
    final = {"period": "2026-09", "finalize": True}  # appraisal (issue 6)
    shared["appraisal"] = clients["auditor"].post("/appraisals", json=final).json()[0]["id"]
    wrong: list[str] = []
    for row in ENDPOINTS:
        for role, client in clients.items():
            ids = places() if row.fresh else shared
            path = row.path.format(**ids)
            body = route if row.body == "{route}" else row.body
            want = 401 if role == "anonymous" else row.expect.get(role, row.default)
            r = client.request(row.method, path, json=body)
            if r.status_code != want:
                wrong.append(f"{row.method} {row.path} as {role}: {r.status_code}, want {want}")
    assert not wrong, "\n".join(wrong)


def test_lists_show_only_the_scope(
    clients: dict[str, Client], make_case: Callable[..., int]
) -> None:
    case, held = make_case("UD-01"), make_case("UD-01", "accept", "forward", "dispatch")
    for role, client in clients.items():
        if role == "anonymous":
            continue
        seen = {c["id"] for c in client.get("/cases", params={"per_page": 100}).json()["items"]}
        want = {case} if role in SEES_CASE else set()
        want |= {held} if role in SEES_HELD else set()
        assert seen == want, role
