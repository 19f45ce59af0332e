"""A party application goes the whole party line in a real browser: the community party
committee receives it, the street party working committee decides it; the workstation's clerk
sees the case but can neither refuse nor move it (两委一站)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from workflow.store.models import Case, TrailEvent

pytestmark = pytest.mark.browser


def sign_out(page: Any) -> None:
    page.get_by_role("button", name="退出").click()
    page.wait_for_load_state()


def test_a_party_application_goes_the_whole_party_line(
    page: Any, sign_in: Callable[..., str], shot: Any, sessions: sessionmaker[Session]
) -> None:
    # The community party committee opens the application: only its own items are offered.
    sign_in(page, "P-ZHL-01", "staff")
    with page.expect_navigation():
        page.get_by_role("link", name="登记新案件").first.click()
    with page.expect_navigation():
        page.get_by_label("服务窗口").select_option("区域党建")
    options = page.get_by_label("事项").locator("option").all_inner_texts()
    assert any("PB-04" in o for o in options)
    with page.expect_navigation():
        page.get_by_label("事项").select_option("PB-04")
    page.get_by_label("共建协议书").check()
    page.get_by_label("申请人姓名").fill("青岛某公司党支部")
    page.get_by_label("联系电话").fill("0532-82870000")
    page.get_by_role("button", name="登记案件").click()
    expect(page.get_by_text(re.compile(r"案件 \d+ 已登记"))).to_be_visible()
    case_id = int(re.search(r"/cases/(\d+)", page.url).group(1))  # type: ignore[union-attr]
    expect(page.locator("dd.state")).to_have_text("已提交")
    expect(page.locator("dd.holder")).to_contain_text("香港花园社区党委 · 社区党委")
    # The community as its three bodies, the party committee holding the case.
    community = page.locator("dd.community")
    for body in (
        "社区党委: 香港花园社区党委",
        "社区居委会: 香港花园社区居民委员会",
        "社区工作站: 香港花园社区工作站",
    ):
        expect(community).to_contain_text(body)
    expect(community.locator("li.holding")).to_contain_text("香港花园社区党委")
    shot(page, "party-1-submitted")
    sign_out(page)

    # The workstation's clerk sees the case of the community, and has nothing to do on it.
    sign_in(page, "W-ZHL-01", "clerk")
    page.goto(f"/console/cases/{case_id}")
    expect(page.locator("dd.state")).to_have_text("已提交")
    expect(page.get_by_text("您目前对此案件没有可办操作。")).to_be_visible()
    expect(page.get_by_role("button", name="不予受理")).to_have_count(0)
    sign_out(page)

    sign_in(page, "P-ZHL-01", "staff")
    page.goto(f"/console/cases/{case_id}")
    page.get_by_role("button", name="受理", exact=True).click()
    expect(page.locator("dd.state")).to_have_text("社区党委审核")
    page.get_by_role("button", name="上报", exact=True).click()
    expect(page.locator("dd.state")).to_have_text("街道党工委审批")
    expect(page.locator("dd.holder")).to_contain_text("中共珠海路街道工作委员会 · 街道党工委")
    shot(page, "party-2-at-the-street-party-committee")
    sign_out(page)

    # The street party working committee decides, from its inbox.
    sign_in(page, "P-ZHL", "staff")
    page.get_by_role("link", name=f"#{case_id}").click()
    page.get_by_role("button", name="批准", exact=True).click()
    expect(page.locator("dd.state")).to_have_text("已批准")
    shot(page, "party-3-approved")

    with sessions() as s:
        case = s.get(Case, case_id)
        assert case is not None and case.state == "approved"
        holders = list(
            s.execute(
                select(TrailEvent.to_holder)
                .where(
                    TrailEvent.case_id == case_id,
                    TrailEvent.action.in_(("case.opened", "case.transition")),
                )
                .order_by(TrailEvent.seq)
            ).scalars()
        )
    assert holders == ["P-ZHL-01", "P-ZHL-01", "P-ZHL", None]
