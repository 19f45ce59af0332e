"""The whistle form ticks the list's lead and assisting units (属地管理) beforehand."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from tests.console.conftest import Browserless
from tests.tasks.helpers import at_street


def test_the_console_ticks_the_lead_and_assisting_units_beforehand(
    sign_in_client: Callable[..., Browserless], sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as s:
        cid = at_street(s, "UD-07")
    street = sign_in_client("S-ZHL", "staff")
    page = street.get(f"/console/cases/{cid}").get_data(as_text=True)
    assert 'name="targets" value="D-HB" checked' in page
    assert 'name="targets" value="D-GA" checked' in page
    assert 'name="targets" value="D-ZF" checked' not in page
    # Whom the list names to lead, leads (the engine's rule; nothing else to choose).
    assert "selected" not in page.split('name="lead"')[1].split("</select>")[0]
