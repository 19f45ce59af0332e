"""The console's journeys in a real browser, clicking as each kind of user would."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.console.conftest import ROOT, TABLET, fits
from workflow.store.models import Case, DefinitionVersion, TrailEvent

pytestmark = pytest.mark.browser


def test_clerk_opens_moves_and_rates_a_case(
    page: Any,
    sign_in: Callable[..., str],
    shot: Any,
    make_case: Callable[..., int],
    sessions: sessionmaker[Session],
) -> None:
    waiting = [make_case("PS-03"), make_case("GA-05")]
    sign_in(page, "W-ZHL-01", "clerk")
    # Chinese by default: the inbox of the workstation, with its lights and deadlines.
    expect(page.get_by_role("heading", name=re.compile("待办"))).to_be_visible()
    report = page.locator("tr", has=page.get_by_role("link", name=f"#{waiting[0]}"))
    expect(report).to_contain_text("绿灯")
    expect(report).to_contain_text(re.compile(r"剩余 \d+ 小时 \d+ 分"))
    # An item without a response limit has no stage deadline yet: no light.
    expect(page.locator("tr", has=page.get_by_role("link", name=f"#{waiting[1]}"))).to_contain_text(
        "无"
    )
    shot(page, "clerk-1-inbox")

    with page.expect_navigation():  # the page and its script loaded before choosing
        page.get_by_role("link", name="登记新案件").first.click()
    # Each choice reloads the form (JavaScript; without it, the Show button does).
    with page.expect_navigation():
        page.get_by_label("服务窗口").select_option("综合管理")
    with page.expect_navigation():
        page.get_by_label("事项").select_option("GA-03")
    # The item's materials checklist and legal basis.
    expect(page.get_by_text("山东省流动人口服务管理条例")).to_be_visible()
    for material in ("房产证", "出租人身份证", "租赁合同"):
        expect(page.get_by_label(material)).to_be_visible()
    page.get_by_label("房产证").check()
    page.get_by_label("租赁合同").check()
    page.get_by_label("申请人姓名").fill("王芳")
    page.get_by_label("联系电话").fill("13800001234")
    page.get_by_label("诉求描述").fill("出租房屋信息登记")
    shot(page, "clerk-2-new-case")
    page.get_by_role("button", name="登记案件").click()
    # 出租人身份证 was not ticked: refused, the form kept; opened with a reason.
    expect(page.locator(".materials-error")).to_contain_text("出租人身份证")
    expect(page.get_by_label("申请人姓名")).to_have_value("王芳")
    expect(page.get_by_label("房产证")).to_be_checked()
    page.get_by_label("缺少材料时受理的理由").fill("出租人身份证次日补交")
    page.get_by_role("button", name="登记案件").click()

    expect(page.get_by_text(re.compile(r"案件 \d+ 已登记"))).to_be_visible()
    case_id = int(re.search(r"/cases/(\d+)", page.url).group(1))  # type: ignore[union-attr]
    expect(page.locator("dd.state")).to_have_text("已提交")
    assert page.get_by_text("13800001234").is_visible()  # the holder sees the phone
    shot(page, "clerk-3-case-submitted")

    # Refusing would need a reason; accepting does not.
    refuse = page.locator("form.action", has=page.get_by_role("button", name="不予受理"))
    assert refuse.get_by_label("理由（必填）").get_attribute("required") is not None
    page.get_by_role("button", name="受理", exact=True).click()
    expect(page.locator("dd.state")).to_have_text("办理中")
    page.get_by_label("办理结果（必填）").fill("已登记出租房屋信息")
    page.get_by_role("button", name="办结", exact=True).click()
    expect(page.locator("dd.state")).to_have_text("已办结")
    expect(page.locator("dd.case-result")).to_have_text("已登记出租房屋信息")

    # The resident rates, not the window: the one-time link as a QR code to scan.
    expect(page.locator("figure.qr svg")).to_be_visible()
    expect(page.locator("a.feedback-link")).to_contain_text("/f/")
    timeline = page.locator("ol.timeline").inner_text()
    for word in ("登记", "受理", "办结"):
        assert word in timeline
    shot(page, "clerk-4-case-link")

    with sessions() as s:
        case = s.get(Case, case_id)
        assert case is not None
        assert case.state == "completed"
        assert case.form == {"materials": ["房产证", "租赁合同"]}

    # At tablet width the case page needs no sideways scrolling.
    page.set_viewport_size(TABLET)
    page.reload()
    assert fits(page)
    shot(page, "clerk-5-case-tablet")
    page.get_by_role("link", name="待办").click()
    expect(page).to_have_url(re.compile(r"/console/inbox"))  # measured once it has arrived
    page.wait_for_load_state()
    assert fits(page)
    shot(page, "clerk-6-inbox-tablet")

    # The English switch, kept across pages.
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", name=re.compile("Inbox"))).to_be_visible()
    page.get_by_role("link", name="New case").first.click()
    expect(page.get_by_label("Service window")).to_be_visible()
    shot(page, "clerk-7-english")
    page.get_by_role("link", name="中文").click()
    expect(page.get_by_label("服务窗口")).to_be_visible()


def test_street_whistles_and_the_department_reports(
    page: Any,
    sign_in: Callable[..., str],
    shot: Any,
    make_case: Callable[..., int],
    sessions: sessionmaker[Session],
) -> None:
    case_id = make_case("PS-03", "accept", "forward")
    food = make_case("PS-05", "accept", "forward")
    sign_in(page, "S-ZHL", "staff")
    expect(page.get_by_role("link", name=f"#{case_id}")).to_be_visible()
    shot(page, "street-1-inbox")

    # A food complaint goes to the street's stationed market supervision office.
    page.get_by_role("link", name=f"#{food}").click()
    page.get_by_role("button", name="派单", exact=True).click()
    expect(page.locator("dd.state")).to_have_text("派驻机构办理中")
    page.get_by_role("link", name="待办").click()
    expect(page.get_by_role("link", name=f"#{case_id}")).to_be_visible()
    expect(page.get_by_role("link", name=f"#{food}")).to_have_count(0)
    page.get_by_role("link", name=f"#{case_id}").click()

    # The whistle calls one or more departments (the item's first) and needs a reason.
    whistle = page.locator("form.action", has=page.get_by_role("button", name="吹哨"))
    boxes = whistle.locator("fieldset.joint-whistle label")
    expect(boxes.first).to_be_visible()
    assert boxes.all_inner_texts()[:2] == ["区应急管理局", "区综合行政执法局"]
    # The list's lead (区应急管理局) and assisting unit are ticked beforehand; this street calls
    # law enforcement alone.
    expect(whistle.get_by_role("checkbox", name="区应急管理局")).to_be_checked()
    expect(whistle.get_by_role("checkbox", name="区综合行政执法局")).to_be_checked()
    whistle.get_by_role("checkbox", name="区应急管理局").uncheck()
    whistle.get_by_label("理由（必填）").fill("占道经营反复出现，需执法部门到场")
    shot(page, "street-2-whistle-form")
    whistle.get_by_role("button", name="吹哨").click()
    # The street keeps the case; the department's task is on the case's board.
    expect(page.locator("dd.state")).to_have_text("吹哨协同（部门报到办理）")
    board = page.locator("section.task-board")
    expect(board.locator("tr.task", has_text="区综合行政执法局")).to_contain_text("待报到")

    # The street's whistle queue shows it, with the time left to report.
    page.get_by_role("link", name="吹哨报到").click()
    row = page.locator("tr", has=page.get_by_role("link", name=f"#{case_id}"))
    assert re.search(r"剩余 \d+ 小时 \d+ 分", row.inner_text())
    shot(page, "street-3-whistle-queue")
    page.get_by_role("button", name="退出").click()

    # The department: the same queue, addressed to it; it reports for duty from its inbox.
    sign_in(page, "D-ZF", "staff")
    page.get_by_role("link", name="吹哨报到").click()
    row = page.locator("tr", has=page.get_by_role("link", name=f"#{case_id}"))
    assert "区综合行政执法局" in row.inner_text()
    shot(page, "dept-1-whistle-queue")
    page.get_by_role("link", name="待办").click()
    task = page.locator(
        "section.task-board tr.task", has=page.get_by_role("link", name=f"#{case_id}")
    )
    task.get_by_role("button", name="报到", exact=True).click()
    task = page.locator(
        "section.task-board tr.task", has=page.get_by_role("link", name=f"#{case_id}")
    )
    expect(task.locator("td.status")).to_have_text("办理中")
    shot(page, "dept-2-inbox")

    with sessions() as s:
        case = s.get(Case, case_id)
        assert case is not None and (case.state, case.holder) == ("coordinating", "S-ZHL")

    # The agency: the same inbox for its unit.
    page.get_by_role("button", name="退出").click()
    sign_in(page, "A-ZHL-SJ", "staff")
    expect(page.get_by_role("link", name=f"#{food}")).to_be_visible()
    expect(page.get_by_role("link", name=f"#{case_id}")).to_have_count(0)
    shot(page, "agency-1-inbox")


def drawn(page: Any) -> None:
    """Every picture on the page has loaded and has a size (a broken SVG has none)."""
    page.wait_for_function(
        "() => [...document.images].every(i => i.complete && i.naturalWidth > 0)", timeout=10_000
    )


BAD_ROUTE = """\
name: local
title_zh: 社区受理并办结
title_en: Received and decided at the community workstation
initial: submitted
states:
  submitted: {tier: workstation, limit: response}
  processing: {tier: workstation}
  completed: {final: true}
