"""Chinese to the last word: every console page, for every demo user who can see it, in Chinese
mode, on the demo data; then each page in a real browser, without a script error, and its
screenshot at tablet width (and laptop width with STREETFLOW_SCREENSHOTS=all).

The walk starts from every GET page of the console's blueprint (its arguments filled from the
demo data) and follows the console links each page gives, a few of each kind. A page fails on a
run of English words that is not a code or a name (tests/console/zh_rule.py says the rule), and
on an English refusal of the engine or of marshmallow."""

from __future__ import annotations

import os
import re
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api import create_app
from api.cli import main
from tests.console import zh_rule
from tests.console.conftest import LAPTOP, SHOTS, TABLET, Browserless
from workflow.demo import DEMO_USERS
from workflow.store.models import AppraisalRecord, Case, DefinitionVersion

NOW = "2026-11-25T10:00:00+08:00"
# Pages that are not HTML, or change something, or leave the console: not walked.
NOT_PAGES = ("console.static", "console.logout", "console.language", "console.index")
# Pages that send the user on to another page (followed by the walk, checked there).
REDIRECTS = ("console.routing_index",)
NOT_HTML = (".svg", ".csv", ".xlsx", ".jsonl", "/export")
PER_ENDPOINT = 3  # links of one kind followed (case pages: three cases, not three hundred)
LINK = re.compile(r'href="(/console/[^"#]*)"')


@pytest.fixture
def demo_app(env: Path, db_url: str) -> Iterator[Flask]:
    """An app over the demo: its users, a few days of cases, its practice (returns, urgency,
    the ladder), an appraisal computed."""
    args = ["init", "--demo", "--days", "6", "--per-workstation", "2", "--now", NOW]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    # A month's records (October's: November is not over at NOW), so that a record's page exists.
    CliRunner().invoke(main, ["appraisal", "compute", "--period", "2026-10"])
    app = create_app({"DATABASE_URL": db_url, "SECRET_KEY": "walk", "TESTING": True})
    yield app
    app.extensions["streetflow.engine"].dispose()


def signed_in(app: Flask, name: str, password: str) -> Browserless:
    c = Browserless(app.test_client())
    c.get("/console/login")
    r = c.post("/console/login", {"username": name, "password": password})
    assert r.status_code == 302, (name, r.status_code)
    return c


def start_pages(app: Flask, sessions: sessionmaker[Session]) -> list[tuple[str, str]]:
    """(endpoint, path) for every GET page of the blueprint, its arguments from the demo."""
    with sessions() as s:
        case_ids = list(s.execute(select(Case.id).order_by(Case.id)).scalars())
        record = s.execute(select(AppraisalRecord.id).limit(1)).scalar()
        route = s.execute(
            select(DefinitionVersion.name).where(DefinitionVersion.kind == "route").limit(1)
        ).scalar()
    values: dict[str, list[Any]] = {
        "case_id": case_ids[:1] + case_ids[-1:],
        "record_id": [record] if record else [],
        "code": ["GA-03", "PS-01"],
        "name": [route or "incident", "incident"],
    }
    out = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("console.") or "GET" not in (rule.methods or ()):
            continue
        if rule.endpoint in NOT_PAGES:
            continue
        args = list(rule.arguments)
        if any(a not in values for a in args):
            continue  # a page reached only by a link (the walk follows it)
        if not args:
            out.append((rule.endpoint, rule.rule))
            continue
        for v in zip(*(values[a] for a in args), strict=False):
            path = rule.rule
            for a, x in zip(args, v, strict=True):
                path = re.sub(rf"<(?:\w+:)?{a}>", str(x), path)
            out.append((rule.endpoint, path))
    return out


def walk(app: Flask, client: Browserless, starts: list[tuple[str, str]]) -> dict[str, str]:
    """path -> HTML of every page the user can see from the starts and their links."""
    adapter = app.url_map.bind("localhost")
    seen: dict[str, str] = {}
    per: dict[str, int] = defaultdict(int)
    queue = [p for _e, p in starts]
    while queue:
        path = queue.pop(0)
        if path in seen or any(x in path.split("?")[0] for x in NOT_HTML):
            continue
        try:
            endpoint, _args = adapter.match(path.split("?")[0], method="GET")
        except Exception:
            continue
        if endpoint in NOT_PAGES or per[endpoint] >= PER_ENDPOINT:
            continue
        per[endpoint] += 1
        r = client.get(path)
        location = r.headers.get("Location", "")
        if r.status_code in (301, 302, 303) and location.startswith("/console/"):
            queue.append(location)
        if r.status_code != 200 or r.mimetype != "text/html":
            seen[path] = ""  # not this user's page (403, 404 outside scope, a redirect)
            continue
        html = r.get_data(as_text=True)
        seen[path] = html
        queue += [m.replace("&amp;", "&") for m in LINK.findall(html)]
    return {p: h for p, h in seen.items() if h}


