"""A called department asks, in the browser, to be released from its task of a joint whistle;
the street in command approves from its returns queue; the task board shows it released."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy.orm import Session, sessionmaker

from workflow.actors import Actor
from workflow.runtime import engine

pytestmark = pytest.mark.browser


def test_a_department_returns_its_task_and_the_street_approves(
    page: Any,
    browser: Any,
    server: str,
    sign_in: Callable[..., str],
    make_case: Callable[..., int],
    sessions: sessionmaker[Session],
) -> None:
    cid = make_case("UD-01", "accept", "forward")
    with sessions.begin() as s:
        engine.fire(
            s,
            cid,
            "whistle",
            Actor("street", "S-ZHL", "staff"),
            reason="违建需联合执法",
            targets=["D-ZF", "D-ZJ"],
        )
    sign_in(page, "D-ZJ", "staff")
    page.goto(f"/console/cases/{cid}")
    form = page.locator("tr.task[data-unit='D-ZJ'] form.task-return")
    form.get_by_label("退单类别").select_option(label="非本单位职责")
    form.get_by_label("理由（必填）").fill("拆除属综合执法，非住建")
    form.get_by_role("button", name="申请退单").click()
    expect(page.get_by_text(re.compile(r"已申请退单 \d+"))).to_be_visible()
    expect(page.locator("tr.task[data-unit='D-ZJ'] .status")).to_have_text("申请退单")

    street = browser.new_context(base_url=server, locale="zh-CN").new_page()
    sign_in(street, "S-ZHL", "staff")
    street.goto("/console/returns")
    row = street.locator("section.review-queue tr", has=street.get_by_role("link", name=f"#{cid}"))
    row.get_by_label("理由（必填）").fill("同意，由执法局单独处置")
    row.get_by_role("button", name="批准", exact=True).click()
    expect(street.get_by_text("已同意退单。")).to_be_visible()
    street.goto(f"/console/cases/{cid}")
    expect(street.locator("tr.task[data-unit='D-ZJ'] .status")).to_have_text("已撤销")
    expect(street.locator("tr.task[data-unit='D-ZF'] .status")).to_have_text("待报到")
