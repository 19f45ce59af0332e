"""Open311's list of requests says of each request what its own page says (its last holder once
closed, its first public photo), though the list reads them for all its requests at once."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from tests.api.conftest import Client
from tests.api.test_open311 import filing
from tests.attachments.helpers import jpeg_with_gps, png
from tests.attachments.test_attachments_api import app, upload  # noqa: F401 (its fixture)
from workflow import users

V2 = "/open311/v2"


def test_the_list_says_what_each_request_says(
    anon: Client, login: Callable[..., Client], sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as s:
        _, key = users.add_api_key(s, name="hotline-12345", actor="test")
    ids = []
    for _ in range(3):
        r = anon.post(f"{V2}/requests.json", data=filing(key))
        assert r.status_code == 201, r.text
        ids.append(int(r.json()[0]["service_request_id"]))
    with_photos, closed, plain = ids
    clerk, street = login("W-ZHL-01", "clerk"), login("S-ZHL", "staff")
    upload(clerk, with_photos, png(), "private.png", "image/png")
    first = upload(clerk, with_photos, jpeg_with_gps(), "a.jpg", "image/jpeg", public="true")
    upload(clerk, with_photos, png(), "b.png", "image/png", public="true")
    for who, trigger in (
        (clerk, "accept"),
        (clerk, "forward"),
        (street, "resolve"),
        (clerk, "confirm"),
    ):
        assert who.post(f"/cases/{closed}/transitions", json={"trigger": trigger}).ok

    got = anon.get(f"{V2}/requests.json")
    assert got.status_code == 200, got.text
    listed = {int(r["service_request_id"]): r for r in got.json()}
    assert set(listed) == set(ids)
    for case_id in ids:
        assert listed[case_id] == anon.get(f"{V2}/requests/{case_id}.json").json()[0]
    assert listed[with_photos]["media_url"].endswith(f"/media/{first.json()['id']}")
    assert listed[plain]["media_url"] is None
    assert listed[closed]["status"] == "closed"
    assert listed[closed]["agency_responsible"] == "香港花园社区工作站"
    assert listed[plain]["agency_responsible"] == "香港花园社区工作站"
