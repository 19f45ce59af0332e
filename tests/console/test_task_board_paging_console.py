"""The task board's pager in the console: its links keep the rest of the page's arguments (the
case list's filter and page), and a task cursor not of this list is a problem page, not a 500."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from tests.console.conftest import Browserless
from tests.tasks.test_task_board_paging import whistle


def test_the_console_pagers_keep_the_other_arguments(
    sign_in_client: Callable[..., Browserless], sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as s:
        whistle(s, 27)
    c = sign_in_client("D-GA", "staff")
    html = c.get("/console/inbox?light=red&page=1").get_data(as_text=True)
    assert html.count('<tr class="task ') == 25
    nav = html[html.index('aria-label="任务分页"') :]
    nav = nav[: nav.index("</nav>")]
    # The task board's Next keeps the case list's filter and page, and carries its own cursor.
    assert "light=red" in nav and "task_page=2" in nav and "task_after=" in nav
    assert any(arg in nav for arg in ("?page=1&amp;", "&amp;page=1&amp;", '&amp;page=1"'))
    # A bad cursor: the problem page the case list's bad cursor gives (422), not a 500.
    r = c.get("/console/inbox?task_page=2&task_after=xyz")
    assert r.status_code == c.get("/console/inbox?page=2&after=xyz").status_code == 422
    assert "<html" in r.get_data(as_text=True)
    assert c.get("/console/inbox?task_page=abc").status_code == 200