def test_every_console_page_is_chinese_to_the_last_word(
    demo_app: Flask, sessions: sessionmaker[Session]
) -> None:
    starts = start_pages(demo_app, sessions)
    names = {u.name for u in DEMO_USERS}
    problems: list[str] = []
    visited: dict[str, set[str]] = {}
    for user in DEMO_USERS:
        client = signed_in(demo_app, user.name, user.password)
        pages = walk(demo_app, client, starts)
        visited[user.name] = set(pages)
        for path, html in pages.items():
            assert zh_rule.is_chinese_page(html), path
            for run in zh_rule.english_runs(html, names):
                problems.append(f"{user.name} {path}: {run!r}")
            for wording in zh_rule.untranslated(html):
                problems.append(f"{user.name} {path}: untranslated {wording!r}")
    assert not problems, "\n".join(sorted(set(problems)))
    # Every page of the blueprint was seen by somebody (its links reach the rest).
    reached = {
        demo_app.url_map.bind("localhost").match(p.split("?")[0])[0]
        for v in visited.values()
        for p in v
    }
    expected = {e for e, p in starts if not any(x in p for x in NOT_HTML) and e not in REDIRECTS}
    assert expected <= reached, expected - reached
    counts = {k: len(v) for k, v in visited.items()}
    print("pages walked per user:", counts)
    assert all(n >= 3 for n in counts.values()), counts


# Tablet width is where a page's layout breaks first; the other browser tests, and their
# screenshots, are at laptop width. Both widths on demand: CI's time is bounded.
WIDTHS = {"tablet": TABLET, "laptop": LAPTOP}


@pytest.mark.browser
def test_every_page_opens_in_a_browser_without_a_script_error_and_is_photographed(
    demo_app: Flask, sessions: sessionmaker[Session], browser: Any
) -> None:
    """Every page, once for each role that sees it (by its first demo user), opened in Chromium:
    no script error. Its screenshot in test-output/screenshots/pages/<user>-<page>-<width>.png
    at tablet width (768x1024), and at laptop width (1280x800, the other browser tests') too with
    STREETFLOW_SCREENSHOTS=all: the pictures are for people to look at, not compared."""
    import threading

    from werkzeug.serving import make_server

    widths = list(WIDTHS) if os.environ.get("STREETFLOW_SCREENSHOTS") == "all" else ["tablet"]
    srv = make_server("127.0.0.1", 0, demo_app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{srv.server_port}"
    out = SHOTS / "pages"
    out.mkdir(parents=True, exist_ok=True)
    starts = start_pages(demo_app, sessions)
    taken = 0
    errors: list[str] = []
    done: set[tuple[str, str]] = set()  # (role, page): one picture of each page per role
    try:
        for user in DEMO_USERS:
            client = signed_in(demo_app, user.name, user.password)
            pages = walk(demo_app, client, starts)
            kinds: dict[str, str] = {}
            for path in sorted(pages):
                endpoint = demo_app.url_map.bind("localhost").match(path.split("?")[0])[0]
                if (user.role, endpoint) not in done:
                    kinds.setdefault(endpoint, path)
            done |= {(user.role, e) for e in kinds}
            if not kinds:
                continue
            for size in widths:
                context = browser.new_context(viewport=WIDTHS[size], base_url=base, locale="zh-CN")
                pg = context.new_page()
                at = [""]
                pg.on("pageerror", lambda exc, at=at: errors.append(f"{at[0]}: {exc}"))
                pg.goto("/console/login")
                pg.get_by_label("用户名").fill(user.name)
                pg.get_by_label("密码").fill(user.password)
                pg.get_by_role("button", name="登录").click()
                pg.wait_for_load_state()
                for endpoint, path in kinds.items():
                    at[0] = f"{user.name} {path} ({size})"
                    answer = pg.goto(path)
                    assert answer is not None and answer.ok, (at[0], answer and answer.status)
                    pg.wait_for_load_state()
                    name = endpoint.removeprefix("console.")
                    pg.screenshot(path=str(out / f"{user.name}-{name}-{size}.png"), full_page=True)
                    taken += 1
                context.close()
    finally:
        srv.shutdown()
        thread.join(5)
    assert not errors, "\n".join(errors)
    assert taken >= len(widths) * len({e for _r, e in done}), taken


def test_the_rule_finds_english_and_lets_codes_and_names_be() -> None:
    assert zh_rule.english_runs("<p>Not a valid integer.</p>") == ["Not a valid integer."]
    assert zh_rule.english_runs("<td>案件 12：the case waits</td>") == ["the case waits"]
    assert zh_rule.english_runs('<img alt="Route diagram">') == ["Route diagram"]
    # Codes, numbers, names and what is inside <code> are not sentences.
    page = (
        "<p>案件 1072 · W-ZHL-01 · three_tier v2 · clerk · Open311 API</p>"
        "<code>awaiting_materials --withdraw--> refused</code><pre>states: {a: b}</pre>"
    )
    assert zh_rule.english_runs(page, {"clerk"}) == []
    assert zh_rule.untranslated("<p>'whistle' needs a reason</p>") == ["'whistle' needs a reason"]
    assert zh_rule.untranslated("<p>“吹哨”须填写理由</p>") == []
