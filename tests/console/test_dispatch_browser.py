"""The dispatch centre in a real browser: a call recorded at the 12345 centre, classified, placed
and dispatched, then in the workstation's inbox; a question answered on the spot; a duplicate
seen on the clerk's case page and merged (合并)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy.orm import Session, sessionmaker

from workflow.store.models import Case

pytestmark = pytest.mark.browser


def test_the_dispatchers_journey(
    page: Any,
    browser: Any,
    server: str,
    sign_in: Callable[..., str],
    sessions: sessionmaker[Session],
    shot: Any,
) -> None:
    sign_in(page, "H-SN", "dispatcher")
    # The dispatcher's home is the queue.
    expect(page.get_by_role("heading", name=re.compile("待派单"))).to_be_visible()
    form = page.locator("form.new-call")
    form.get_by_label("申请人姓名").fill("王芳")
    form.get_by_label("描述").fill("来电反映路灯不亮，说不清是哪个社区")
    form.get_by_role("button", name="登记并放入待派单队列").click()
    expect(page.get_by_text(re.compile(r"来电已登记：案件 #\d+"))).to_be_visible()
    case_id = int(re.search(r"/dispatch/(\d+)", page.url).group(1))  # type: ignore[union-attr]
    expect(page.locator("dd.case-item")).to_have_text("事项未确定")
    shot(page, "dispatch-case")
    send = page.locator("form.dispatch-form")
    send.locator("select[name=item]").select_option("UD-04")
    send.locator("select[name=workstation]").select_option("W-ZHL-01")
    send.locator("select[name=urgency]").select_option("urgent")
    send.get_by_label("理由").fill("夜间无灯，易发生事故")
    send.get_by_role("button", name="派单").click()
    expect(page.get_by_text(re.compile("已派单至"))).to_be_visible()
    expect(page.get_by_role("link", name=f"#{case_id}")).to_have_count(0)
    shot(page, "dispatch-queue")

    clerk = browser.new_context(base_url=server, locale="zh-CN").new_page()
    sign_in(clerk, "W-ZHL-01", "clerk")
    clerk.goto("/console/inbox")
    row = clerk.locator("tr", has=clerk.get_by_role("link", name=f"#{case_id}"))
    expect(row).to_contain_text("紧急")
    row.get_by_role("link", name=f"#{case_id}").click()
    timeline = clerk.locator("ol.timeline")
    for word in ("登记", "确定事项", "确定社区", "调整紧急程度", "派单"):
        expect(timeline).to_contain_text(word)
    expect(clerk.get_by_role("button", name="受理", exact=True)).to_be_visible()
    # In English too.
    clerk.get_by_role("link", name="English").click()
    expect(clerk.locator("ol.timeline")).to_contain_text("Dispatched")
    with sessions.begin() as s:
        case = s.get(Case, case_id)
        assert case is not None and (case.holder, case.item) == ("W-ZHL-01", "UD-04")


def test_a_question_answered_on_the_spot(page: Any, sign_in: Callable[..., str]) -> None:
    sign_in(page, "H-SN", "dispatcher")
    form = page.locator("form.new-call")
    form.get_by_label("申请人姓名").fill("李强")
    form.get_by_label("描述").fill("高龄津贴怎么申请？")
    form.get_by_role("button", name="登记并放入待派单队列").click()
    answer = page.locator("form.answer-form")
    answer.get_by_label("答复内容（必填）").fill("年满80周岁可到社区工作站申请")
    answer.get_by_role("button", name="答复并办结").click()
    expect(page.get_by_text(re.compile(r"已当场答复：案件 #\d+ 已办结"))).to_be_visible()


def test_a_duplicate_merged_from_the_case_page(
    page: Any, sign_in: Callable[..., str], make_case: Callable[..., int]
) -> None:
    first = make_case("UD-03")
    second = make_case("UD-03")
    sign_in(page, "W-ZHL-01", "clerk")
    page.goto(f"/console/cases/{second}")
    panel = page.locator(".similar")
    expect(panel).to_contain_text("疑似重复件")
    expect(panel.get_by_role("link", name=f"#{first}")).to_be_visible()
    merge = panel.locator("form.merge-form")
    merge.get_by_label("理由（必填）").fill("同一处垃圾堆放")
    merge.get_by_role("button", name=f"将本件合并至 #{first}").click()
    expect(page.get_by_text(f"已合并至案件 #{first}。")).to_be_visible()
    page.goto(f"/console/cases/{second}")
    expect(page.locator("dd.state")).to_have_text("已合并")
    expect(page.locator(".merged-into")).to_contain_text(f"#{first}")
    expect(page.locator("ol.timeline")).to_contain_text(f"合并至 #{first}")
