"""Finding work in the console (without a browser): the search and its filters kept across
numbered pages, the lists beside the inbox, the whole-case overdue flag, the XLSX export."""

from __future__ import annotations

import io
import re
from collections.abc import Callable

from openpyxl import load_workbook
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import T0, open_case_as
from tests.console.conftest import Browserless
from workflow.store.models import Case

IDS = re.compile(r'href="/console/cases/(\d+)"')


def ids_on(body: str) -> list[int]:
    return [int(i) for i in IDS.findall(body)]


def seed(sessions: sessionmaker[Session], n: int, **kw: str) -> list[int]:
    with sessions.begin() as s:
        return [open_case_as(s, **kw).id for _ in range(n)]  # type: ignore[arg-type]


def test_search_pages_keep_the_filters_and_show_each_case_once(
    sessions: sessionmaker[Session], sign_in_client: Callable[..., Browserless]
) -> None:
    wangs = seed(sessions, 30, applicant_name="王小明", description="海口路 12 号")
    seed(sessions, 5, applicant_name="李四")
    c = sign_in_client("W-ZHL-01", "clerk")
    r = c.get("/console/find?q=王小明")
    body = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "30 件" in body or "30 cases" in body
    first = ids_on(body)
    assert len(first) == 25
    nxt = re.search(r'rel="next" href="([^"]+)"', body)
    assert nxt is not None
    link = nxt.group(1).replace("&amp;", "&")
    assert "q=" in link and "after=" in link and "page=2" in link  # the search goes along
    second = ids_on(c.get(link).get_data(as_text=True))
    assert sorted(first + second) == sorted(wangs)
    # Page 2 by its number alone: the same cases.
    assert ids_on(c.get("/console/find?q=王小明&page=2").get_data(as_text=True)) == second


def test_filters_bad_dates_and_lists_refused_without_a_crash(
    sign_in_client: Callable[..., Browserless],
) -> None:
    c = sign_in_client("W-ZHL-01", "clerk")
    assert c.get("/console/find?opened_from=2026-13-40").status_code == 422
    assert c.get("/console/find?view=whistled").status_code == 422  # not a street's list
    assert c.get("/console/find?after=garbage").status_code == 422
    assert c.get("/console/find?q=" + "x" * 101).status_code == 422


def test_lists_beside_the_inbox(
    sessions: sessionmaker[Session],
    sign_in_client: Callable[..., Browserless],
    make_case: Callable[..., int],
) -> None:
    opened = make_case("UD-01")
    forwarded = make_case("UD-01", "accept", "forward")
    clerk = sign_in_client("W-ZHL-01", "clerk")
    body = clerk.get("/console/find?view=opened").get_data(as_text=True)
    assert sorted(ids_on(body)) == sorted([opened, forwarded])
    body = clerk.get("/console/find?view=handled").get_data(as_text=True)
    assert sorted(ids_on(body)) == sorted([opened, forwarded])  # the window held both
    body = clerk.get("/console/find?view=inbox").get_data(as_text=True)
    assert ids_on(body) == [opened]
    street = sign_in_client("S-ZHL", "staff")
    body = street.get("/console/find?view=whistled").get_data(as_text=True)
    assert "本街道吹哨的案件" in body and ids_on(body) == []


def test_a_case_past_its_whole_limit_is_flagged_while_its_stage_is_green(
    sessions: sessionmaker[Session],
    sign_in_client: Callable[..., Browserless],
    make_case: Callable[..., int],
) -> None:
    late = make_case("UD-01")
    on_time = make_case("UD-01")
    with sessions.begin() as s:
        s.execute(update(Case).where(Case.id == late).values(due_at=T0, light="green"))
    c = sign_in_client("W-ZHL-01", "clerk")
    body = c.get("/console/inbox").get_data(as_text=True)
    row = re.search(
        rf'<tr class="row-green">(?:(?!</tr>).)*#{late}<(?:(?!</tr>).)*</tr>', body, re.S
    )
    assert row is not None and "整体超期" in row.group(0)
    body = c.get("/console/find?overdue=1").get_data(as_text=True)
    assert ids_on(body) == [late] and on_time not in ids_on(body)


def test_export_the_current_list_as_xlsx_without_formulas(
    sessions: sessionmaker[Session], sign_in_client: Callable[..., Browserless]
) -> None:
    seed(sessions, 3, applicant_name="=HYPERLINK(1)", description="海口路")
    seed(sessions, 2, applicant_name="李四")
    c = sign_in_client("W-ZHL-01", "clerk")
    r = c.client.get("/console/find/export.xlsx?q=海口路")
    assert r.status_code == 200
    sheet = load_workbook(io.BytesIO(r.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "案件" and len(rows) == 4  # the header, the 3 found
    names = [row[2] for row in rows[1:]]
    assert names == ["=HYPERLINK(1)"] * 3  # the text itself, stored as text
    cells = [sheet.cell(row=i, column=3) for i in range(2, 5)]
    assert all(cell.data_type == "s" for cell in cells)
    assert all(row[3].startswith("138") and "*" in row[3] for row in rows[1:])  # phone masked
