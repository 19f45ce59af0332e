"""The console's notification list pages by cursor (Older / Newest), and names a light's
notification in Chinese, and in English after the switch."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from tests.console.conftest import Browserless
from workflow.store.models import Notification

T = dt.datetime(2026, 11, 29, 2, 0, tzinfo=dt.UTC)


def test_the_list_pages_and_names_lights(
    sign_in_client: Callable[..., Browserless], sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as s:
        for i in range(55):
            s.add(
                Notification(
                    unit="D-GA",
                    kind="yellow" if i % 2 else "red",
                    seq=1,
                    case_id=None,
                    data={"event": "stage.red"},
                    created_at=T,
                )
            )
    c = sign_in_client("D-GA", "staff")
    first = c.get("/console/notifications").get_data(as_text=True)
    assert first.count("data-notification=") == 50
    assert "本单位办理的环节亮红灯" in first and "本单位办理的环节亮黄灯" in first
    m = re.search(r'<a rel="next" href="([^"]+)">更早</a>', first)
    assert m is not None
    second = c.get(m.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert second.count("data-notification=") == 5 and 'rel="next"' not in second
    ids = re.findall(r'data-notification="(\d+)"', first + second)
    assert len(set(ids)) == 55
    # A stale cursor shows the first page, not an error.
    assert c.get("/console/notifications?after=xyz").status_code == 200
    c.get("/console/lang/en")
    english = c.get("/console/notifications").get_data(as_text=True)
    assert "A stage your unit holds turned red" in english and ">Older</a>" in english
