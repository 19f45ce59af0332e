"""Photos and documents in the console: at intake (the new-case form), on the case page with a
purpose, listed with thumbnails; in Chinese and English; refused files said on the page."""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api import create_app
from tests.attachments.helpers import PDF, gps_of, jpeg_with_gps
from tests.console.conftest import Browserless
from workflow.actors import Actor
from workflow.runtime import engine
from workflow.store.models import Attachment, Case, TrailEvent


@pytest.fixture
def app(db_url: str, env: Path) -> Iterator[Flask]:
    """The app with its attachment store in the test's instance folder."""
    os.environ["STREETFLOW_ATTACHMENT_MAX_BYTES"] = str(200_000)
    try:
        app = create_app({"DATABASE_URL": db_url, "SECRET_KEY": "test-secret", "TESTING": True})
    finally:
        del os.environ["STREETFLOW_ATTACHMENT_MAX_BYTES"]
    yield app
    app.extensions["streetflow.engine"].dispose()


def test_intake_files_open_with_the_case_or_not_at_all(
    sign_in_client: Callable[..., Browserless],
    sessions: sessionmaker[Session],
    env: Path,
) -> None:
    clerk = sign_in_client("W-ZHL-01", "clerk")
    html = clerk.get("/console/cases/new?item=UD-01").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in html and "扫描件 2" in html
    form = {
        "item": "UD-01",
        "name": "王芳",
        "phone": "13800001111",
        "description": "违建",
        "materials": ["位置", "照片"],  # the checklist ticked, as the clerk does
    }
    # A spoofed photo: the form comes back with the reason, no case is opened, nothing stored.
    r = clerk.post(
        "/console/cases/new",
        {**form, "photos": (io.BytesIO(b"<html>"), "p.jpg", "image/jpeg")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 422
    assert "image/jpeg" in r.get_data(as_text=True) or "JPEG" in r.get_data(as_text=True)
    with sessions() as s:
        assert s.execute(select(Case)).first() is None
    assert not (env / "attachments").exists()
    # A photo and the checklist's 照片 (material 1 of 位置;照片) as a PDF.
    clerk.get("/console/cases/new?item=UD-01")
    r = clerk.post(
        "/console/cases/new",
        {
            **form,
            "photos": (io.BytesIO(jpeg_with_gps()), "现场.jpg", "image/jpeg"),
            "material_1": (io.BytesIO(PDF), "照片.pdf", "application/pdf"),
        },
        content_type="multipart/form-data",
    )
    assert r.status_code == 302, r.get_data(as_text=True)
    case_id = int(r.headers["Location"].rsplit("/", 1)[-1])
    with sessions() as s:
        rows = s.execute(select(Attachment).order_by(Attachment.id)).scalars().all()
        assert [(a.case_id, a.purpose, a.material) for a in rows] == [
            (case_id, "intake", None),
            (case_id, "material", "照片"),
        ]
        assert (
            len(s.execute(select(TrailEvent).where(TrailEvent.action == "attachment.added")).all())
            == 2
        )
    shown = clerk.get(f"/console/cases/{case_id}").get_data(as_text=True)
    assert "照片与材料" in shown and "现场.jpg" in shown and "受理时" in shown
    photo = clerk.client.get(f"/console/attachments/{rows[0].id}")
    assert photo.status_code == 200 and gps_of(photo.data) == {}
    thumb = clerk.client.get(f"/console/attachments/{rows[0].id}/thumb")
    assert thumb.mimetype == "image/jpeg" and max(Image.open(io.BytesIO(thumb.data)).size) <= 160
    # Another street's staff: no such file.
    other = sign_in_client("S-XGZ", "staff")
    assert other.client.get(f"/console/attachments/{rows[0].id}").status_code == 404


def test_before_and_after_photos_in_the_browser(
    page: Any,
    sign_in: Callable[..., str],
    make_case: Callable[..., int],
    sessions: sessionmaker[Session],
    tmp_path: Path,
) -> None:
    cid = make_case("UD-01", "accept", "forward")
    with sessions.begin() as s:
        engine.fire(s, cid, "dispatch", Actor("street", "S-ZHL", "staff"))
    before = tmp_path / "before.jpg"
    before.write_bytes(jpeg_with_gps(colour=(150, 60, 40)))
    fake = tmp_path / "notes.png"
    fake.write_bytes(b"#!/bin/sh\necho not a picture\n")

    sign_in(page, "A-ZHL-ZF", "staff")  # the enforcement squad holds the case
    page.goto(f"/console/cases/{cid}")
    section = page.locator("section.attachments")
    expect(section.get_by_role("heading", name="照片与材料")).to_be_visible()
    expect(section.get_by_text("暂无照片或材料。")).to_be_visible()
    form = section.locator("form.attachment-form")
    form.get_by_label("文件").set_input_files(str(before))
    form.get_by_label("用途").select_option(label="处置前（问题照片）")
    form.get_by_role("button", name="添加").click()
    expect(page.get_by_text("已添加 before.jpg。")).to_be_visible()
    item = page.locator("li.attachment", has_text="before.jpg")
    expect(item).to_contain_text("处置前（问题照片）")
    thumb = item.locator("img.thumb")
    expect(thumb).to_be_visible()
    assert page.evaluate("(img) => img.naturalWidth", thumb.element_handle()) > 0

    # A file that is not a picture, named as one: refused, said on the page, nothing added.
    form = page.locator("form.attachment-form")
    form.get_by_label("文件").set_input_files(str(fake))
    form.get_by_role("button", name="添加").click()
    expect(page.locator(".flash.error").first).to_be_visible()
    with sessions() as s:
        assert [a.name for a in s.execute(select(Attachment)).scalars()] == ["before.jpg"]

    # The timeline names the step; in English the section reads in English.
    expect(page.locator(".timeline")).to_contain_text("添加附件")
    page.get_by_role("link", name="English").click()
    section = page.locator("section.attachments")
    expect(section.get_by_role("heading", name="Photos and documents")).to_be_visible()
    expect(section).to_contain_text(re.compile(r"Before \(photo of the problem\)"))
