"""A joint whistle to three departments in a real browser: the street ticks the departments,
each department reports and marks its part done from its inbox (one late, supervised), the
street sends a part back, and resolves only once every part is done."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.tasks.helpers import STREET, at_street
from workflow.runtime import engine, sla
from workflow.store.models import Case, Supervision, Task

pytestmark = pytest.mark.browser

REASON = "违建占道、消防通道堵塞，多部门职责交叉"


def task_row(page: Any, unit_name: str) -> Any:
    return page.locator("section.task-board tr.task", has_text=unit_name)


def report_and_finish(page: Any, case_id: int, result: str) -> None:
    """From the department's inbox: report for duty, then mark the part done with a result."""
    page.get_by_role("link", name="待办").click()
    row = page.locator(
        "section.task-board tr.task", has=page.get_by_role("link", name=f"#{case_id}")
    )
    row.get_by_role("button", name="报到", exact=True).click()
    row = page.locator(
        "section.task-board tr.task", has=page.get_by_role("link", name=f"#{case_id}")
    )
    expect(row.locator("td.status")).to_have_text("办理中")
    row.get_by_label("办理结果（必填）").fill(result)
    row.get_by_role("button", name="办结", exact=True).click()
    expect(
        page.locator("section.task-board tr.task", has=page.get_by_role("link", name=f"#{case_id}"))
    ).to_have_count(0)


def test_a_joint_whistle_in_the_browser(
    page: Any,
    sign_in: Callable[..., str],
    shot: Any,
    sessions: sessionmaker[Session],
) -> None:
    # PS-06 whistled a week ago to D-GA alone: its report is late by now.
    past = engine.utcnow() - dt.timedelta(days=7)
    with sessions.begin() as s:
        case_id = at_street(s, "PS-06", now=past)
        engine.fire(s, case_id, "whistle", STREET, reason=REASON, targets=["D-GA"], now=past)
    sla.sweep(sessions)

    # The street calls two more departments from the case page.
    sign_in(page, "S-ZHL", "staff")
    page.goto(f"/console/cases/{case_id}")
    whistle = page.locator("form.action", has=page.get_by_role("button", name="吹哨"))
    whistle.get_by_role("checkbox", name="区住房和城乡建设局").check()
    whistle.get_by_role("checkbox", name="区综合行政执法局").check()
    whistle.get_by_label("理由（必填）").fill(REASON)
    whistle.get_by_role("button", name="吹哨").click()
    expect(page.locator("dd.state")).to_have_text("吹哨协同（部门报到办理）")
    for name in ("公安市南分局", "区住房和城乡建设局", "区综合行政执法局"):
        expect(task_row(page, name).locator("td.status")).to_have_text("待报到")
    expect(task_row(page, "公安市南分局")).to_contain_text("主办")
    expect(task_row(page, "公安市南分局")).to_contain_text("超时")
    # No way out before the join: the resolve button is not offered.
    expect(page.get_by_role("button", name="办结", exact=True)).to_have_count(0)
    shot(page, "whistle-1-task-board")
    page.get_by_role("button", name="退出").click()

    for unit, result in (
        ("D-GA", "已出警，清理占道人员"),
        ("D-ZJ", "已核查，系违法搭建"),
        ("D-ZF", "已依法拆除违建"),
    ):
        sign_in(page, unit, "staff")
        if unit == "D-ZJ":
            # A department sees its own part of the case, not another's.
            page.goto(f"/console/cases/{case_id}")
            expect(page.locator("section.task-board tr.task")).to_have_count(1)
            expect(task_row(page, "区住房和城乡建设局")).to_be_visible()
            shot(page, "whistle-2-department-sees-its-part")
        report_and_finish(page, case_id, result)
        page.get_by_role("button", name="退出").click()

    # The street sends D-ZJ's part back; D-ZJ redoes it; then the street resolves.
    sign_in(page, "S-ZHL", "staff")
    page.goto(f"/console/cases/{case_id}")
    expect(task_row(page, "区综合行政执法局").locator("td.result")).to_have_text("已依法拆除违建")
    row = task_row(page, "区住房和城乡建设局")
    row.get_by_label("理由（必填）").fill("缺少现场核查记录")
    row.get_by_role("button", name="退回重办").click()
    expect(task_row(page, "区住房和城乡建设局").locator("td.status")).to_have_text("办理中")
    expect(page.get_by_role("button", name="办结", exact=True)).to_have_count(0)
    page.get_by_role("button", name="退出").click()
    sign_in(page, "D-ZJ", "staff")
    report_row = page.locator(
        "section.task-board tr.task", has=page.get_by_role("link", name=f"#{case_id}")
    )
    report_row.get_by_label("办理结果（必填）").fill("补充现场核查记录")
    report_row.get_by_role("button", name="办结", exact=True).click()
    page.get_by_role("button", name="退出").click()
    sign_in(page, "S-ZHL", "staff")
    page.goto(f"/console/cases/{case_id}")
    resolve = page.locator("form.action", has=page.get_by_role("button", name="办结", exact=True))
    resolve.get_by_label("办理结果（必填）").fill("两部门均已处置完毕")
    resolve.get_by_role("button", name="办结", exact=True).click()
    expect(page.locator("dd.state")).to_have_text("已办结待确认")
    shot(page, "whistle-3-resolved")

    with sessions() as s:
        case = s.get(Case, case_id)
        assert case is not None and case.state == "resolved"
        statuses = {
            t.unit: t.status
            for t in s.execute(select(Task).where(Task.case_id == case_id)).scalars()
        }
        assert statuses == {"D-GA": "done", "D-ZJ": "done", "D-ZF": "done"}
        late = (
            s.execute(
                select(Supervision.holder).where(
                    Supervision.case_id == case_id, Supervision.task_id.is_not(None)
                )
            )
            .scalars()
            .all()
        )
        assert late == ["D-GA"]
