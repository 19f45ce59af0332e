"""The task board pages like the case lists: a department with thirty open tasks reads them
25 to a page in its inbox (Chinese, then English after the switch), each task once; the case
list beside it keeps its own page (the links of each pager carry the other's); the street's
whistle queue pages its board the same way."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy.orm import Session, sessionmaker

from tests.tasks.helpers import STREET, at_street
from workflow.runtime import engine

pytestmark = pytest.mark.browser

TASKS = 30


def whistle_many(sessions: sessionmaker[Session], n: int) -> list[int]:
    """N cases at Zhuhai Road whistled to D-GA alone: N tasks awaiting its report."""
    ids = []
    with sessions.begin() as s:
        for _ in range(n):
            case_id = at_street(s, "PS-06")
            engine.fire(
                s, case_id, "whistle", STREET, reason="占道经营，需城管报到", targets=["D-GA"]
            )
            ids.append(case_id)
    return ids


def board_cases(page: Any) -> list[str]:
    links = page.locator("section.task-board tr.task td:first-child a")
    return [t.lstrip("#") for t in links.all_inner_texts()]


def test_the_task_board_pages_in_chinese_and_english(
    page: Any, sign_in: Callable[..., str], shot: Any, sessions: sessionmaker[Session]
) -> None:
    ids = whistle_many(sessions, TASKS)
    sign_in(page, "D-GA", "staff")
    page.get_by_role("link", name="待办").click()
    board = page.locator("section.task-board")
    expect(board.locator("h2")).to_contain_text(f"共 {TASKS} 项任务")
    expect(board.locator("tr.task")).to_have_count(25)
    first = board_cases(page)
    pager = board.get_by_role("navigation", name="任务分页")
    expect(pager).to_contain_text("第 1 页，共 2 页")
    shot(page, "task-board-1-zh")
    pager.get_by_role("link", name="下一页").click()
    expect(board.locator("tr.task")).to_have_count(TASKS - 25)
    expect(pager).to_contain_text("第 2 页，共 2 页")
    second = board_cases(page)
    # Each task once, over the two pages, and no other.
    assert sorted(first + second, key=int) == [str(i) for i in sorted(ids)]
    # A step still works from the second page (back to the inbox).
    row = board.locator("tr.task", has=page.get_by_role("link", name=f"#{second[0]}", exact=True))
    row.get_by_role("button", name="报到", exact=True).click()
    expect(page).to_have_url(re.compile(r"/console/inbox$"))
    expect(board.locator("h2")).to_contain_text(f"共 {TASKS} 项任务")
    expect(board.locator("tr.task")).to_have_count(25)
    # By number, as the case lists.
    pager.get_by_role("link", name="2", exact=True).click()
    expect(board.locator("tr.task")).to_have_count(TASKS - 25)
    again = board_cases(page)
    pager.get_by_role("link", name="上一页").click()
    expect(board.locator("tr.task")).to_have_count(25)
    first = board_cases(page)
    assert sorted(first + again, key=int) == [str(i) for i in sorted(ids)]

    page.get_by_role("link", name="English").click()
    expect(board.locator("h2")).to_contain_text(f"{TASKS} tasks")
    pager = board.get_by_role("navigation", name="Task pages")
    expect(pager).to_contain_text("Page 1 of 2")
    pager.get_by_role("link", name="Next").click()
    expect(board.locator("tr.task")).to_have_count(TASKS - 25)
    expect(pager).to_contain_text("Page 2 of 2")
    assert "task_page=2" in page.url
    shot(page, "task-board-2-en")
    pager.get_by_role("link", name="Previous").click()
    expect(board.locator("tr.task")).to_have_count(25)
    assert board_cases(page) == first


def test_the_whistle_queue_pages_its_board(
    page: Any, sign_in: Callable[..., str], sessions: sessionmaker[Session]
) -> None:
    ids = whistle_many(sessions, TASKS)
    sign_in(page, "S-ZHL", "staff")
    page.goto("/console/whistles")
    board = page.locator("section.task-board")
    expect(board.locator("h2")).to_contain_text(f"共 {TASKS} 项任务")
    expect(board.locator("tr.task")).to_have_count(25)
    first = board_cases(page)
    board.get_by_role("navigation", name="任务分页").get_by_role("link", name="下一页").click()
    expect(board.locator("tr.task")).to_have_count(TASKS - 25)
    assert sorted(first + board_cases(page), key=int) == [str(i) for i in sorted(ids)]
    # The case list beside it (cases whistled the old way, awaiting report) stays whole.
    expect(page.locator("table.cases")).to_be_visible()
