"""退单 in a real browser: a stationed agency asks, the district reviews from its queue (approves one,
refuses one, then arbitrates the contested one), and the appraisal shows who carries each."""

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

from workflow.actors import Actor
from workflow.config import DEFAULT_TIMEZONE
from workflow.runtime import engine
from workflow.store.models import AppraisalRecord, Case, ReturnRequest

pytestmark = pytest.mark.browser
STREET = Actor("street", "S-ZHL", "staff")


def dispatched(make_case: Callable[..., int], sessions: sessionmaker[Session]) -> int:
    """Dispatched by the street to its enforcement squad (A-ZHL-ZF)."""
    cid = make_case("UD-01", "accept", "forward")
    with sessions.begin() as s:
        engine.fire(s, cid, "dispatch", STREET)
    return cid


def ask_to_return(pg: Any, case_id: int, reason: str) -> None:
    pg.goto(f"/console/cases/{case_id}")
    form = pg.locator("form.return-form")
    form.get_by_label("退单类别").select_option(label="非本单位职责")
    form.get_by_label("理由（必填）").fill(reason)
    form.get_by_role("button", name="申请退单").click()
    expect(pg.get_by_text(re.compile(r"已申请退单 \d+"))).to_be_visible()


def decide(pg: Any, case_id: int, approve: bool, reason: str, **fields: str) -> None:
    pg.goto("/console/returns")
    row = pg.locator("section.review-queue tr", has=pg.get_by_role("link", name=f"#{case_id}"))
    row = row.filter(has=pg.locator("form.decide"))
    expect(row).to_contain_text("非本单位职责")
    expect(row).to_contain_text(re.compile(r"剩余|超时"))  # the time left to decide
    row.get_by_label("理由（必填）").fill(reason)
    if "to" in fields:
        row.get_by_label("改派至（默认退回派单单位）").fill(fields["to"])
    if "at_fault" in fields:
        row.get_by_label("错派单位（承担考核）").fill(fields["at_fault"])
    row.get_by_role("button", name="批准" if approve else "驳回", exact=True).click()
    expect(pg.get_by_text("已同意退单。" if approve else "已驳回退单。")).to_be_visible()


def test_returns_approved_refused_and_arbitrated_in_the_browser(
    page: Any,
    browser: Any,
    server: str,
    sign_in: Callable[..., str],
    make_case: Callable[..., int],
    sessions: sessionmaker[Session],
    shot: Any,
) -> None:
    a, b = dispatched(make_case, sessions), dispatched(make_case, sessions)
    sign_in(page, "A-ZHL-ZF", "staff")
    ask_to_return(page, a, "属于派出所职责，非执法中队")
    ask_to_return(page, b, "不属执法中队")
    # While pending the squad still holds the cases, and cannot ask twice.
    expect(page.locator("form.return-form")).to_have_count(0)
    expect(page.locator(".case-returns")).to_contain_text("待审核")

    district = browser.new_context(base_url=server, locale="zh-CN").new_page()
    sign_in(district, "X-SN", "admin")
    district.goto("/console/returns")
    queue = district.locator("section.review-queue")
    expect(queue.get_by_role("link", name=f"#{a}")).to_be_visible()
    expect(queue.get_by_role("link", name=f"#{b}")).to_be_visible()
    shot(district, "returns-queue")
    decide(district, a, True, "确属派出所职责，街道错派", at_fault="S-ZHL")
    decide(district, b, False, "违建查处属执法中队职责")

    # The squad contests the refusal: the second return goes to arbitration.
    page.goto(f"/console/cases/{b}")
    expect(page.locator(".case-returns")).to_contain_text("已驳回")
    ask_to_return(page, b, "对驳回有异议：涉及暴力抗法，应由派出所处置")
    district.goto("/console/returns")
    expect(district.locator("section.review-queue .arbitration").first).to_be_visible()
    decide(district, b, True, "仲裁：涉及暴力抗法，由派出所负责", to="A-ZHL-PCS")
    # Final: the new holder has no form to bounce it again.
    police = browser.new_context(base_url=server, locale="zh-CN").new_page()
    sign_in(police, "A-ZHL-PCS", "staff")
    police.goto(f"/console/cases/{b}")
    expect(police.locator("form.return-form")).to_have_count(0)
    expect(police.locator(".case-returns")).to_contain_text("仲裁")

    with sessions() as s:
        holders = dict(s.execute(select(Case.id, Case.holder).where(Case.id.in_([a, b]))).all())
        assert holders == {a: "S-ZHL", b: "A-ZHL-PCS"}
        assert [r.status for r in s.execute(select(ReturnRequest)).scalars()] == [
            "approved",
            "refused",
            "approved",
        ]

    # The appraisal, computed in the console, shows who carries each.
    # The city's month (the appraisal's), not UTC's: they differ from 16:00 UTC on a last day.
    period = dt.datetime.now(ZoneInfo(DEFAULT_TIMEZONE)).strftime("%Y-%m")
    district.goto(f"/console/appraisal?period={period}")
    district.get_by_role("button", name=re.compile("计算")).click()
    expect(district.get_by_text(re.compile(r"\d+ "))).not_to_have_count(0)
    with sessions() as s:
        ids = dict(
            s.execute(
                select(AppraisalRecord.unit, AppraisalRecord.id).where(
                    AppraisalRecord.period == period,
                    AppraisalRecord.unit.in_(["A-ZHL-ZF", "S-ZHL", "A-ZHL-PCS"]),
                )
            ).all()
        )
    district.goto(f"/console/appraisal/records/{ids['A-ZHL-ZF']}")
    refusals = district.locator("tr", has=district.get_by_text("退单驳回率", exact=True))
    expect(refusals).to_contain_text("1 / 3")
    # Case B (its refused return) counts against the squad; case A (approved) does not.
    expect(refusals.locator("a.good").first).to_have_text(f"#{b}")
    expect(refusals.locator("a.bad")).to_have_text(f"#{a}")
    district.goto(f"/console/appraisal/records/{ids['S-ZHL']}")
    expect(
        district.locator("tr", has=district.get_by_text("错派退单", exact=True))
    ).to_contain_text("1")
    district.goto(f"/console/appraisal/records/{ids['A-ZHL-PCS']}")
    expect(
        district.locator("tr", has=district.get_by_text("错派退单", exact=True))
    ).to_contain_text("0")
