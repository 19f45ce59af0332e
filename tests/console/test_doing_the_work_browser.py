"""Doing the work in a real browser: the intake form (promised limit, phone, address, materials
with an override, input kept), the result on resolving, the dispatch's choice of agency, the
grouped personal-data reads, and the administrator's new pages (users, api keys, moving cases,
routing tables, assessments, finalization), each in Chinese with the English switch where said."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.console.conftest import TABLET, fits
from tests.listadmin.test_migration import publish_v2
from workflow.actors import Actor
from workflow.config import DEFAULT_TIMEZONE
from workflow.runtime import engine
from workflow.store.models import ApiKey, Assessment, Case, TrailEvent, User

pytestmark = pytest.mark.browser
CLERK = Actor("clerk", "W-ZHL-01", "clerk")


def test_intake_checks_and_keeps_the_form_and_resolving_asks_for_the_result(
    page: Any, sign_in: Callable[..., str], sessions: sessionmaker[Session], shot: Any
) -> None:
    sign_in(page, "W-ZHL-01", "clerk")
    page.goto("/console/cases/new?item=UD-01")
    # The promise before opening: the whole case's limit and the response time.
    expect(page.locator("dd.promise")).to_contain_text(re.compile(r"\d+ 个工作日"))
    expect(page.locator("dd.promise")).to_contain_text("小时内响应")
    page.get_by_label("申请人姓名").fill("赵敏")
    page.get_by_label("联系电话").fill("8287")
    page.get_by_label("地址", exact=True).fill("珠海路 8 号楼下")
    page.get_by_label("诉求描述").fill("路灯不亮")
    page.get_by_role("button", name="登记案件").click()
    # Refused, said in Chinese, and nothing typed is lost.
    expect(page.locator(".phone-error")).to_contain_text("电话号码无效")
    expect(page.get_by_label("申请人姓名")).to_have_value("赵敏")
    expect(page.get_by_label("地址", exact=True)).to_have_value("珠海路 8 号楼下")
    shot(page, "work-1-intake-refused")
    page.get_by_label("联系电话").fill("0532-82871234")
    page.get_by_label("位置", exact=True).check()
    page.get_by_label("照片", exact=True).check()
    page.get_by_role("button", name="登记案件").click()
    expect(page.get_by_text(re.compile(r"案件 \d+ 已登记"))).to_be_visible()
    case_id = int(re.search(r"/cases/(\d+)", page.url).group(1))  # type: ignore[union-attr]
    expect(page.locator("dd.location .address")).to_have_text("珠海路 8 号楼下")

    page.get_by_role("button", name="受理", exact=True).click()
    resolve = page.locator("form.action", has=page.get_by_role("button", name="办结"))
    # Past the browser's own check, an empty result is refused in Chinese, nothing done.
    resolve.get_by_label("办理结果（必填）").evaluate("el => el.removeAttribute('required')")
    resolve.get_by_role("button", name="办结").click()
    expect(page.get_by_text("办结前请填写办理结果。")).to_be_visible()
    expect(page.locator("dd.state")).to_have_text("社区办理中")
    assert resolve.get_by_label("办理结果（必填）").get_attribute("required") is not None
    resolve.get_by_label("办理结果（必填）").fill("已更换灯泡，恢复照明")
    resolve.get_by_role("button", name="办结").click()
    expect(page.locator("dd.case-result")).to_have_text("已更换灯泡，恢复照明")
    expect(page.locator("ol.timeline .result")).to_contain_text("已更换灯泡，恢复照明")
    # Each visit read the phone: one line for the day, opened to show each read.
    page.reload()
    group = page.locator("li.read-group")
    expect(group).to_have_count(1)
    expect(group).to_contain_text(re.compile(r"查阅个人信息 ×[3-9]"))
    group.locator("summary").click()
    expect(group.locator("ul li").first).to_contain_text("显示了完整电话")
    shot(page, "work-2-resolved-with-result")
    with sessions() as s:
        case = s.get(Case, case_id)
        assert case is not None and case.result == "已更换灯泡，恢复照明"
        assert case.address == "珠海路 8 号楼下"
        assert case.applicant_phone == "0532-82871234"


def test_materials_refused_then_opened_with_a_reason(
    page: Any, sign_in: Callable[..., str], sessions: sessionmaker[Session]
) -> None:
    sign_in(page, "W-ZHL-01", "clerk")
    page.goto("/console/cases/new?item=SW-01")
    page.get_by_label("身份证").check()
    page.get_by_label("申请人姓名").fill("钱老伯")
    page.get_by_label("联系电话").fill("13700001111")
    page.get_by_role("button", name="登记案件").click()
    expect(page.locator(".materials-error")).to_contain_text("户口簿、银行卡")
    expect(page.get_by_label("身份证")).to_be_checked()
    page.get_by_label("缺少材料时受理的理由").fill("老人行动不便，材料由子女次日送来")
    page.get_by_role("button", name="登记案件").click()
    expect(page.get_by_text(re.compile(r"案件 \d+ 已登记"))).to_be_visible()
    expect(page.locator("ol.timeline .materials-override")).to_contain_text("户口簿、银行卡")
    case_id = int(re.search(r"/cases/(\d+)", page.url).group(1))  # type: ignore[union-attr]
    with sessions() as s:
        ev = s.execute(
            select(TrailEvent).where(
                TrailEvent.case_id == case_id, TrailEvent.action == "case.opened"
            )
        ).scalar_one()
        assert ev.data["materials_override"] == "老人行动不便，材料由子女次日送来"


def test_the_street_dispatches_to_the_agency_it_chooses(
    page: Any, sign_in: Callable[..., str], make_case: Callable[..., int]
) -> None:
    # PS-06: the police station by the list, the enforcement squad fits too (D-ZF is called).
    case_id = make_case("PS-06", "accept", "forward")
    sign_in(page, "S-ZHL", "staff")
    page.goto(f"/console/cases/{case_id}")
    form = page.locator("form.action", has=page.get_by_role("button", name="派单"))
    options = form.locator("select.dispatch-to option").all_inner_texts()
    assert options[:2] == ["珠海路街道派出所", "珠海路街道综合执法中队"]  # the item's first
    assert "街道办事处自办" in options[-1]
    assert "珠海路街道市场监管所" not in options  # not of a fitting kind
    form.get_by_label("派往").select_option(label="珠海路街道综合执法中队")
    form.get_by_role("button", name="派单").click()
    expect(page.locator("dd.holder")).to_contain_text("珠海路街道综合执法中队")


def test_users_and_api_keys_pages(
    page: Any, sign_in: Callable[..., str], sessions: sessionmaker[Session], shot: Any
) -> None:
    sign_in(page, "X-SN", "admin")
    page.get_by_role("link", name="用户", exact=True).click()
    add = page.locator("form.add-user")
    add.get_by_label("用户名").fill("liu-clerk")
    add.get_by_label("单位").select_option("W-ZHL-02")
    add.get_by_label("角色").select_option("clerk")
    add.get_by_label("密码").fill("123")
    add.get_by_role("button", name="添加").click()  # too short: the browser refuses
    add.get_by_label("密码").fill("Liu-clerk-password-2026")
    add.get_by_role("button", name="添加").click()
    expect(page.get_by_text("已添加用户 liu-clerk。")).to_be_visible()
    row = page.locator("tr.user-row[data-user='liu-clerk']")
    row.get_by_role("button", name="停用").click()
    expect(page.get_by_text(re.compile("已停用用户 liu-clerk"))).to_be_visible()
    expect(row.locator(".user-state")).to_have_text("已停用")
    row.get_by_role("button", name="启用").click()
    expect(row.locator(".user-state")).to_have_text("已启用")
    row.get_by_label("新密码").fill("Another-long-password-9")
    row.get_by_role("button", name="重置密码").click()
    expect(page.get_by_text(re.compile("已为 liu-clerk 设置新密码"))).to_be_visible()
    shot(page, "work-3-users")

    page.get_by_role("link", name="接口密钥").click()
    page.get_by_label("渠道名称").fill("wechat-app")
    page.get_by_role("button", name="签发").click()
    key = page.locator("code.api-key").inner_text()
    assert len(key) > 30
    expect(page.locator("table.apikeys")).to_contain_text("wechat-app")
    # A taken name: refused in the page, nothing issued twice.
    page.get_by_label("渠道名称").fill("wechat-app")
    page.get_by_role("button", name="签发").click()
    expect(page.locator(".flash.error").first).to_be_visible()
    shot(page, "work-4-apikeys")
    # English too.
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", name="Open311 api keys")).to_be_visible()
    with sessions() as s:
        assert s.execute(select(ApiKey).where(ApiKey.name == "wechat-app")).scalar_one()
        user = s.execute(select(User).where(User.name == "liu-clerk")).scalar_one()
        assert not user.disabled


def test_a_street_admin_manages_its_own_people_only(
    page: Any, sign_in: Callable[..., str], sign_in_client: Callable[..., Any]
) -> None:
    sign_in(page, "S-ZHL", "admin")
    page.get_by_role("link", name="用户", exact=True).click()
    units = page.locator("form.add-user select[name=unit] option").evaluate_all(
        "els => els.map(e => e.value)"
    )
    assert "W-ZHL-01" in units and "A-ZHL-ZF" in units
    assert "X-SN" not in units and "W-XGZ-01" not in units
    expect(page.get_by_role("link", name="接口密钥")).to_have_count(0)
    # Past the page: a user of another street is refused, and api keys are the district's.
    client = sign_in_client("S-ZHL", "admin")
    client.get("/console/admin/users")
    r = client.post(
        "/console/admin/users",
        {"name": "other", "unit": "W-XGZ-01", "role": "clerk", "password": "Long-password-2026"},
    )
    assert r.status_code in (302, 403)
    assert client.get("/console/admin/apikeys").status_code == 403


def test_moving_cases_dry_run_then_apply(
    page: Any,
    sign_in: Callable[..., str],
    make_case: Callable[..., int],
    sessions: sessionmaker[Session],
    shot: Any,
) -> None:
    ws = make_case("SW-02", "accept")
    dept = make_case("SW-02", "accept", "forward")
    with sessions.begin() as s:
        engine.fire(s, dept, "forward", Actor("street", "S-ZHL", "staff"))
        publish_v2(s)
    sign_in(page, "X-SN", "admin")
    page.get_by_role("link", name="迁移案件").click()
    form = page.locator("form.migration-form")
    form.locator("select[name=route]").select_option("three_tier")
    form.get_by_label("原版本").fill("1")
    form.get_by_label("目标版本").fill("2")
    form.get_by_label("状态对应").fill("street_review=street_check\ndept_review=dept_check")
    form.get_by_role("button", name="试运行").click()
    plan = page.locator("section.migration-plan")
    expect(plan).to_contain_text("试运行：未迁移任何案件")
    expect(
        plan.locator("tr.move-blocked", has=page.get_by_role("link", name=f"#{dept}"))
    ).to_contain_text("dept_check")
    expect(plan.locator("tr.move-ok", has=page.get_by_role("link", name=f"#{ws}"))).to_be_visible()
    shot(page, "work-5-migration-dry-run")
    with sessions() as s:
        assert s.get(Case, ws).route_version == 1  # type: ignore[union-attr]
    page.get_by_label("理由（记入每件迁移案件的留痕）").fill("街道审核改由派驻机构办理")
    page.get_by_role("button", name=re.compile(r"迁移 \d+ 件案件")).click()
    expect(page.locator("section.migration-plan h2")).to_have_text("已迁移")
    with sessions() as s:
        assert s.get(Case, ws).route_version == 2  # type: ignore[union-attr]
        assert s.get(Case, dept).route_version == 1  # type: ignore[union-attr]
        ev = s.execute(
            select(TrailEvent).where(TrailEvent.case_id == ws, TrailEvent.action == "case.migrated")
        ).scalar_one()
        assert ev.reason == "街道审核改由派驻机构办理"


def test_routing_table_assessment_and_finalization(
    page: Any,
    browser: Any,
    server: str,
    sign_in: Callable[..., str],
    sessions: sessionmaker[Session],
) -> None:
    sign_in(page, "S-ZHL", "admin")
    page.get_by_role("link", name="分办表").click()
    form = page.locator("form.routing-form")
    form.get_by_label("事项").select_option("UD-01")
    form.get_by_label("派驻机构环节承办单位").select_option("A-ZHL-SJ")
    form.get_by_label("街道时限（工作日）").fill("2")
    form.get_by_role("button", name="发布").click()
    expect(page.get_by_text(re.compile(r"分办表已发布为第 \d+ 版"))).to_be_visible()
    expect(page.locator("tr.routing-row[data-item='UD-01']")).to_contain_text(
        "珠海路街道市场监管所"
    )
    page.set_viewport_size(TABLET)
    assert fits(page)

    # The street assesses its agencies for last month.
    today = dt.datetime.now(ZoneInfo(DEFAULT_TIMEZONE)).date()  # the instance's, not UTC's
    last = today.replace(day=1) - dt.timedelta(days=1)
    period = f"{last.year:04d}-{last.month:02d}"
    page.get_by_role("link", name="考核派驻机构").click()
    row = page.locator("tr.assessment-row[data-unit='A-ZHL-ZF']")
    row.get_by_label("得分").fill("92")
    row.get_by_label("评语").fill("响应及时")
    row.get_by_role("button", name="录入").click()
    expect(page.get_by_text("考核评价已录入。")).to_be_visible()
    expect(page.locator("tr.assessment-row[data-unit='A-ZHL-ZF']")).to_contain_text("响应及时")
    with sessions() as s:
        a = s.execute(select(Assessment).where(Assessment.unit == "A-ZHL-ZF")).scalar_one()
        assert a.period == period and a.score == 92

    # An auditor finalizes the period from the appraisal page.
    auditor = browser.new_context(base_url=server, locale="zh-CN")
    pg = auditor.new_page()
    sign_in(pg, "X-SN", "auditor")
    pg.goto(f"/console/appraisal?period={period}")
    pg.get_by_role("button", name=re.compile("计算")).click()
    pg.get_by_role("button", name=f"定稿 {period}").click()
    expect(pg.get_by_text(re.compile(rf"{period} 的 \d+ 条考核记录已定稿"))).to_be_visible()
    auditor.close()
    # No more assessments for a finalized period.
    page.goto(f"/console/admin/assessments?period={period}")
    expect(page.get_by_text("本周期已定稿")).to_be_visible()


def test_trail_filter_by_unit_name_and_what_was_published(
    page: Any, sign_in: Callable[..., str], make_case: Callable[..., int]
) -> None:
    make_case("UD-01", "accept", "forward")
    sign_in(page, "X-SN", "auditor")
    page.goto("/console/trail")
    # The published definitions say what they were.
    expect(page.locator("span.published").first).to_contain_text(re.compile(r"第 \d+ 版"))
    assert page.locator("datalist#unit-names option[value='珠海路街道']").count() == 1
    page.goto("/console/trail?unit=S-ZHL")
    by_code = page.locator("h1 small").inner_text()
    page.get_by_label("单位").fill("珠海路街道")
    page.get_by_role("button", name="筛选").click()
    expect(page.locator("h1 small")).to_have_text(by_code)  # the name is the code's filter
    page.get_by_label("单位").fill("不存在的单位")
    page.get_by_role("button", name="筛选").click()
    expect(page.get_by_text("没有名为 不存在的单位 的单位。")).to_be_visible()
