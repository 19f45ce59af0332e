"""How many statements the console's busiest pages ask (each costs a few tenths of a millisecond
of ORM work whatever the database's own time): a count that grows back fails here. And the
case page's likely duplicates, now read as a few columns with their scope in one statement,
are the ones the engine finds (duplicates.similar) that the reader may see, in its order."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, update
from sqlalchemy.orm import Session, sessionmaker

from tests.console.conftest import Browserless
from workflow.actors import Actor
from workflow.dispatch import duplicates
from workflow.queries import scope
from workflow.store.models import Case


@contextmanager
def counted(app: Flask) -> Iterator[list[str]]:
    """The reading statements the app's engine runs inside the block."""
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_a: Any) -> None:
        # The reads: a holder's page also records its read of the phone on the trail, whose
        # writes go by Core statements on PostgreSQL and by the driver's on SQLite.
        # The write's lock (PostgreSQL's SELECT ... FOR UPDATE of the chain's head) neither.
        text = statement.strip().upper()
        if text.startswith(("SELECT", "WITH")) and not text.endswith("FOR UPDATE"):
            seen.append(statement)

    engine = app.extensions["streetflow.engine"]
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def statements(app: Flask, client: Browserless, path: str) -> int:
    client.get(path)  # the first request reads what a process keeps (definitions)
    with counted(app) as seen:
        resp = client.get(path)
    assert resp.status_code == 200, (path, resp.status_code)
    return len(seen)


# The most each page may ask, as measured when they were cut (main before: the case page 20, 25
# and 18; the inboxes 7, 11 and 11; the find pages 8, 10 and 11).
CASE_PAGE = {"holder": 12, "street": 13, "auditor": 10}
LISTS = {
    ("W-ZHL-01", "clerk", "/console/inbox"): 5,
    ("W-ZHL-01", "clerk", "/console/find"): 5,
    ("S-ZHL", "staff", "/console/inbox"): 7,
    ("S-ZHL", "staff", "/console/find?view=whistled"): 5,
    ("D-ZF", "staff", "/console/inbox"): 7,
    ("D-ZF", "staff", "/console/find"): 6,
}


def test_the_case_page_asks_few_statements(
    app: Flask,
    sign_in_client: Callable[..., Browserless],
    make_case: Callable[..., int],
) -> None:
    cid = make_case("SW-10", "accept")
    for _ in range(3):  # likely duplicates to show
        make_case("SW-10")
    asked = {
        who: statements(app, sign_in_client(*user), f"/console/cases/{cid}")
        for who, user in (
            ("holder", ("W-ZHL-01", "clerk")),
            ("street", ("S-ZHL", "staff")),
            ("auditor", ("S-ZHL", "auditor")),
        )
    }
    assert all(asked[who] <= most for who, most in CASE_PAGE.items()), (asked, CASE_PAGE)


@pytest.mark.parametrize(("unit", "role", "path"), list(LISTS))
def test_the_inboxes_and_find_pages_ask_few_statements(
    app: Flask,
    sign_in_client: Callable[..., Browserless],
    make_case: Callable[..., int],
    unit: str,
    role: str,
    path: str,
) -> None:
    for _ in range(3):
        make_case("SW-10")
    n = statements(app, sign_in_client(unit, role), path)
    assert n <= LISTS[(unit, role, path)], n


def shown_duplicates(body: str) -> list[int]:
    import re

    return [
        int(i) for i in re.findall(r'<li class="similar-case">\s*<a href="[^"]*">#(\d+)</a>', body)
    ]


def test_the_likely_duplicates_shown_are_the_engines_the_reader_sees(
    sessions: sessionmaker[Session],
    sign_in_client: Callable[..., Browserless],
    make_case: Callable[..., int],
) -> None:
    cid = make_case("SW-10")
    others = [make_case("SW-10") for _ in range(13)]
    elsewhere = make_case("SW-10", workstation="W-BDG-01")  # another community: never
    with sessions.begin() as s:
        # The case at a point; one other far from it, one near, one at another address (and no
        # point), one at the same address written otherwise (spaces, case).
        s.execute(update(Case).where(Case.id == cid).values(lat=31.23, long=121.47))
        s.execute(update(Case).where(Case.id == others[-1]).values(lat=31.33, long=121.47))
        s.execute(update(Case).where(Case.id == others[-2]).values(lat=31.2301, long=121.4701))
        s.execute(update(Case).where(Case.id.in_([cid, others[-3]])).values(address="中山路 1 号"))
        s.execute(update(Case).where(Case.id == others[-4]).values(address="中山路 2 号"))
        s.execute(update(Case).where(Case.id == others[-5]).values(address="中山路1号"))
    with sessions() as s:
        case = s.get(Case, cid)
        assert case is not None
        engine_found = [c.id for c in duplicates.similar(s, case)]
        street = Actor("s", "S-ZHL", "staff")
        expected = [
            i
            for i in engine_found
            if scope.in_scope(s, street, s.get(Case, i))  # type: ignore[arg-type]
        ]
    # The newest ten of those near it: the far one and the other address left out.
    near = [i for i in reversed(others) if i not in (others[-1], others[-4])]
    assert engine_found == near[:10] and elsewhere not in engine_found
    for user in (("W-ZHL-01", "clerk"), ("S-ZHL", "staff")):
        body = sign_in_client(*user).get(f"/console/cases/{cid}").get_data(as_text=True)
        assert shown_duplicates(body) == expected == engine_found, user
    # A department that never held these cases sees none of them (nor this case).
    dept = sign_in_client("D-ZF", "staff")
    assert dept.get(f"/console/cases/{cid}").status_code == 404
