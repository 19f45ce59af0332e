"""The console's pages without a browser: CSRF, sign-in, scope, bad input, the translation."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.console.conftest import PASSWORD, ROOT, Browserless
from workflow import users
from workflow.store.models import Case


def state_of(sessions: sessionmaker[Session], case_id: int) -> tuple[str, int]:
    with sessions() as s:
        case = s.get(Case, case_id)
        assert case is not None
        return case.state, case.version


def test_a_form_without_its_csrf_token_changes_nothing(
    sign_in_client: Callable[..., Browserless],
    make_case: Callable[..., int],
    sessions: sessionmaker[Session],
) -> None:
    case_id = make_case("GA-03")
    clerk = sign_in_client("W-ZHL-01", "clerk")
    r = clerk.client.post(
        f"/console/cases/{case_id}/fire", data={"trigger": "accept", "version": "1"}
    )
    assert r.status_code == 400 and "表单已过期" in r.get_data(as_text=True)
    r = clerk.client.post(
        f"/console/cases/{case_id}/fire",
        data={"trigger": "accept", "version": "1", "csrf_token": "forged"},
    )
    assert r.status_code == 400
    assert state_of(sessions, case_id) == ("submitted", 1)
    # With the page's token it goes through.
    clerk.get(f"/console/cases/{case_id}")
    r = clerk.post(f"/console/cases/{case_id}/fire", {"trigger": "accept", "version": "1"})
    assert r.status_code == 302
    assert state_of(sessions, case_id) == ("processing", 2)


def test_sign_in_refuses_a_wrong_password_and_a_disabled_user_is_signed_out(
    app: Flask,
    add_user: Callable[..., str],
    sign_in_client: Callable[..., Browserless],
    sessions: sessionmaker[Session],
) -> None:
    c = Browserless(app.test_client())
    name = add_user("W-ZHL-01", "clerk")
    c.get("/console/login")
    r = c.post("/console/login", {"username": name, "password": "wrong-password"})
    assert r.status_code == 401 and "用户名或密码错误" in r.get_data(as_text=True)
    assert c.client.get("/console/inbox").status_code == 302  # still signed out
    # Failed sign-ins count against the name, as on the API: then even the right one waits.
    for _ in range(4):
        c.post("/console/login", {"username": name, "password": "wrong-password"})
    r = c.post("/console/login", {"username": name, "password": PASSWORD})
    assert r.status_code == 429 and "<html" in r.get_data(as_text=True)

    clerk = sign_in_client("W-ZHL-01", "clerk")
    assert clerk.get("/console/inbox").status_code == 200
    with sessions.begin() as s:
        users.disable_user(s, name=clerk.name, actor="test")  # type: ignore[attr-defined]
    r = clerk.get("/console/inbox")
    assert r.status_code == 302 and r.location.startswith("/console/login")


def test_an_open_redirect_is_not_followed(app: Flask, add_user: Callable[..., str]) -> None:
    c = Browserless(app.test_client())
    name = add_user("W-ZHL-01", "clerk")
    c.get("/console/login")
    r = c.post(
        "/console/login",
        {"username": name, "password": PASSWORD, "next": "https://evil.example/"},
    )
    assert r.location == "/console/inbox"
    r = c.client.get("/console/lang/en?next=//evil.example/")
    assert r.location == "/console/inbox"


def test_scope_and_roles(
    sign_in_client: Callable[..., Browserless], make_case: Callable[..., int]
) -> None:
    case_id = make_case("GA-03")
    other = sign_in_client("W-ZHL-02", "clerk")
    r = other.get(f"/console/cases/{case_id}")
    # Outside scope: the same page as no such case.
    assert r.status_code == 404
    assert f"没有案件 {case_id}" in r.get_data(as_text=True)
    assert "没有案件 999999" in other.get("/console/cases/999999").get_data(as_text=True)
    assert other.get("/console/admin/items").status_code == 403
    assert other.get("/console/trail").status_code == 403
    auditor = sign_in_client("X-SN", "auditor")
    assert auditor.get(f"/console/cases/{case_id}").status_code == 200
    assert auditor.get("/console/whistles").status_code == 403


def test_bad_input_gets_a_clear_page_never_a_crash(
    sign_in_client: Callable[..., Browserless],
    make_case: Callable[..., int],
    sessions: sessionmaker[Session],
) -> None:
    case_id = make_case("GA-03")
    clerk = sign_in_client("W-ZHL-01", "clerk")
    clerk.get(f"/console/cases/{case_id}")
    referer = {"Referer": f"http://localhost/console/cases/{case_id}"}
    answers = [
        clerk.post(f"/console/cases/{case_id}/fire", {"trigger": "accept", "version": "x"}),
        clerk.post(f"/console/cases/{case_id}/fire", {"trigger": "fly", "version": "1"}),
        clerk.post(f"/console/cases/{case_id}/fire", {"trigger": "refuse", "version": "1"}),
        clerk.post(f"/console/cases/{case_id}/rating", {"score": "five"}),
        clerk.post("/console/cases/new", {"item": "NO-SUCH"}),
        clerk.post("/console/cases/new", {"item": "GA-03", "name": ""}),
        clerk.get("/console/cases/new?window=nowhere&item=%00"),
        clerk.get("/console/inbox?page=-3&light=purple"),
        clerk.get("/console/cases/99999999999"),
    ]
    statuses = [r.status_code for r in answers]
    assert all(s < 500 for s in statuses), statuses
    assert statuses[0] == 400 and statuses[4] == 422 and statuses[5] == 422
    # An engine refusal on a form comes back to the case page with its reason said.
    r = clerk.post(
        f"/console/cases/{case_id}/fire", {"trigger": "refuse", "version": "1"}, headers=referer
    )
    assert r.status_code == 302 and r.location == f"/console/cases/{case_id}"
    page = clerk.get(r.location).get_data(as_text=True)
    assert "reason" in page and 'class="flash error"' in page
    # A stale page: someone else moved the case meanwhile.
    r = clerk.post(
        f"/console/cases/{case_id}/fire",
        {"trigger": "accept", "version": "7"},
        headers=referer,
    )
    assert r.status_code == 302
    assert state_of(sessions, case_id) == ("submitted", 1)


def test_admin_bad_uploads(sign_in_client: Callable[..., Browserless]) -> None:
    admin = sign_in_client("X-SN", "admin")
    admin.get("/console/admin/upload")

    def content(text: str) -> str:
        return base64.b64encode(text.encode()).decode()

    r = admin.post(
        "/console/admin/upload", {"content": content("states: [unclosed"), "filename": "x.yaml"}
    )
    assert r.status_code == 422 and "malformed YAML" in r.get_data(as_text=True)
    r = admin.post("/console/admin/upload", {"content": content("- a list"), "publish": "yes"})
    assert r.status_code == 422
    r = admin.post("/console/admin/upload", {"content": "not base64!", "publish": "yes"})
    assert r.status_code == 400
    r = admin.post(
        "/console/admin/upload",
        {"content": content("not,a,list\n1,2,3\n"), "filename": "items.csv", "publish": "yes"},
    )
    assert r.status_code == 422 and "未发布" in r.get_data(as_text=True)
    r = admin.post(
        "/console/admin/upload",
        {"file": (__import__("io").BytesIO(b"\xff\xfe"), "r.yaml")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 400 and "UTF-8" in r.get_data(as_text=True)
    assert admin.get("/console/admin/routes/local?version=abc").status_code == 400
    assert admin.get("/console/admin/routes/local?version=9").status_code == 404
    assert admin.get("/console/admin/routes/nothing/diagram.svg").status_code == 404
    assert admin.get("/console/admin/items/NOPE").status_code == 404


def test_every_console_text_has_its_chinese() -> None:
    """No English left in the Chinese console, and the compiled catalogue is the current one."""
    console = ROOT / "api" / "console"
    method_map = [("**.py", "python"), ("templates/**.html", "jinja2")]
    # Keyed by (context, id): one English word may be two Chinese ones (pgettext).
    found = {
        (context, msg if isinstance(msg, str) else msg[0])
        for _f, _l, msg, _comments, context in extract_from_dir(
            str(console),
            method_map,
            keywords={"_": None, "gettext": None, "pgettext": ((1, "c"), 2)},
        )
    }
    po_path = Path(console, "translations/zh/LC_MESSAGES/messages.po")
    with po_path.open("rb") as f:
        po = read_po(f)
    with po_path.with_suffix(".mo").open("rb") as f:
        mo = read_mo(f)
    translated = {(m.context, m.id): m.string for m in po if m.id and m.string and not m.fuzzy}
    assert sorted(found - set(translated), key=str) == []
    assert {(m.context, m.id): m.string for m in mo if m.id} == translated


def test_oversight_pages_keep_to_their_units(
    sign_in_client: Callable[..., Browserless],
    make_case: Callable[..., int],
    sessions: sessionmaker[Session],
) -> None:
    import datetime as dt

    from workflow.runtime import sla
    from workflow.store.models import Supervision

    late = make_case("PS-03")
    sla.sweep(sessions, now=dt.datetime.now(dt.UTC) + dt.timedelta(days=30))
    with sessions() as s:
        sup = s.execute(select(Supervision).where(Supervision.case_id == late)).scalar_one()
    clerk = sign_in_client("W-ZHL-01", "clerk")
    assert clerk.get("/console/supervisions").status_code == 403
    assert clerk.get("/console/appraisal").status_code == 403
    assert clerk.get("/console/extensions").status_code == 200
    other = sign_in_client("S-BDX", "staff")
    assert f"#{late}" not in other.get("/console/supervisions?show=all").get_data(as_text=True)
    # Acknowledging another street's supervision: as if there were none, and nothing changes.
    assert other.post(f"/console/supervisions/{sup.id}/acknowledge").status_code == 404
    assert (
        other.post("/console/extensions/99999/decide", {"decision": "approve"}).status_code == 404
    )
    r = other.post(f"/console/cases/{late}/extension", {"days": "2", "reason": "x"})
    assert r.status_code == 404
    with sessions() as s:
        again = s.get(Supervision, sup.id)
        assert again is not None and again.acknowledged_at is None
    street = sign_in_client("S-ZHL", "staff")
    page = street.get("/console/supervisions").get_data(as_text=True)
    assert f"#{late}" in page
    assert street.post(f"/console/supervisions/{sup.id}/acknowledge").status_code == 302
    # Twice: the engine says it was acknowledged already.
    assert street.post(f"/console/supervisions/{sup.id}/acknowledge").status_code == 409


def test_verify_in_the_console_shows_the_time_warnings(
    sign_in_client: Callable[..., Browserless], sessions: sessionmaker[Session]
) -> None:
    import datetime as dt

    from tests.conftest import T0
    from tests.time.conftest import open_at
    from workflow.actors import Actor
    from workflow.runtime import engine as wf

    clerk = Actor("clerk", "W-ZHL-01", "clerk")
    with sessions.begin() as s:
        case = open_at(s, clerk, "SW-11", T0 + dt.timedelta(hours=1))
    with sessions.begin() as s:  # a writer whose clock is an hour behind
        event = wf.fire(s, case.id, "accept", clerk, now=T0)
        seq = event.seq
    auditor = sign_in_client("X-SN", "auditor")
    auditor.get("/console/trail")
    page = auditor.post("/console/trail/verify").get_data(as_text=True)
    assert "留痕完整" in page  # still intact: a warning does not break the chain
    assert "时间警告：1" in page
    assert f"#{seq} time_backwards" in page


def test_last_month_is_the_citys_not_the_machines(
    sign_in_client: Callable[..., Browserless], monkeypatch: pytest.MonkeyPatch
) -> None:
    """At 00:30 on 1 December in Beijing (16:30 UTC on 30 November) a street's administrator
    assesses its agencies for November: the month before this one in the city, not in the
    machine's UTC."""
    import datetime as dt

    from workflow import instants

    admin = sign_in_client("S-ZHL", "admin")

    def at(iso: str) -> None:
        when = dt.datetime.fromisoformat(iso)
        monkeypatch.setattr(instants, "utcnow", lambda: when)

    at("2026-11-30T16:30:00+00:00")
    assert 'name="period" type="month" value="2026-11"' in admin.get(
        "/console/admin/assessments"
    ).get_data(as_text=True)
    at("2026-11-30T15:30:00+00:00")  # 23:30 on 30 November in Beijing: October
    assert 'name="period" type="month" value="2026-10"' in admin.get(
        "/console/admin/assessments"
    ).get_data(as_text=True)
