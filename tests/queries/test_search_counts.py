"""A search's count: exact up to the cap, beyond it an estimate said to be one, whichever way the
count is found (on PostgreSQL an item's, a case number's or a name start's own index may show
first that the search matches more than the cap: paging.any_of)."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from bench.seed import seed_cases
from tests.conftest import T0, seeded
from tests.queries.conftest import actor
from tests.queries.test_lists3 import condition
from workflow.catalog import registry
from workflow.queries import cases, paging, search
from workflow.store.models import Case

N = 12_000
CALLERS = [actor("X-SN", "admin"), actor("S-ZHL", "staff"), actor("W-ZHL-01", "clerk")]


def fill_city(_engine: Engine, sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        seed_cases(s, N, start=T0)


city_db, city = seeded("city", fill_city)


def item_words(s: Session) -> list[str]:
    """Two characters that name the most items, one that names a single item, a whole name."""
    items, _version = registry.items(s)
    names = [it.name_zh for it in items.values()]
    pairs = Counter(p for n in names for p in {n[i : i + 2] for i in range(len(n) - 1)})
    common = [p for p, _n in pairs.most_common(3)]
    single = [p for p, n in pairs.items() if n == 1][:2]
    return [*common, *single, names[0], "路", "王"]


def test_a_searchs_count_is_exact_up_to_the_cap_and_said_to_be_more_beyond(
    city: sessionmaker[Session],
) -> None:
    with city() as s:
        words = item_words(s)
        checked = Counter[bool]()
        for who in CALLERS:
            for q in words:
                for f in (search.Filters(q=q), search.Filters(q=q, state="closed")):
                    where = search.where(s, who, f)
                    really = s.execute(select(func.count(Case.id)).where(*where)).scalar_one()
                    page = cases.list_cases(s, actor=who, filters=f, limit=25)
                    found = search.find(s, actor=who, filters=f, limit=25)
                    assert [c.id for c in page.items] == condition(s, who, f)[:25]
                    assert [c.id for c in found.items] == [c.id for c in page.items]
                    if really <= search.COUNT_CAP:
                        assert (page.total, page.exact) == (really, True), (who, q)
                        assert (found.total, found.exact) == (really, True), (who, q)
                    else:
                        assert not page.exact and page.total is not None, (who, q)
                        assert page.total > search.COUNT_CAP, (who, q)
                        assert not found.exact and found.total > search.COUNT_CAP, (who, q)
                    checked[really > search.COUNT_CAP] += 1
        assert checked[True] >= 4 and checked[False] >= 4


def test_a_searchs_estimate_is_the_one_its_condition_gives(city: sessionmaker[Session]) -> None:
    """Beyond the cap, a search read through its branches (a place's words in the full-text
    index, the items they name, a phone's last digits: paging._count_branches on SQLite)
    estimates from the same runs of ids as its plain condition: the same estimate, whoever
    asks and whatever else the list fixes."""
    with city() as s:
        checked = 0
        for who in CALLERS:
            for q in ("海口路", "路灯不", "珠海路", "138", "占道", *item_words(s)[:2]):
                for f in (search.Filters(q=q), search.Filters(q=q, state="closed")):
                    where = search.where(s, who, f)
                    counted = paging.count_or_estimate(s, Case.id, where, search.COUNT_CAP)
                    page = cases.list_cases(s, actor=who, filters=f, limit=25)
                    assert (page.total, page.exact) == counted, (who, q)
                    found = search.find(s, actor=who, filters=f, limit=25)
                    assert (found.total, found.exact) == counted, (who, q)
                    checked += not counted[1]
        assert checked >= 4  # estimated, beyond the cap
