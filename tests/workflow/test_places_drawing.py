"""A case's small map: each community's outline is drawn in the frame of the map asked for, the
same however many other maps (other streets, other frames) were drawn before it."""

from __future__ import annotations

import re

from workflow.config import DEFAULT_DEFINITIONS
from workflow.places import drawing
from workflow.places.model import Places
from workflow.spec.loader import read_definitions


def demo_places() -> tuple[Places, dict[str, str]]:
    defs, problems = read_definitions(DEFAULT_DEFINITIONS)
    assert problems == [] and defs is not None and defs.places is not None
    street = {u.code: u.parent or "" for u in defs.units if u.kind == "workstation"}
    return Places.from_data(1, defs.places), street


def street_map(places: Places, street: dict[str, str], code: str, marked: str) -> str:
    return drawing.draw(
        places,
        names={},
        focus=[w for w in places.boundaries if street.get(w) == code],
        marked=marked,
        point=None,
        label=code,
        width=360,
    )


def outline(svg: str, workstation: str) -> str:
    found = re.search(rf'<path d="([^"]+)"[^>]*data-workstation="{workstation}"', svg)
    assert found is not None, workstation
    return found.group(1)


def test_each_map_draws_the_outlines_in_its_own_frame() -> None:
    places, street = demo_places()
    first = street_map(places, street, "S-ZHL", "W-ZHL-01")
    other = street_map(places, street, "S-XGZ", "W-XGZ-01")
    again = street_map(places, street, "S-ZHL", "W-ZHL-01")
    assert again == first
    # The same community, framed on another street, lies elsewhere on that map.
    assert outline(other, "W-ZHL-01") != outline(first, "W-ZHL-01")
    # As drawn from a fresh copy of the places (nothing drawn before it).
    fresh, _ = demo_places()
    assert street_map(fresh, street, "S-XGZ", "W-XGZ-01") == other
    assert street_map(fresh, street, "S-ZHL", "W-ZHL-01") == first


def test_a_map_kept_without_its_point_takes_each_point_where_drawing_puts_it() -> None:
    places, street = demo_places()
    focus = [w for w in places.boundaries if street.get(w) == "S-ZHL"]
    kept = drawing.draw(places, names={}, focus=focus, marked="W-ZHL-01", label="m", width=360)
    x0, y0, x1, y1 = places.boundaries["W-ZHL-01"].bounds
    for point in [((y0 + y1) / 2, (x0 + x1) / 2), (y0, x0), (y1 + 0.01, x1 + 0.01)]:
        drawn = drawing.draw(
            places, names={}, focus=focus, marked="W-ZHL-01", point=point, label="m", width=360
        )
        assert 'class="point"' in drawn
        assert drawing.with_point(kept, places, focus=focus, point=point, width=360) == drawn
