"""The list's own duties (属地管理) give a whistle its default departments: a whistle that names
none calls the item's lead unit to lead and its assisting units, over HTTP and in the console."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from tests.api.conftest import Client
from tests.tasks.helpers import at_street


def test_a_whistle_without_targets_calls_the_lead_and_assisting_units(
    login: Callable[..., Client], sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as s:
        cid = at_street(s, "UD-07")  # lead D-HB, assisting D-GA
    street = login("S-ZHL", "staff")
    r = street.post(
        f"/cases/{cid}/transitions", json={"trigger": "whistle", "reason": "噪声扰民，多部门"}
    )
    assert r.status_code == 200, r.text
    board = {t["unit"]: (t["lead"], t["status"]) for t in r.json()["tasks"]}
    assert board == {"D-HB": (True, "awaiting_report"), "D-GA": (False, "awaiting_report")}
    item = street.get("/items/UD-07").json()
    assert (item["lead_unit"], item["assist_units"]) == ("D-HB", ["D-GA"])
