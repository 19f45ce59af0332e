"""Small real files for the attachment tests: a JPEG with EXIF GPS, a PDF."""

from __future__ import annotations

import io

from PIL import Image

GPS_IFD = 0x8825
GPS = {1: "N", 2: (36.0, 4.0, 12.5), 3: "E", 4: (120.0, 22.0, 1.0)}


def jpeg_with_gps(
    size: tuple[int, int] = (80, 60), colour: tuple[int, int, int] = (200, 40, 40)
) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0131] = "CameraApp 1.0"  # Software
    exif[GPS_IFD] = GPS
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def png(size: tuple[int, int] = (40, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (20, 120, 200)).save(out, "PNG")
    return out.getvalue()


PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def gps_of(data: bytes) -> dict[int, object]:
    """The EXIF GPS directory of an image, read back with Pillow ({} when there is none)."""
    return dict(Image.open(io.BytesIO(data)).getexif().get_ifd(GPS_IFD))


def exif_of(data: bytes) -> dict[int, object]:
    return dict(Image.open(io.BytesIO(data)).getexif())
