"""The resident's voice in a real browser: the one-time link scanned at the window and answered
on a phone; a 回访 call, a 差评 rectified and visited again, an appeal upheld by the district."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.console.conftest import fits
from workflow.store.models import Feedback, TrailEvent

pytestmark = pytest.mark.browser
PHONE = {"width": 375, "height": 740}


def test_the_resident_rates_through_the_link_on_a_phone(
    page: Any,
    browser: Any,
    server: str,
    sign_in: Callable[..., str],
    shot: Any,
    make_case: Callable[..., int],
    sessions: sessionmaker[Session],
) -> None:
    done = make_case("GA-03", "accept", "complete")
    sign_in(page, "W-ZHL-01", "clerk")
    page.goto(f"/console/cases/{done}")
    expect(page.locator("figure.qr svg")).to_be_visible()
    link = page.locator("a.feedback-link").get_attribute("href")
    assert link and re.search(r"/f/[2-9A-Z]{8}$", link)

    phone = browser.new_context(
        viewport=PHONE, is_mobile=True, has_touch=True, locale="zh-CN", device_scale_factor=2
    )
    resident = phone.new_page()
    resident.goto(link)
    # Nothing but the item's name and the date: not the applicant, not the description.
    expect(resident.locator(".item")).to_have_text("出租房屋信息登记")
    expect(resident.locator(".date")).to_have_text(re.compile(r"^\d{4}-\d{2}-\d{2}$"))
    assert "王芳" not in resident.content()
    assert fits(resident)
    resident.get_by_label("满意", exact=True).check()
    resident.get_by_label("已解决").check()
    resident.get_by_label("意见建议（可不填）").fill("工作人员很耐心")
    shot(resident, "resident-1-rating-phone")
    resident.get_by_role("button", name="提交评价").click()
    expect(resident.get_by_role("heading", name="感谢您的评价")).to_be_visible()
    # Usable once: opened again, the link says so.
    resident.goto(link)
    expect(resident.get_by_role("heading", name="此评价链接已失效")).to_be_visible()
    shot(resident, "resident-2-link-used")
    phone.close()

    page.reload()
    expect(page.locator(".feedback-round .rating")).to_have_text("满意")
    expect(page.locator("figure.qr")).to_have_count(0)
    with sessions() as s:
        fb = s.scalars(select(Feedback).where(Feedback.case_id == done)).one()
        assert (fb.level, fb.resolved, fb.channel, fb.comment) == (
            4,
            True,
            "link",
            "工作人员很耐心",
        )


def test_a_call_a_rectification_and_an_upheld_appeal_in_the_console(
    page: Any,
    sign_in: Callable[..., str],
    shot: Any,
    make_case: Callable[..., int],
    sessions: sessionmaker[Session],
) -> None:
    done = make_case("GA-03", "accept", "complete")
    # The callback operator lands on the queue and records the call: 不满意, 未解决.
    sign_in(page, "X-SN", "callback")
    expect(page.get_by_role("heading", name="回访")).to_be_visible()
    row = page.locator("table.feedback tbody tr", has_text=f"#{done}")
    row.get_by_role("button", name="显示电话").click()
    row = page.locator("table.feedback tbody tr", has_text=f"#{done}")
    expect(row.locator(".contact")).to_have_text("王芳 · 13800001234")
    row.get_by_label("评价", exact=True).select_option("2")
    row.get_by_label("是否解决").select_option("0")
    row.get_by_label("评语").fill("等了很久")
    shot(page, "callback-1-queue")
    row.get_by_role("button", name="保存").click()
    expect(page.get_by_text("回访结果已记录。")).to_be_visible()
    page.get_by_role("button", name="退出").click()

    # The workstation reports what it did, and appeals the rating.
    sign_in(page, "W-ZHL-01", "clerk")
    page.get_by_role("link", name="整改").click()
    # The open ones' tab says 整改中 (not the supervisions' 未签收).
    expect(page.locator("nav.tabs a.current")).to_have_text("整改中")
    rect = page.locator("table.rectifications tbody tr", has_text=f"#{done}")
    rect.get_by_label("整改情况").fill("已电话致歉并当日补办")
    rect.get_by_role("button", name="报告").click()
    expect(page.get_by_text("整改情况已报告，将再次回访群众。")).to_be_visible()
    page.get_by_role("link", name="好差评").click()
    given = page.locator("table.feedback tbody tr", has_text=f"#{done}")
    expect(given).to_contain_text("不满意")
    given.get_by_label("理由").fill("群众反映的是小区停车，与本事项无关")
    given.get_by_role("button", name="申诉").click()
    expect(page.get_by_text("申诉已提交区里。")).to_be_visible()
    page.get_by_role("button", name="退出").click()

    # The second 回访.
    sign_in(page, "X-SN", "callback")
    again = page.locator("table.feedback tbody tr", has_text=f"#{done}")
    expect(again.locator("td").nth(3)).to_have_text("2")
    again.get_by_label("评价", exact=True).select_option("4")
    again.get_by_label("是否解决").select_option("1")
    again.get_by_role("button", name="保存").click()
    expect(page.get_by_text("回访结果已记录。")).to_be_visible()
    page.get_by_role("button", name="退出").click()

    # The district upholds the appeal: the rating leaves the appraisal.
    sign_in(page, "X-SN", "admin")
    page.get_by_role("link", name="申诉").click()
    appeal = page.locator("table.appeals tbody tr", has_text=f"#{done}")
    appeal.get_by_label("裁定").select_option("1")
    appeal.get_by_label("理由").fill("与本事项无关")
    shot(page, "district-1-appeal")
    appeal.get_by_role("button", name="裁定").click()
    expect(page.get_by_text("已裁定。")).to_be_visible()
    expect(page.locator("table.appeals tbody tr", has_text=f"#{done}")).to_contain_text("申诉成立")
    page.goto(f"/console/cases/{done}")
    expect(page.locator(".feedback-round").first).to_contain_text("申诉成立，不计入考核")
    with sessions() as s:
        assert [
            e
            for e in s.scalars(
                select(TrailEvent.action)
                .where(TrailEvent.case_id == done, TrailEvent.action.like("feedback.%"))
                .order_by(TrailEvent.seq)
            )
        ] == [
            "feedback.given",
            "feedback.rectification_opened",
            "feedback.rectification_reported",
            "feedback.appealed",
            "feedback.given",
            "feedback.appeal_decided",
        ]


def test_the_dashboard_opens_on_the_latest_month_with_data_and_cuts_no_label(
    page: Any, sign_in: Callable[..., str], shot: Any, sessions: sessionmaker[Session]
) -> None:
    import datetime as dt
    from zoneinfo import ZoneInfo

    from workflow.actors import Actor
    from workflow.appraisal import records as appraisal
    from workflow.feedback import callbacks
    from workflow.runtime import engine

    def oct_(day: int, hour: int) -> dt.datetime:
        return dt.datetime(2026, 10, day, hour, tzinfo=ZoneInfo("Asia/Shanghai"))

    clerk = Actor("clerk", "W-ZHL-01", "clerk")
    with sessions.begin() as s:
        for day in (12, 13, 14, 15, 16):  # a working week of October
            case = engine.open_case(
                s,
                item="GA-03",
                workstation="W-ZHL-01",
                actor=clerk,
                applicant_name="李娜",
                applicant_phone="13900000000",
                now=oct_(day, 9),
            ).id
            engine.fire(s, case, "accept", clerk, now=oct_(day, 10))
            engine.fire(s, case, "complete", clerk, now=oct_(day, 11))
            callbacks.record_call(
                s,
                case,
                Actor("cb", "X-SN", "callback"),
                level=5,
                resolved=True,
                channel="phone",
                now=oct_(day, 15),
            )
        # September before any case, October with them, November (so far) without.
        for period in ("2026-09", "2026-10", "2026-11"):
            appraisal.compute(s, period, now=oct_(31, 23) + dt.timedelta(days=29))
    sign_in(page, "X-SN", "auditor")
    page.goto("/console/appraisal")
    expect(page.locator("h1 small")).to_contain_text("2026-10")
    expect(page.locator("table.appraisal tbody tr").first).to_contain_text("香港花园社区工作站")
    trend = page.locator("figure.chart svg").nth(1)
    expect(trend).to_contain_text("2026-10")
    assert "2026-09" not in trend.text_content()  # the trend starts at the first month with data
    # Every label of the bar chart lies inside the chart: none is cut at the left edge.
    bar = page.locator("figure.chart svg").first
    left = bar.evaluate("svg => svg.getBoundingClientRect().left")
    for label in bar.locator("text").all():
        assert label.evaluate("t => t.getBoundingClientRect().left") >= left, label.text_content()
    shot(page, "auditor-9-appraisal-latest-with-data")
