"""Places in a real browser: the location fields at intake, a case's server-drawn map with its
community and point, and the hot spots page of a street and of the district."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect
from shapely.geometry import shape
from sqlalchemy.orm import Session, sessionmaker

from tests.api.test_places_routing import FEATURES
from workflow.actors import Actor
from workflow.places.drawing import RAMP
from workflow.runtime import engine

pytestmark = pytest.mark.browser


def inside(code: str) -> tuple[float, float]:
    p = next(
        shape(f["geometry"]) for f in FEATURES if f["properties"]["workstation"] == code
    ).representative_point()
    return round(p.y, 6), round(p.x, 6)


def test_intake_location_then_the_case_map(page: Any, sign_in: Callable[..., str]) -> None:
    sign_in(page, "W-ZHL-01", "clerk")
    page.goto("/console/cases/new?item=UD-01")
    lat, long = inside("W-ZHL-01")
    page.get_by_label(
        "位置", exact=True
    ).check()  # the item's materials, checked since the intake checks them
    page.get_by_label("照片", exact=True).check()
    page.get_by_label("申请人姓名").fill("王芳")
    page.get_by_label("地址").fill("香港花园 3 号楼")
    page.get_by_label("纬度").fill(str(lat))
    page.get_by_label("经度").fill(str(long))
    page.get_by_role("button", name="登记案件").click()
    expect(page.get_by_text(re.compile(r"案件 \d+ 已登记"))).to_be_visible()
    location = page.locator("dd.location")
    expect(location).to_contain_text(f"{lat:.6f}, {long:.6f}")
    expect(location).to_contain_text("香港花园 3 号楼")
    svg = page.locator("dd.case-map svg.place-map")
    expect(svg).to_be_visible()
    # The street's five communities drawn, this one outlined, the point on it.
    assert svg.locator("path[data-workstation^='W-ZHL-']").count() >= 5
    expect(svg.locator("path.marked")).to_have_count(1)
    expect(svg.locator("circle.point")).to_be_visible()
    # A bad coordinate is refused with the field named, and nothing opened.
    page.goto("/console/cases/new?item=UD-01")
    page.get_by_label("位置", exact=True).check()
    page.get_by_label("照片", exact=True).check()
    page.get_by_label("申请人姓名").fill("王芳")
    page.get_by_label("纬度").fill("north")
    page.get_by_label("经度").fill("120.4")
    page.get_by_role("button", name="登记案件").click()
    expect(page.locator(".field-error")).to_contain_text("lat")


def test_a_case_placed_by_open311_shows_where(
    page: Any, sign_in: Callable[..., str], sessions: sessionmaker[Session]
) -> None:
    lat, long = inside("W-XGZ-04")
    with sessions.begin() as s:
        case = engine.open_case(
            s,
            item="UD-02",
            workstation=None,
            actor=Actor("hotline-12345", None, "applicant"),
            applicant_name="李雷",
            applicant_phone="",
            channel="hotline-12345",
            lat=lat,
            long=long,
        )
        cid, ws = case.id, case.workstation
    assert ws == "W-XGZ-04"
    sign_in(page, "W-XGZ-04", "clerk")
    page.goto(f"/console/cases/{cid}")
    expect(page.locator("dd.location")).to_contain_text(f"{lat:.6f}")
    expect(page.locator("dd.case-map svg.place-map circle.point")).to_be_visible()
    expect(page.locator("dd.case-map svg title").first).to_contain_text("南京路社区")


def test_hotspots_of_a_street_and_of_the_district(
    page: Any, sign_in: Callable[..., str], make_case: Callable[..., int]
) -> None:
    make_case("UD-01")
    make_case("UD-01")
    make_case("UD-03")
    make_case("UD-02", workstation="W-ZHL-02")
    make_case("UD-01", workstation="W-XGZ-01")
    sign_in(page, "S-ZHL", "staff")
    page.goto("/console/inbox")
    page.get_by_role("link", name="热点").click()
    expect(page.get_by_role("heading", name=re.compile("热点"))).to_contain_text("4 件")
    rows = page.locator("table.hotspot-communities tbody tr")
    expect(rows).to_have_count(5)
    expect(rows.first).to_contain_text("香港花园社区")
    expect(rows.first.locator("td").nth(1)).to_have_text("3")
    svg = page.locator(".hotspot-map svg.place-map")
    expect(svg).to_be_visible()
    # The busiest community has the darkest shade; one without cases the lightest grey.
    assert svg.locator("path[data-workstation='W-ZHL-01']").get_attribute("fill") == RAMP[-1]
    assert svg.locator("path[data-workstation='W-ZHL-05']").get_attribute("fill") == "#f2f2f2"
    cells = page.locator("table.hotspot-cells tbody tr")
    expect(cells.first).to_contain_text("UD-01")
    expect(cells.first.locator("td").nth(2)).to_have_text("2")
    expect(page.get_by_text("社区边界为示意（演示数据）。")).to_be_visible()
    # The same page in English.
    page.goto("/console/lang/en?next=/console/hotspots")
    expect(page.get_by_role("heading", name=re.compile("Hot spots"))).to_contain_text("4 cases")


def test_the_district_chooses_a_street(
    page: Any, sign_in: Callable[..., str], make_case: Callable[..., int]
) -> None:
    make_case("UD-01")
    make_case("UD-01", workstation="W-XGZ-01")
    sign_in(page, "X-SN", "admin")
    page.goto("/console/hotspots")
    expect(page.get_by_role("heading", name=re.compile("热点"))).to_contain_text("全区 · 共 2 件")
    assert page.locator(".hotspot-map svg path[data-workstation]").count() == 50
    page.get_by_label("街道").select_option(label="香港中路街道")
    page.get_by_role("button", name="显示").click()
    expect(page.get_by_role("heading", name=re.compile("热点"))).to_contain_text("1 件")
    expect(page.locator("table.hotspot-communities tbody tr")).to_have_count(5)


def test_a_workstation_has_no_hotspots_page(page: Any, sign_in: Callable[..., str]) -> None:
    sign_in(page, "W-ZHL-01", "clerk")
    page.goto("/console/inbox")
    expect(page.get_by_role("link", name="热点")).to_have_count(0)
    r = page.goto("/console/hotspots")
    assert r.status == 403
