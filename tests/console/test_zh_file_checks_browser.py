"""The checks of a street's routing table and of the places files, said in Chinese in the
console (with the English switch), and a refused table changes nothing."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.console import check_wording
from workflow.store.models import DefinitionVersion

pytestmark = pytest.mark.browser


def _versions(sessions: sessionmaker[Session]) -> int:
    with sessions() as s:
        return s.execute(select(func.count()).select_from(DefinitionVersion)).scalar_one()


def test_a_routing_table_that_lengthens_a_limit_is_refused_in_chinese(
    page: Any, sign_in: Callable[..., str], sessions: sessionmaker[Session]
) -> None:
    before = _versions(sessions)
    sign_in(page, "S-ZHL", "admin")
    page.get_by_role("link", name="分办表").click()
    form = page.locator("form.routing-form")
    form.get_by_label("事项").select_option("UD-01")
    form.get_by_label("街道时限（工作日）").fill("99")
    form.get_by_role("button", name="发布").click()
    said = page.get_by_text(re.compile("分拨表有误"))
    expect(said).to_be_visible()
    expect(said).to_contain_text("99 个工作日比区里规定的")
    expect(said).to_contain_text("街道只能缩短时限")
    assert not re.search(r"working days|may only shorten", page.inner_text("body"))
    assert _versions(sessions) == before

    page.get_by_role("link", name="English").click()
    page.get_by_role("link", name=re.compile("Routing table")).first.click()
    form = page.locator("form.routing-form")
    form.get_by_label(re.compile("Item")).select_option("UD-01")
    form.get_by_label(re.compile("Street limit")).fill("99")
    form.get_by_role("button", name=re.compile("Publish")).click()
    expect(page.get_by_text(re.compile("a street may only shorten it"))).to_be_visible()
    assert _versions(sessions) == before


@pytest.mark.parametrize(
    ("sentence", "chinese"),
    [
        ("'W-XX-99' is not a workstation in units.csv", "'W-XX-99' 不是 units.csv 中的社区工作站"),
        (
            "overlaps features[3] (W-ZHL-02) by about 1,234 m²: a place belongs to one community",
            "与 features[3] (W-ZHL-02) 重叠约 1,234 平方米：一处地点只属于一个社区",
        ),
        ("route incident has no street stage", "流程 incident 没有 street 环节"),
        ("must be a Polygon or a MultiPolygon", "须为 Polygon 或 MultiPolygon"),
    ],
)
def test_the_places_and_routing_checks_have_their_chinese(
    sentence: str, chinese: str, app: Any
) -> None:
    from api.console.messages import problem_text

    with app.test_request_context("/console/"):
        assert problem_text(sentence) == chinese
    assert check_wording.check_text("no such sentence") is None
