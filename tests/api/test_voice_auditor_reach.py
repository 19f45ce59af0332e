"""An auditor reads the ratings of the cases their unit's part of the trail covers: at the
district every rating, at a street its street's, at a department those of the cases it held."""

from __future__ import annotations

from collections.abc import Callable

from tests.api.conftest import Client
from workflow.actors import Actor

STREET = Actor("staff@S-ZHL", "S-ZHL", "staff")
DEPARTMENT = Actor("staff@D-MZ", "D-MZ", "staff")


def rated_cases(client: Client) -> set[int]:
    r = client.get("/feedback", params={"status": "pending"})
    assert r.status_code == 200, r.text
    return {f["case"] for f in r.json()["items"]}


def test_a_department_auditor_sees_the_ratings_of_the_cases_it_held(
    login: Callable[..., Client], make_case: Callable[..., int]
) -> None:
    # A dibao application the civil affairs department (D-MZ) decided, and a permit the
    # workstation finished alone: the department's auditor reviews the first only.
    decided = make_case("SW-02", "accept", "forward", ("forward", STREET), ("approve", DEPARTMENT))
    alone = make_case("GA-03", "accept", "complete")
    assert rated_cases(login("X-SN", "auditor")) >= {decided, alone}
    department = login("D-MZ", "auditor")
    assert rated_cases(department) == {decided}
    (fb,) = department.get("/feedback", params={"case": decided}).json()["items"]
    other = department.get("/feedback", params={"case": alone}).json()["items"]
    assert other == []
    # An auditor reads; the link that lets a resident rate is not theirs to hand out.
    assert fb["link"] is None
