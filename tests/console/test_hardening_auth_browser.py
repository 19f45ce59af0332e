"""The console under its Content-Security-Policy in a real browser: its own script, its charts
and diagrams still work and nothing is refused; another site cannot frame it; signing out
ends the session for the browser too."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from sqlalchemy.orm import Session, sessionmaker

from tests.console.voice import rated_cases
from workflow.config import DEFAULT_TIMEZONE

pytestmark = pytest.mark.browser


@pytest.fixture
def refused(page: Any) -> Iterator[list[str]]:
    """What the browser refused under the page's policy, as it reports it on the console."""
    seen: list[str] = []
    page.on(
        "console",
        lambda msg: (
            seen.append(msg.text)
            if "Content Security Policy" in msg.text or "Refused" in msg.text
            else None
        ),
    )
    yield seen


def test_the_console_works_under_its_policy(
    page: Any,
    refused: list[str],
    sign_in: Callable[..., str],
    make_case: Callable[..., int],
    sessions: sessionmaker[Session],
) -> None:
    rated_cases(make_case, sessions)
    sign_in(page, "W-ZHL-01", "clerk")
    # console.js (its own file) still submits the form when a choice changes.
    with page.expect_navigation():
        page.get_by_role("link", name="登记新案件").first.click()
    with page.expect_navigation():
        page.get_by_label("服务窗口").select_option("综合管理")
    expect(page.get_by_label("事项")).to_be_visible()
    page.get_by_role("button", name="退出").click()
    expect(page.get_by_role("button", name="登录")).to_be_visible()

    # Inline SVG charts, styled by their own <style>, drawn for an auditor.
    # The city's month (the appraisal's), not UTC's: they differ from 16:00 UTC on a last day.
    month = dt.datetime.now(ZoneInfo(DEFAULT_TIMEZONE)).strftime("%Y-%m")
    sign_in(page, "X-SN", "auditor")
    page.get_by_role("link", name="考核").click()
    page.get_by_label("考核期").fill(month)
    page.get_by_role("button", name="显示").click()
    page.get_by_role("button", name=f"计算 {month} 的草稿").click()
    expect(page.get_by_text(re.compile(r"已计算 \d+ 条考核记录"))).to_be_visible()
    bar = page.locator("figure.chart svg").first
    expect(bar).to_contain_text("香港花园社区工作站")
    # pygal's stylesheet applied: the chart's background is not the browser's default black.
    fill = bar.locator("rect.background").first.evaluate("r => getComputedStyle(r).fill")
    assert fill not in ("", "rgb(0, 0, 0)"), fill
    page.get_by_role("button", name="退出").click()

    # A route diagram, an image of the console's own.
    sign_in(page, "S-ZHL", "admin")
    page.goto("/console/admin/routes/incident")
    diagram = page.locator("section.diagram img")
    expect(diagram).to_be_visible()
    assert diagram.evaluate("img => img.naturalWidth") > 0
    assert refused == []


def test_another_site_cannot_frame_the_console(page: Any, server: str) -> None:
    page.set_content(f'<iframe id="f" src="{server}/console/login" width="600" height="400">')
    page.wait_for_timeout(1000)
    frame = page.frame_locator("#f")
    expect(frame.get_by_role("button", name="登录")).to_have_count(0)


def test_after_sign_out_the_back_button_shows_no_signed_in_page(
    page: Any, sign_in: Callable[..., str]
) -> None:
    sign_in(page, "W-ZHL-01", "clerk")
    cookies = page.context.cookies()
    page.get_by_role("button", name="退出").click()
    expect(page.get_by_role("button", name="登录")).to_be_visible()
    # The cookie saved before signing out, put back: the console still says sign in.
    page.context.add_cookies(cookies)
    page.goto("/console/inbox")
    expect(page.get_by_role("button", name="登录")).to_be_visible()
    assert "/console/login" in page.url
