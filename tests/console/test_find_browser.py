"""Finding work in a real browser: a clerk searches by name, pages on with the search kept,
switches to the cases the window opened, exports the list; a street filters its whistles; the
pages fit a laptop and a tablet."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import open_case_as
from tests.console.conftest import TABLET, fits

pytestmark = pytest.mark.browser


def test_a_clerk_finds_pages_and_exports(
    page: Any,
    sign_in: Callable[..., str],
    sessions: sessionmaker[Session],
    shot: Callable[[Any, str], None],
    tmp_path: Any,
) -> None:
    with sessions.begin() as s:
        wangs = [
            open_case_as(s, applicant_name="王小明", description=f"海口路{i}号").id
            for i in range(27)
        ]
        other = open_case_as(s, applicant_name="李四", applicant_phone="13912345678").id
    sign_in(page, "W-ZHL-01", "clerk")
    page.get_by_role("link", name="查找案件").click()
    expect(page.get_by_role("heading", name=re.compile("查找案件"))).to_be_visible()
    page.get_by_label("搜索").fill("王小明")
    page.get_by_role("button", name="查找").click()
    expect(page.get_by_role("heading", name=re.compile("27 件"))).to_be_visible()
    first = page.locator("table.cases tbody a[href^='/console/cases/']").all_inner_texts()
    assert len(first) == 25
    page.get_by_role("link", name="下一页").click()
    expect(page.get_by_label("搜索")).to_have_value("王小明")  # the search goes along
    second = page.locator("table.cases tbody a[href^='/console/cases/']").all_inner_texts()
    assert sorted(int(t.strip("#")) for t in first + second) == sorted(wangs)
    page.get_by_role("link", name="1", exact=True).click()
    expect(page.locator("nav.pager .current")).to_have_text("1")
    shot(page, "find-laptop")
    assert fits(page)
    # By the phone's last digits.
    page.get_by_label("搜索").fill("5678")
    page.get_by_role("button", name="查找").click()
    expect(page.locator("table.cases tbody")).to_contain_text(f"#{other}")
    # The window's own cases, exported as listed.
    page.get_by_role("link", name="本单位受理的案件").click()
    expect(page.get_by_role("heading", name=re.compile("28 件"))).to_be_visible()
    with page.expect_download() as dl:
        page.get_by_role("link", name="导出本列表（XLSX）").click()
    path = tmp_path / "cases.xlsx"
    dl.value.save_as(path)
    rows = list(load_workbook(path).active.iter_rows(values_only=True))
    assert rows[0][:3] == ("案件", "事项", "申请人") and len(rows) == 29
    page.set_viewport_size(TABLET)
    page.reload()
    shot(page, "find-tablet")
    assert fits(page)


def test_a_street_filters_the_whistles_it_blew(
    page: Any, sign_in: Callable[..., str], make_case: Callable[..., int]
) -> None:
    sign_in(page, "S-ZHL", "staff")
    page.goto("/console/find?view=whistled")
    expect(page.get_by_role("heading", name=re.compile("本街道吹哨的案件"))).to_be_visible()
    page.get_by_label("紧急程度").select_option("urgent")
    page.get_by_role("button", name="查找").click()
    expect(page).to_have_url(re.compile(r"view=whistled.*urgency=urgent"))
    expect(page.locator("table.cases")).to_contain_text("没有案件")
