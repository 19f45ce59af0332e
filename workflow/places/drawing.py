"""Maps drawn from the published boundaries as SVG text, on the server: no tile server, no
script. A case's small map (its community marked, the point it was reported at) and the hot
spots' choropleth (communities shaded by their number of cases)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from .model import Places

# ColorBrewer's YlOrRd, light to dark: five classes of "how many".
RAMP = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")
EMPTY = "#f2f2f2"
PLAIN = "#e8eef3"
OUTSIDE = "#fafafa"  # communities around the framed ones
MARK = "#1f6feb"


class _Frame:
    """Degrees to SVG units: longitude shrunk by cos(latitude), north up, within WIDTH x
    HEIGHT (a tall street is drawn narrower, not longer)."""

    def __init__(
        self, bounds: tuple[float, float, float, float], width: float, height: float
    ) -> None:
        x0, y0, x1, y1 = bounds
        self.x0, self.y1 = x0, y1
        self.kx = math.cos(math.radians((y0 + y1) / 2))
        span_x = max((x1 - x0) * self.kx, 1e-9)
        span_y = max(y1 - y0, 1e-9)
        self.scale = min(width / span_x, height / span_y)
        self.width = max(span_x * self.scale, 1.0)
        self.height = max(span_y * self.scale, 1.0)

    def xy(self, long: float, lat: float) -> tuple[float, float]:
        return (long - self.x0) * self.kx * self.scale, (self.y1 - lat) * self.scale


def _rings(geometry: Any) -> Iterable[Any]:
    polygons = geometry.geoms if geometry.geom_type == "MultiPolygon" else [geometry]
    for p in polygons:
        yield p.exterior
        yield from p.interiors


# A community's outline as drawn in a frame, by the geometry's identity and the frame: a case's
# small map draws every community of the district framed on its street (a few milliseconds a
# case page), and the street's frame is the same for each of its cases. The published places
# never change (a new version is a new object); the geometry is kept with its path so that its
# id is not reused while the entry lives.
_paths: dict[tuple[int, float, float, float, float], tuple[Any, str]] = {}


def _path(geometry: Any, frame: _Frame) -> str:
    key = (id(geometry), frame.x0, frame.y1, frame.kx, frame.scale)
    hit = _paths.get(key)
    if hit is not None and hit[0] is geometry:
        return hit[1]
    path = _draw_path(geometry, frame)
    if len(_paths) >= 20_000:  # a few thousand communities times the frames in use
        _paths.clear()
    _paths[key] = (geometry, path)
    return path


def _draw_path(geometry: Any, frame: _Frame) -> str:
    parts = []
    for ring in _rings(geometry):
        pts = [frame.xy(x, y) for x, y in ring.coords[:-1]]
        parts.append("M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in pts) + "Z")
    return "".join(parts)


def _bounds(places: Places, codes: Iterable[str]) -> tuple[float, float, float, float]:
    boxes = [places.boundaries[c].bounds for c in codes if c in places.boundaries]
    if not boxes:
        return places.bounds()
    x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
    x1, y1 = max(b[2] for b in boxes), max(b[3] for b in boxes)
    pad = max(x1 - x0, y1 - y0) * 0.04
    return x0 - pad, y0 - pad, x1 + pad, y1 + pad


def draw(
    places: Places,
    *,
    names: Mapping[str, str],
    fills: Mapping[str, str] | None = None,
    titles: Mapping[str, str] | None = None,
    focus: Iterable[str] | None = None,
    marked: str | None = None,
    point: tuple[float, float] | None = None,
    label: str = "",
    width: int = 480,
    height: int | None = None,
) -> str:
    """The communities as an SVG map at most WIDTH x HEIGHT (default: square): FOCUS (codes)
    framed (all by default), MARKED outlined, POINT (lat, long) as a dot, FILLS by code, TITLES
    (hover text) by code."""
    focus = list(focus) if focus is not None else list(places.boundaries)
    frame = _Frame(_bounds(places, focus), width, height or width)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="place-map" role="img" '
        f'viewBox="0 0 {frame.width:.0f} {frame.height:.0f}" '
        f'width="{frame.width:.0f}" height="{frame.height:.0f}" aria-label={quoteattr(label)}>'
    ]
    out.append(f"<title>{escape(label)}</title>")
    framed = set(focus)
    for code, geometry in places.boundaries.items():
        fill = (fills or {}).get(code, PLAIN if code in framed else OUTSIDE)
        extra = ' stroke="#333" stroke-width="2.5"' if code == marked else ""
        title = (titles or {}).get(code) or names.get(code, code)
        out.append(
            f'<path d="{_path(geometry, frame)}" fill="{fill}" fill-rule="evenodd" '
            f'stroke="#888" stroke-width="0.6"{extra} data-workstation={quoteattr(code)}>'
            f"<title>{escape(title)}</title></path>"
        )
    if marked is not None and marked in places.boundaries:
        # Drawn again on top so that its outline is not hidden under its neighbours'.
        out.append(
            f'<path d="{_path(places.boundaries[marked], frame)}" fill="none" stroke="#333" '
            f'stroke-width="2.5" class="marked"/>'
        )
    if point is not None:
        out.append(_circle(frame, point))
    out.append("</svg>")
    return "".join(out)


def _circle(frame: _Frame, point: tuple[float, float]) -> str:
    x, y = frame.xy(point[1], point[0])
    return (
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="6" fill="{MARK}" stroke="#fff" '
        f'stroke-width="2" class="point"/>'
    )


def with_point(
    svg: str,
    places: Places,
    *,
    focus: Iterable[str],
    point: tuple[float, float],
    width: int = 480,
    height: int | None = None,
) -> str:
    """SVG, a map draw() made without a point, with POINT (lat, long) as draw() would have put
    it given the same FOCUS, WIDTH and HEIGHT (a map kept without its point serves every point
    in its frame)."""
    frame = _Frame(_bounds(places, list(focus)), width, height or width)
    assert svg.endswith("</svg>")
    return svg[: -len("</svg>")] + _circle(frame, point) + "</svg>"


def shades(counts: Mapping[str, int]) -> dict[str, str]:
    """A fill for each community by its count: none lightest grey, then five classes up to the
    largest count (equal steps: a community with twice the cases is visibly darker)."""
    top = max(counts.values(), default=0)
    out = {}
    for code, n in counts.items():
        if n <= 0 or top <= 0:
            out[code] = EMPTY
        else:
            out[code] = RAMP[min(len(RAMP) - 1, (n * len(RAMP) - 1) // top)]
    return out


def legend(top: int) -> list[tuple[str, str]]:
    """(colour, range of counts) for each class of shades() when the largest count is TOP."""
    if top <= 0:
        return [(EMPTY, "0")]
    rows = [(EMPTY, "0")]
    steps = len(RAMP)
    for i, colour in enumerate(RAMP):
        low = i * top // steps + 1
        high = (i + 1) * top // steps
        if low <= high:
            rows.append((colour, f"{low}–{high}" if low != high else str(low)))
    return rows
