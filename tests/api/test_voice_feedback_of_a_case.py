"""A case's feedback asked by its id (`GET /feedback?case=`, and the case page's 回访 panel): each
reader gets that case's rounds when the case is in their reach, and nothing otherwise, at a
clerk's workstation, a street and the district alike."""

from __future__ import annotations

from collections.abc import Callable

from tests.api.conftest import Client
from workflow.actors import Actor


def at(workstation: str) -> list[tuple[str, Actor]]:
    """Accepted and completed by the workstation's clerk."""
    clerk = Actor(f"clerk@{workstation}", workstation, "clerk")
    return [("accept", clerk), ("complete", clerk)]


def rounds(client: Client, case: int) -> list[int]:
    r = client.get("/feedback", params={"case": case})
    assert r.status_code == 200, r.text
    return [f["case"] for f in r.json()["items"]]


def test_a_case_feedback_is_read_by_those_who_reach_the_case_only(
    login: Callable[..., Client], make_case: Callable[..., int]
) -> None:
    here = make_case("GA-03", "accept", "complete")
    there = make_case("GA-03", *at("W-ZHL-02"), workstation="W-ZHL-02")
    away = make_case("GA-03", *at("W-XGZ-01"), workstation="W-XGZ-01")
    clerk = login("W-ZHL-01", "clerk")
    assert (rounds(clerk, here), rounds(clerk, there), rounds(clerk, away)) == ([here], [], [])
    neighbour = login("W-ZHL-02", "clerk")
    assert (rounds(neighbour, here), rounds(neighbour, there)) == ([], [there])
    street = login("S-ZHL", "callback")
    assert (rounds(street, here), rounds(street, there), rounds(street, away)) == (
        [here],
        [there],
        [],
    )
    district = login("X-SN", "callback")
    assert [rounds(district, c) for c in (here, there, away)] == [[here], [there], [away]]
