"""A headless Chromium (Debian's, never a downloaded one) driven by Playwright, shared by every
console test of the session, against the app served on a real port (the API's live server)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

# The live server, its users and cases: the same fixtures as the API's tests.
from tests.api.conftest import (  # noqa: F401
    PASSWORD,
    add_user,
    app,
    make_case,
    server,
)

CHROMIUM = os.environ.get("STREETFLOW_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-output" / "screenshots"
LAPTOP = {"width": 1280, "height": 800}
TABLET = {"width": 768, "height": 1024}


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: scripts/test installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any, server: str) -> Iterator[Any]:  # noqa: F811
    """A fresh browser context (no cookies) at laptop size, its base URL the live server."""
    context = browser.new_context(viewport=LAPTOP, base_url=server, locale="zh-CN")
    context.set_default_timeout(10_000)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    yield pg
    context.close()
    assert not errors, f"JavaScript errors: {errors}"


@pytest.fixture
def shot() -> Callable[[Any, str], None]:
    """shot(page, name): a full-page screenshot in test-output/screenshots/NAME.png."""
    SHOTS.mkdir(parents=True, exist_ok=True)

    def take(pg: Any, name: str) -> None:
        pg.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)

    return take


@pytest.fixture
def sign_in(add_user: Callable[..., str]) -> Callable[..., str]:  # noqa: F811
    """sign_in(page, unit, role): a fresh user signs in through the login form."""

    def do(pg: Any, unit: str, role: str) -> str:
        name = add_user(unit, role)
        pg.goto("/console/login")
        pg.get_by_label("用户名").fill(name)
        pg.get_by_label("密码").fill(PASSWORD)
        pg.get_by_role("button", name="登录").click()
        pg.wait_for_load_state()
        return name

    return do


def fits(pg: Any) -> bool:
    """The page needs no sideways scrolling (wide tables scroll inside their own box)."""
    return bool(pg.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"))


TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browserless:
    """A signed-in Flask test client that sends the form's CSRF token like a browser."""

    def __init__(self, client: FlaskClient):
        self.client = client
        self.token = ""

    def get(self, path: str, **kw: Any) -> Any:
        r = self.client.get(path, **kw)
        # A file (an attachment, its thumbnail, an export) carries no form token.
        m = TOKEN.search(r.get_data(as_text=True)) if r.mimetype == "text/html" else None
        if m:
            self.token = m.group(1)
        return r

    def post(self, path: str, data: dict[str, Any] | None = None, **kw: Any) -> Any:
        data = {"csrf_token": self.token, **(data or {})}
        return self.client.post(path, data=data, **kw)


@pytest.fixture
def sign_in_client(
    app: Flask,  # noqa: F811 (the fixture imported above)
    add_user: Callable[..., str],  # noqa: F811
) -> Callable[..., Browserless]:
    def do(unit: str, role: str) -> Browserless:
        c = Browserless(app.test_client())
        name = add_user(unit, role)
        c.get("/console/login")
        r = c.post("/console/login", {"username": name, "password": PASSWORD})
        assert r.status_code == 302, r.get_data(as_text=True)
        c.get("/console/inbox")
        c.name = name  # type: ignore[attr-defined]
        return c

    return do


@pytest.fixture(autouse=True)
def no_untranslated_refusal(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every console page a test's journey is shown in Chinese carries no English refusal of the
    engine or of marshmallow (tests/console/zh_rule.py); checked after the test."""
    if "app" not in request.fixturenames:
        yield
        return
    from flask import Response

    from tests.console import zh_rule

    flask_app: Flask = request.getfixturevalue("app")
    shown: list[tuple[str, str]] = []

    @flask_app.after_request
    def _record(resp: Response) -> Response:
        from flask import request as req

        page = req.path.startswith("/console/") and resp.mimetype == "text/html"
        if page and not resp.direct_passthrough:
            shown.append((req.path, resp.get_data(as_text=True)))
        return resp

    yield
    found = [
        f"{path}: {w!r}"
        for path, html in shown
        if zh_rule.is_chinese_page(html)
        for w in zh_rule.untranslated(html)
    ]
    assert not found, "untranslated refusals shown: " + "; ".join(found)
