"""Notifications in a real browser: a department sees the whistle in its list with the unread
count in the navigation, reads it (in Chinese, and in English after the switch); an
administrator adds a webhook and sends a dead letter again."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy.orm import Session, sessionmaker

from tests.notify.receiver import Receiver
from tests.tasks.helpers import STREET, at_street
from workflow.config import Settings
from workflow.notify import worker
from workflow.runtime import engine

pytestmark = pytest.mark.browser

# Where the SMS and e-mail of these tests go (not the checkout's instance folder).
SINK = Settings(instance=Path(tempfile.mkdtemp(prefix="streetflow-sink-")))


def test_a_department_reads_its_notifications(
    page: Any, sign_in: Callable[..., str], sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as s:
        cid = at_street(s, "PS-06", now=engine.utcnow())
        engine.fire(s, cid, "whistle", STREET, reason="违建占道", targets=["D-GA"])
    worker.run_once(sessions, SINK)
    sign_in(page, "D-GA", "staff")
    nav = page.locator("nav.menu a.notifications")
    expect(nav).to_contain_text("通知")
    count = int(nav.locator(".unread").inner_text())
    assert count >= 1
    nav.click()
    expect(page.get_by_role("heading", name="通知")).to_be_visible()
    row = page.locator("tr.unread").first
    expect(row).to_contain_text(f"#{cid}")
    expect(row).to_contain_text(re.compile("有派给本单位的任务|有案件吹哨或派遣至本单位"))
    row.get_by_role("button", name="标为已读").click()
    expect(page.locator("tr.read")).to_have_count(1)
    if count == 1:
        expect(nav.locator(".unread")).to_have_count(0)
    else:
        expect(nav.locator(".unread")).to_have_text(str(count - 1))
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", name="Notifications")).to_be_visible()
    expect(page.locator("tr.read")).to_contain_text(re.compile("A task for your unit|whistled"))


def test_an_administrator_adds_a_webhook_and_retries_a_dead_letter(
    page: Any, sign_in: Callable[..., str], sessions: sessionmaker[Session]
) -> None:
    receiver = Receiver(fail_first=1).start()
    try:
        sign_in(page, "X-SN", "admin")
        page.locator("nav.menu").get_by_role("link", name="回调推送").click()
        form = page.locator("form.webhook-add")
        form.get_by_label("地址（http 或 https）").fill(receiver.url)
        form.get_by_label("case.opened").check()
        form.get_by_role("button", name="添加").click()
        expect(
            page.get_by_text(re.compile("已添加回调地址 \\d+。签名密钥仅显示这一次"))
        ).to_be_visible()
        expect(page.locator("table.webhooks")).to_contain_text(receiver.url)

        with sessions.begin() as s:
            at_street(s, "PS-06", now=engine.utcnow())
        worker.run_once(sessions, SINK, policy=worker.Policy(max_attempts=1))
        page.reload()
        dead = page.locator("table.dead tr[data-delivery]")
        expect(dead).to_have_count(1)
        expect(dead).to_contain_text("HTTP 500")
        dead.get_by_role("button", name="重新发送").click()
        expect(page.get_by_text(re.compile("投递 \\d+ 将重新发送。"))).to_be_visible()
        expect(page.locator("table.dead tr[data-delivery]")).to_have_count(0)
        worker.run_once(sessions, SINK)
        page.reload()
        delivered = page.locator("table.deliveries tr.delivery-delivered")
        expect(delivered.filter(has_text="回调地址")).to_have_count(1)
        expect(delivered.filter(has_text="短信")).to_have_count(1)  # the receipt
        assert [g.answered for g in receiver.got] == [500, 200]
    finally:
        receiver.stop()
