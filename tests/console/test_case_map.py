"""A case page's small map: its street framed, its community marked, the point the case was
reported at, in the reader's language; each case its own point, however many maps of the same
street were drawn before it (the street's map is kept without its point)."""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from tests.console.conftest import Browserless
from workflow.places import routing
from workflow.store.models import Case


def the_map(body: str) -> str:
    found = re.search(r'<svg xmlns="http://www.w3.org/2000/svg" class="place-map".*?</svg>', body)
    assert found is not None
    return found.group(0)


def points(svg: str) -> list[str]:
    return re.findall(r'<circle cx="([^"]+)" cy="([^"]+)"', svg)


def test_each_case_page_maps_its_own_point_in_the_readers_language(
    sessions: sessionmaker[Session],
    sign_in_client: Callable[..., Browserless],
    make_case: Callable[..., int],
) -> None:
    first, second, none = (make_case("SW-10") for _ in range(3))
    with sessions.begin() as s:
        places = routing.current(s)
        assert places is not None
        x0, y0, _x1, _y1 = places.boundaries["W-ZHL-01"].bounds
        inside = places.boundaries["W-ZHL-01"].representative_point()
        s.execute(update(Case).where(Case.id == first).values(lat=inside.y, long=inside.x))
        # Another point of the same street's frame, and one with no point at all.
        s.execute(
            update(Case)
            .where(Case.id == second)
            .values(lat=(y0 + inside.y) / 2, long=(x0 + inside.x) / 2)
        )
    clerk = sign_in_client("W-ZHL-01", "clerk")
    maps = {
        cid: the_map(clerk.get(f"/console/cases/{cid}").get_data(as_text=True))
        for cid in (first, second, none)
    }
    assert len(points(maps[first])) == 1 and len(points(maps[second])) == 1
    assert points(maps[first]) != points(maps[second])
    assert points(maps[none]) == []
    # The same street's map under each point: only the point differs.
    assert re.sub(r"<circle[^>]*/>", "", maps[first]) == maps[none]
    assert re.sub(r"<circle[^>]*/>", "", maps[second]) == maps[none]
    # Asked again after the others: the same map, its own point.
    again = the_map(clerk.get(f"/console/cases/{first}").get_data(as_text=True))
    assert again == maps[first]
    assert "社区" in maps[first] or "居" in maps[first]  # the communities named in Chinese
    clerk.get("/console/lang/en")
    english = the_map(clerk.get(f"/console/cases/{first}").get_data(as_text=True))
    assert "Map of" in english and points(english) == points(maps[first])
    assert english != maps[first]
