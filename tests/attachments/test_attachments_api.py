"""Photos and documents on a case over HTTP: uploaded, stripped of their GPS, hashed into the
trail, refused to another street's users, refused when spoofed or too large (nothing stored),
shown to Open311 readers only when public."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from api import create_app
from tests.api.conftest import Client
from tests.attachments.helpers import PDF, exif_of, gps_of, jpeg_with_gps, png
from tests.conftest import trail_intact
from workflow import users
from workflow.attachments import records
from workflow.attachments.storage import FolderStore
from workflow.audit import replay
from workflow.store.models import Attachment, TrailEvent


@pytest.fixture
def app(db_url: str, env: Path) -> Iterator[Flask]:
    """The app with its instance folder (and so its attachment store) in the test's tmp_path;
    files over 200 kB refused."""
    import os

    os.environ["STREETFLOW_ATTACHMENT_MAX_BYTES"] = str(200_000)
    try:
        app = create_app({"DATABASE_URL": db_url, "SECRET_KEY": "test-secret", "TESTING": True})
    finally:
        del os.environ["STREETFLOW_ATTACHMENT_MAX_BYTES"]
    yield app
    app.extensions["streetflow.engine"].dispose()


def stored_files(instance: Path) -> list[Path]:
    root = instance / "attachments"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def upload(client: Client, case_id: int, data: bytes, name: str, ctype: str, **form: str):  # type: ignore[no-untyped-def]
    return client.post(
        f"/cases/{case_id}/attachments", files={"file": (name, data, ctype)}, data=form
    )


def test_a_photo_is_stored_without_its_gps_and_its_hash_is_in_the_trail(
    login: Callable[..., Client],
    make_case: Callable[..., int],
    sessions: sessionmaker[Session],
    env: Path,
) -> None:
    clerk = login("W-ZHL-01", "clerk")
    case_id = make_case("UD-01")
    original = jpeg_with_gps()
    assert gps_of(original)  # the phone's photo carries its position

    r = upload(clerk, case_id, original, "现场.jpg", "image/jpeg", purpose="before")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["purpose"] == "before" and body["content_type"] == "image/jpeg"
    assert body["name"] == "现场.jpg" and body["location_kept"] is False

    got = clerk.get(body["url"])
    assert got.status_code == 200
    assert got.headers["Content-Type"] == "image/jpeg"
    assert gps_of(got.content) == {}
    assert exif_of(got.content) == {}  # the maker and the software are gone too
    assert hashlib.sha256(got.content).hexdigest() == body["sha256"]
    assert body["size"] == len(got.content)

    listed = clerk.get(f"/cases/{case_id}/attachments").json()
    assert [a["id"] for a in listed] == [body["id"]]

    with sessions() as s:
        ev = s.execute(
            select(TrailEvent).where(TrailEvent.action == "attachment.added")
        ).scalar_one()
        assert ev.case_id == case_id and ev.actor == clerk.name
        assert ev.data["sha256"] == body["sha256"]
        assert ev.data["name"] == "现场.jpg" and ev.data["purpose"] == "before"
        assert ev.data["size"] == body["size"]
        assert trail_intact(s)
        assert list(replay.differences(s)) == []
        assert list(records.check_files(s, FolderStore(env / "attachments"))) == []


def test_location_kept_when_asked(
    login: Callable[..., Client], make_case: Callable[..., int]
) -> None:
    clerk = login("W-ZHL-01", "clerk")
    case_id = make_case("UD-01")
    r = upload(clerk, case_id, jpeg_with_gps(), "p.jpg", "image/jpeg", keep_location="true")
    assert r.status_code == 201, r.text
    assert r.json()["location_kept"] is True
    data = clerk.get(r.json()["url"]).content
    assert gps_of(data)[1] == "N"
    assert set(exif_of(data)) == {0x8825}  # the position only, not the maker


def test_another_streets_user_is_refused(
    login: Callable[..., Client], make_case: Callable[..., int]
) -> None:
    clerk = login("W-ZHL-01", "clerk")
    case_id = make_case("UD-01")
    added = upload(clerk, case_id, jpeg_with_gps(), "p.jpg", "image/jpeg").json()
    other = login("S-XGZ", "staff")
    assert other.get(added["url"]).status_code == 404
    assert other.get(f"/cases/{case_id}/attachments").status_code == 404
    r = upload(other, case_id, png(), "x.png", "image/png")
    assert r.status_code == 404
    assert r.headers["Content-Type"] == "application/problem+json"
    # The street's own staff read it.
    street = login("S-ZHL", "staff")
    assert street.get(added["url"]).status_code == 200
    # An auditor of the district reads what was attached, not the file.
    auditor = login("X-SN", "auditor")
    assert [a["id"] for a in auditor.get(f"/cases/{case_id}/attachments").json()] == [added["id"]]
    assert auditor.get(added["url"]).status_code == 403


def test_a_spoofed_content_type_is_refused_and_nothing_stored(
    login: Callable[..., Client],
    make_case: Callable[..., int],
    sessions: sessionmaker[Session],
    env: Path,
) -> None:
    clerk = login("W-ZHL-01", "clerk")
    case_id = make_case("UD-01")
    # A page of HTML and script sent as a photo.
    r = upload(clerk, case_id, b"<html><script>alert(1)</script></html>", "p.jpg", "image/jpeg")
    assert r.status_code == 415, r.text
    assert r.headers["Content-Type"] == "application/problem+json"
    assert "file" in r.json()["errors"]
    # A PDF sent as a JPEG.
    r = upload(clerk, case_id, PDF, "scan.jpg", "image/jpeg")
    assert r.status_code == 415
    assert "application/pdf" in r.json()["detail"]
    # A PDF is taken as a PDF.
    r = upload(
        clerk, case_id, PDF, "户口本.pdf", "application/pdf", purpose="material", material="照片"
    )
    assert r.status_code == 201, r.text
    assert clerk.get(r.json()["url"]).headers["Content-Disposition"].startswith("attachment")
    with sessions() as s:
        assert len(s.execute(select(Attachment)).all()) == 1
    assert len(stored_files(env)) == 1


def test_an_oversized_file_is_refused_with_nothing_stored(
    login: Callable[..., Client],
    make_case: Callable[..., int],
    sessions: sessionmaker[Session],
    env: Path,
) -> None:
    clerk = login("W-ZHL-01", "clerk")
    case_id = make_case("UD-01")
    big = PDF[:-7] + b"0" * 300_000 + b"\n%%EOF\n"
    r = upload(clerk, case_id, big, "big.pdf", "application/pdf")
    assert r.status_code == 413, r.text
    assert r.headers["Content-Type"] == "application/problem+json"
    # Just over the file limit but within the body's room: refused by the file's own check.
    just = PDF[:-7] + b"0" * 200_001 + b"\n%%EOF\n"
    r = upload(clerk, case_id, just, "just.pdf", "application/pdf")
    assert r.status_code == 413, r.text
    assert stored_files(env) == []
    with sessions() as s:
        assert s.execute(select(Attachment)).first() is None
        assert (
            s.execute(select(TrailEvent).where(TrailEvent.action == "attachment.added")).first()
            is None
        )


def test_bad_fields_are_problems(
    login: Callable[..., Client], make_case: Callable[..., int]
) -> None:
    clerk = login("W-ZHL-01", "clerk")
    case_id = make_case("UD-01")
    assert upload(clerk, case_id, png(), "x.png", "image/png", purpose="selfie").status_code == 422
    r = upload(clerk, case_id, png(), "x.png", "image/png", purpose="material", material="护照")
    assert r.status_code == 422
    assert upload(clerk, case_id, png(), "x.png", "image/png", purpose="task").status_code == 422
    r = clerk.post(f"/cases/{case_id}/attachments", json={"file": "x"})
    assert r.status_code == 415
    assert clerk.get("/attachments/999999").status_code == 404


def test_a_tampered_row_is_named_by_replay_and_a_tampered_file_by_the_check(
    login: Callable[..., Client],
    make_case: Callable[..., int],
    sessions: sessionmaker[Session],
    env: Path,
) -> None:
    clerk = login("W-ZHL-01", "clerk")
    case_id = make_case("UD-01")
    first = upload(clerk, case_id, jpeg_with_gps(), "a.jpg", "image/jpeg").json()
    second = upload(clerk, case_id, png(), "b.png", "image/png").json()
    other = jpeg_with_gps(colour=(0, 0, 0))
    # Someone swaps the file on disk for another picture.
    store = FolderStore(env / "attachments")
    store.path(first["sha256"]).write_bytes(other)
    with sessions.begin() as s:
        # ... and someone points the second row at a file of their own.
        s.execute(update(Attachment).where(Attachment.id == second["id"]).values(sha256="0" * 64))
    with sessions() as s:
        diffs = [d for d in replay.differences(s) if d.kind == "attachment"]
        assert [(d.id, d.field) for d in diffs] == [(second["id"], "sha256")]
        problems = list(records.check_files(s, store))
        assert [(p.attachment, p.problem) for p in problems] == [
            (first["id"], "changed"),
            (second["id"], "missing"),
        ]
    # The changed file is never served.
    r = clerk.get(first["url"])
    assert r.status_code == 500
    assert r.headers["Content-Type"] == "application/problem+json"


def test_open311_shows_only_public_files(
    anon: Client,
    login: Callable[..., Client],
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        _, key = users.add_api_key(s, name="hotline-12345", actor="test")
    filing = {
        "api_key": key,
        "service_code": "UD-01",
        "attribute[workstation]": "W-ZHL-01",
        "lat": "36.06",
        "long": "120.38",
        "first_name": "芳",
        "last_name": "王",
        "description": "违建",
    }
    r = anon.post("/open311/v2/requests.json", data=filing)
    assert r.status_code == 201, r.text
    case_id = int(r.json()[0]["service_request_id"])
    clerk = login("W-ZHL-01", "clerk")
    private = upload(clerk, case_id, png(), "private.png", "image/png").json()
    got = anon.get(f"/open311/v2/requests/{case_id}.json").json()[0]
    assert got["media_url"] is None
    assert anon.get(f"/open311/v2/media/{private['id']}").status_code == 404

    shown = upload(
        clerk, case_id, jpeg_with_gps(), "public.jpg", "image/jpeg", public="true"
    ).json()
    got = anon.get(f"/open311/v2/requests/{case_id}.json").json()[0]
    assert got["media_url"].endswith(f"/open311/v2/media/{shown['id']}")
    file = anon.http.get(got["media_url"], timeout=30)
    assert file.status_code == 200 and gps_of(file.content) == {}
    assert anon.get(f"/open311/v2/media/{private['id']}").status_code == 404

    # A case opened at the window is never published, its public files neither.
    window = login("W-ZHL-01", "clerk")
    opened = window.post(
        "/cases",
        json={"item": "UD-01", "workstation": "W-ZHL-01", "applicant": {"name": "李雷"}},
    ).json()
    marked = upload(window, opened["id"], png(), "w.png", "image/png", public="true").json()
    assert anon.get(f"/open311/v2/media/{marked['id']}").status_code == 404


def test_open311_media_url_is_kept_as_a_link(anon: Client, sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        _, key = users.add_api_key(s, name="app", actor="test")
    base = {
        "api_key": key,
        "service_code": "UD-01",
        "attribute[workstation]": "W-ZHL-01",
        "lat": "36.06",
        "long": "120.38",
        "first_name": "芳",
        "last_name": "王",
    }
    link = "https://photos.example.org/abc.jpg"
    r = anon.post("/open311/v2/requests.json", data={**base, "media_url": link})
    assert r.status_code == 201
    case_id = r.json()[0]["service_request_id"]
    assert anon.get(f"/open311/v2/requests/{case_id}.json").json()[0]["media_url"] == link
    r = anon.post("/open311/v2/requests.json", data={**base, "media_url": "javascript:alert(1)"})
    assert r.status_code == 400
