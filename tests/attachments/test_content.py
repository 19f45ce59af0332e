"""A file judged by its bytes: the declared type (or, without one, the name) must say what the
bytes are; images come back as pixels only; PDFs with active content are refused."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from tests.attachments.helpers import PDF, exif_of, gps_of, jpeg_with_gps, png
from workflow.attachments import content
from workflow.attachments.errors import UnsupportedType


@pytest.mark.parametrize(
    ("data", "ctype", "name"),
    [
        (png(), "text/plain", "a.png"),  # the type says text
        (png(), "image/jpeg", "a.png"),  # the type says another image
        (png(), "application/octet-stream", "a.pdf"),  # no type, the name says PDF
        (PDF, "image/png", "a.png"),
        (b"GIF89a\x01\x00\x01\x00", "image/gif", "a.gif"),  # a kind not taken
        (b"MZ\x90\x00", "image/jpeg", "a.jpg"),  # a program sent as a photo
    ],
)
def test_spoofed_or_unknown_kinds_are_refused(data: bytes, ctype: str, name: str) -> None:
    with pytest.raises(UnsupportedType):
        content.check(data, content_type=ctype, name=name)


@pytest.mark.parametrize(
    ("ctype", "name"),
    [("image/png", "x"), ("image/x-png", "x.png"), ("application/octet-stream", "X.PNG"), ("", "")],
)
def test_what_is_taken(ctype: str, name: str) -> None:
    assert content.check(png(), content_type=ctype, name=name).content_type == "image/png"


def test_a_photo_loses_its_metadata_and_keeps_its_orientation() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # turned: the camera held sideways
    exif[0x8825] = {1: "N", 2: (36.0, 4.0, 12.5)}
    out = io.BytesIO()
    Image.new("RGB", (60, 40)).save(out, "JPEG", exif=exif.tobytes(), comment=b"secret")
    checked = content.check(out.getvalue(), content_type="image/jpeg")
    im = Image.open(io.BytesIO(checked.data))
    assert im.size == (40, 60)  # turned as the tag said, the tag gone
    assert exif_of(checked.data) == {} and "comment" not in im.info
    assert gps_of(content.check(jpeg_with_gps(), keep_location=True).data)


def test_a_pdf_with_a_script_or_cut_short_is_refused() -> None:
    with pytest.raises(UnsupportedType):
        content.check(PDF.replace(b"/Type/Catalog", b"/OpenAction<</S/JavaScript/JS(x)>>"))
    with pytest.raises(UnsupportedType):
        content.check(PDF[:-7])
    assert content.check(PDF).data == PDF


def test_too_many_pixels_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(content, "MAX_PIXELS", 100)
    with pytest.raises(UnsupportedType):
        content.check(png((20, 20)))
