"""The organisation and the list over HTTP: the community's committees, the party department,
the list's new columns, and a committee's staff opening and deciding its own items."""

from __future__ import annotations

from collections.abc import Callable

from tests.api.conftest import Client


def test_units_and_items_carry_the_new_organisation_and_columns(
    login: Callable[..., Client],
) -> None:
    me = login("W-ZHL-01", "clerk")
    units = {u["code"]: u for u in me.get("/units").json()}
    assert units["D-ZZB"]["kind"] == "party_department" and units["D-ZZB"]["parent"] is None
    assert (units["P-ZHL-01"]["kind"], units["P-ZHL-01"]["parent"]) == (
        "party_committee",
        "W-ZHL-01",
    )
    assert (units["M-ZHL-01"]["kind"], units["M-ZHL-01"]["parent"]) == (
        "mediation_committee",
        "R-ZHL-01",
    )
    assert units["P-ZHL"]["kind"] == "street_party_committee"
    assert units["C-ZHL"]["kind"] == "service_centre"
    item = me.get("/items/PS-06").json()
    assert (item["lead_unit"], item["assist_units"], item["public"]) == (
        "D-GA",
        ["D-ZJ", "D-ZF"],
        True,
    )
    party = me.get("/items/PB-03").json()
    assert (party["kind"], party["limit_unit"], party["public"]) == ("党内事务", "months", False)
    spec = me.get("/openapi.json")
    if spec.status_code == 200:
        props = spec.json()["components"]["schemas"]["Item"]["properties"]
        assert {"limit_unit", "public", "lead_unit", "assist_units"} <= set(props)


def test_a_party_committee_opens_its_item_and_a_clerk_cannot_decide_it(
    login: Callable[..., Client],
) -> None:
    party = login("P-ZHL-01", "staff")
    r = party.post(
        "/cases",
        json={
            "item": "PB-02",
            "workstation": "W-ZHL-01",
            "applicant": {"name": "王芳", "phone": "13800000000"},
        },
    )
    assert r.status_code == 201, r.text
    case = r.json()
    assert (case["holder"]["code"], case["holder"]["kind"], case["tier"]) == (
        "P-ZHL-01",
        "party_committee",
        "party_committee",
    )
    clerk = login("W-ZHL-01", "clerk")
    refused = clerk.post(
        f"/cases/{case['id']}/transitions",
        json={"trigger": "refuse", "reason": "不办"},
    )
    assert refused.status_code == 403
    # Another community's party committee cannot open at this workstation.
    other = login("P-ZHL-02", "staff")
    r = other.post(
        "/cases",
        json={
            "item": "PB-02",
            "workstation": "W-ZHL-01",
            "applicant": {"name": "王芳", "phone": "13800000000"},
        },
    )
    assert r.status_code == 403