transitions:
  - {trigger: accept, source: submitted, dest: processing, roles: [clerk]}
  - {trigger: complete, source: processing, dest: finished, roles: [clerk]}
"""


def test_admin_reads_the_list_and_publishes_a_route(
    page: Any,
    sign_in: Callable[..., str],
    shot: Any,
    sessions: sessionmaker[Session],
    tmp_path: Any,
) -> None:
    sign_in(
        page, "X-SN", "admin"
    )  # a district administrator: routes and the list bind the district
    # The list by window; each item with its tiers, limits and route diagram.
    expect(page.get_by_role("heading", name="公共安全")).to_be_visible()
    shot(page, "admin-1-list")
    page.get_by_role("link", name="PS-03").click()
    expect(page.get_by_text("街道办事处: 2 个工作日")).to_be_visible()
    expect(page.get_by_text("响应时限：2 个工作小时")).to_be_visible()
    drawn(page)
    expect(page.get_by_role("img", name="incident")).to_be_visible()
    shot(page, "admin-2-item")

    # A broken route: every problem with its line, and nothing published.
    bad = tmp_path / "local.yaml"
    bad.write_text(BAD_ROUTE, encoding="utf-8")
    page.get_by_role("link", name="上传").click()
    page.get_by_label("流程（YAML）或权责清单（XLSX、CSV）").set_input_files(str(bad))
    page.get_by_role("button", name="检查").click()
    expect(page.get_by_role("heading", name=re.compile("问题：未发布"))).to_be_visible()
    rows = page.locator("table.problems tbody tr").all_inner_texts()
    assert any(r.startswith("11") and "finished" in r for r in rows), rows
    shot(page, "admin-3-upload-problems")
    with sessions() as s:
        versions = s.execute(
            select(DefinitionVersion.version).where(
                DefinitionVersion.kind == "route", DefinitionVersion.name == "local"
            )
        ).scalars()
        assert list(versions) == [1]

    # A good one: checked, its changes shown, then published as version 2.
    good = (tmp_path / "local.yaml").with_name("local-v2.yaml")
    text = (
        (ROOT / "definitions" / "routes" / "local.yaml")
        .read_text(encoding="utf-8")
        .replace(
            "  - {trigger: resubmit,",
            "  - {trigger: withdraw, source: awaiting_materials, dest: refused, roles: [clerk],"
            " reason_required: true}\n  - {trigger: resubmit,",
        )
    )
    good.write_text(text, encoding="utf-8")
    page.get_by_label("流程（YAML）或权责清单（XLSX、CSV）").set_input_files(str(good))
    page.get_by_role("button", name="检查").click()
    expect(page.get_by_text("awaiting_materials --withdraw--> refused")).to_be_visible()
    shot(page, "admin-4-upload-valid")
    page.get_by_role("button", name="发布", exact=True).click()
    expect(page.get_by_text("流程 local 已发布为第 2 版。")).to_be_visible()

    # The route's versions, a diagram of each, and the diff between them.
    page.get_by_label("将 v2 与以下版本比较").select_option("1")
    page.get_by_role("button", name="比较").click()
    expect(page.get_by_role("heading", name="v1 至 v2 的变化")).to_be_visible()
    assert (
        page.locator(".diff li.add")
        .inner_text()
        .endswith("awaiting_materials --withdraw--> refused")
    )
    drawn(page)
    expect(page.get_by_role("img", name="local v2")).to_be_visible()
    shot(page, "admin-5-route-diff")

    # The list as a spreadsheet: a bad row is said with its row and column, nothing published.
    rows = (ROOT / "definitions" / "items.csv").read_text(encoding="utf-8").splitlines()
    ga03 = next(i for i, r in enumerate(rows) if r.startswith("GA-03,"))
    bad_rows = list(rows)
    bad_rows[ga03] = rows[ga03].replace(",local,D-GA,3,", ",local,D-GA,three,")
    sheet = tmp_path / "items.csv"
    sheet.write_text("\n".join(bad_rows) + "\n", encoding="utf-8")
    page.get_by_role("link", name="上传").click()
    page.get_by_label("流程（YAML）或权责清单（XLSX、CSV）").set_input_files(str(sheet))
    page.get_by_role("button", name="检查").click()
    expect(
        page.get_by_role("heading", name=re.compile("items.csv 有 1 处问题：未发布"))
    ).to_be_visible()
    problem = page.locator("table.problems tbody tr").first
    expect(problem).to_contain_text(str(ga03 + 1))
    expect(problem).to_contain_text("ws_limit_wd")
    shot(page, "admin-6-list-problems")

    # Fixed, with the workstation's limit shortened: the change is shown, then published.
    good_rows = list(rows)
    good_rows[ga03] = rows[ga03].replace(",local,D-GA,3,", ",local,D-GA,2,")
    sheet.write_text("\n".join(good_rows) + "\n", encoding="utf-8")
    page.get_by_label("流程（YAML）或权责清单（XLSX、CSV）").set_input_files(str(sheet))
    page.get_by_role("button", name="检查").click()
    expect(page.locator("pre.list-diff")).to_contain_text("~ GA-03 出租房屋信息登记")
    expect(page.locator("pre.list-diff")).to_contain_text("ws_limit_wd: 3 -> 2")
    shot(page, "admin-7-list-valid")
    page.get_by_role("button", name="发布", exact=True).click()
    expect(page.get_by_text("权责清单已发布为第 2 版。")).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("第 2 版"))).to_be_visible()


def test_auditor_browses_the_trail_and_a_case_timeline(
    page: Any,
    sign_in: Callable[..., str],
    shot: Any,
    make_case: Callable[..., int],
    sessions: sessionmaker[Session],
) -> None:
    first = make_case("PS-03", "accept", "forward")
    other = make_case("GA-03", "accept")
    sign_in(page, "X-SN", "auditor")
    expect(page.get_by_role("heading", name=re.compile("留痕"))).to_be_visible()
    shot(page, "auditor-1-trail")

    page.get_by_label("案件").fill(str(first))
    page.locator("select[name=action]").select_option("case.transition")
    page.get_by_role("button", name="筛选").click()
    expect(page.locator("table.trail tbody tr")).to_have_count(2)  # the filtered page is there
    rows = page.locator("table.trail tbody tr").all_inner_texts()
    assert len(rows) == 2 and all(f"#{first}" in r for r in rows)
    assert not any(f"#{other}" in r for r in rows)
    assert "上报" in rows[0] and "受理" in rows[1]  # newest first
    shot(page, "auditor-2-trail-filtered")

    page.get_by_role("link", name=f"#{first}").first.click()
    expect(page.locator("ol.timeline li").first).to_be_visible()
    timeline = page.locator("ol.timeline li").all_inner_texts()
    assert [t for t in ("登记", "受理", "上报") if any(t in x for x in timeline)] == [
        "登记",
        "受理",
        "上报",
    ]
    # An auditor reads without the resident's phone, and can change nothing.
    expect(page.get_by_text("138****1234")).to_be_visible()
    expect(page.get_by_text("您目前对此案件没有可办操作。")).to_be_visible()
    shot(page, "auditor-3-case-timeline")
    with sessions() as s:
        reads = s.execute(
            select(TrailEvent).where(
                TrailEvent.case_id == first, TrailEvent.action == "case.personal_data_read"
            )
        ).all()
        assert reads == []


def test_auditor_reads_the_appraisal_dashboard(
    page: Any,
    sign_in: Callable[..., str],
    shot: Any,
    make_case: Callable[..., int],
    sessions: sessionmaker[Session],
) -> None:
    import datetime as dt

    from tests.console.voice import rated_cases

    rated = rated_cases(make_case, sessions)[0]
    make_case("PS-03", "accept", "forward")
    # The month the cases were rated in, in the instance's time zone (not UTC's month).
    month = dt.datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    sign_in(page, "X-SN", "auditor")
    page.get_by_role("link", name="考核").click()
    page.get_by_label("考核期").fill(month)
    page.get_by_role("button", name="显示").click()
    page.get_by_role("button", name=f"计算 {month} 的草稿").click()
    expect(page.get_by_text(re.compile(r"已计算 \d+ 条考核记录"))).to_be_visible()

    # The period's table with scores and ranks, best first; the rest 不参评 (too few cases).
    rows = page.locator("table.appraisal tbody tr")
    expect(rows.first.locator("td").first).to_have_text("1")
    expect(rows.nth(1).locator("td").first).to_have_text("不参评")
    assert rows.count() == 50  # every workstation
    # Charts drawn on the server, with Chinese labels as text.
    bar = page.locator("figure.chart svg").first
    expect(bar).to_contain_text("香港花园社区工作站")
    expect(page.locator("figure.chart svg").nth(1)).to_contain_text(month)
    shot(page, "auditor-6-appraisal")

    # Drill down: the workstation's record and the cases behind its metrics.
    page.locator("table.appraisal").get_by_role("link", name="香港花园社区工作站").click()
    expect(page.get_by_role("heading", name=re.compile("香港花园社区工作站"))).to_be_visible()
    shot(page, "auditor-7-appraisal-record")
    page.get_by_role("link", name=f"#{rated}").first.click()
    expect(page.locator(".feedback-round .rating")).to_contain_text("非常满意")

    page.go_back()
    page.go_back()
    with page.expect_download() as download:
        page.get_by_role("link", name="导出 CSV").click()
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert text.startswith("考核期,单位代码,单位名称") and "香港花园社区工作站" in text
    page.set_viewport_size(TABLET)
    assert fits(page)
    shot(page, "auditor-8-appraisal-tablet")


def test_an_extension_is_asked_and_granted_and_a_supervision_acknowledged(
    page: Any,
    sign_in: Callable[..., str],
    shot: Any,
    make_case: Callable[..., int],
    sessions: sessionmaker[Session],
) -> None:
    import datetime as dt

    from workflow.runtime import sla
    from workflow.store.models import Extension, Supervision

    asked = make_case("PS-03", "accept")
    with sessions() as s:
        case = s.get(Case, asked)
        assert case is not None and case.stage_due_at is not None
        due_before = case.stage_due_at

    # The workstation holds the case and asks its street for two more working days.
    sign_in(page, "W-ZHL-01", "clerk")
    page.get_by_role("link", name=f"#{asked}").click()
    form = page.locator("form.extension-form")
    form.get_by_label("工作日").fill("2")
    form.get_by_label("理由（必填）").fill("需现场复核，等待物业配合")
    shot(page, "clerk-8-extension-form")
    form.get_by_role("button", name="申请").click()
    expect(page.get_by_text("已申请延期。")).to_be_visible()
    expect(page.locator("ol.timeline")).to_contain_text("申请延期")
    page.get_by_role("button", name="退出").click()

    # The street decides it on its extensions page.
    sign_in(page, "S-ZHL", "staff")
    page.get_by_role("link", name="延期").click()
    row = page.locator("table.extensions tr", has=page.get_by_role("link", name=f"#{asked}"))
    expect(row).to_contain_text("需现场复核")
    shot(page, "street-4-extensions")
    row.get_by_role("button", name="批准").click()
    expect(page.get_by_text("已批准延期。")).to_be_visible()
    expect(row).to_contain_text("已批准")
    with sessions() as s:
        ext = s.execute(select(Extension).where(Extension.case_id == asked)).scalar_one()
        case = s.get(Case, asked)
        assert ext.status == "approved" and ext.days == 2
        assert case is not None and case.stage_due_at is not None
        assert case.stage_due_at > due_before

    # A month later the sweep finds the stage late: the street is told, and acknowledges.
    late = make_case("PS-03")
    sla.sweep(sessions, now=dt.datetime.now(dt.UTC) + dt.timedelta(days=30))
    page.get_by_role("link", name="督办").click()
    row = page.locator("table.supervisions tr", has=page.get_by_role("link", name=f"#{late}"))
    expect(row).to_contain_text("已登记")
    shot(page, "street-5-supervisions")
    row.get_by_role("button", name="签收").click()
    expect(page.get_by_text(re.compile(r"督办 \d+ 已签收。"))).to_be_visible()
    expect(page.get_by_role("link", name=f"#{late}")).to_have_count(0)  # no longer open
    with sessions() as s:
        sup = s.execute(select(Supervision).where(Supervision.case_id == late)).scalar_one()
        assert sup.acknowledged_at is not None and sup.unit == "S-ZHL"


def test_auditor_verifies_the_trail_and_sees_where_it_breaks(
    page: Any,
    sign_in: Callable[..., str],
    shot: Any,
    make_case: Callable[..., int],
    engine: Any,
) -> None:
    from tests.audit.helpers import intrude

    case_id = make_case("PS-03", "accept", "forward")
    sign_in(page, "X-SN", "auditor")
    page.get_by_role("button", name="校验留痕").click()
    expect(page.get_by_role("heading", name="留痕完整")).to_be_visible()
    shot(page, "auditor-4-verify-ok")

    # Someone edits a reason behind the engine's back: the next check names that event.
    with engine.connect() as conn:
        seq = conn.exec_driver_sql(
            f"SELECT max(seq) FROM trail_events WHERE case_id = {case_id}"
        ).scalar_one()
    intrude(engine, f"UPDATE trail_events SET reason = 'changed' WHERE seq = {seq}")
    page.get_by_role("button", name="校验留痕").click()
    expect(page.get_by_role("heading", name="留痕已被破坏")).to_be_visible()
    expect(page.locator("section.verify")).to_contain_text(f"#{seq}")
    shot(page, "auditor-5-verify-broken")

    with page.expect_download() as download:
        page.get_by_role("link", name="导出（JSON Lines）").click()
    lines = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
    assert len(lines) >= seq and '"reason":"changed"' in lines[seq - 1]
