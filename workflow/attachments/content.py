"""What a file is, by its bytes: a JPEG, PNG or WebP photo (re-encoded by Pillow, so what is
stored is pixels we wrote, without the sender's metadata) or a PDF (checked, stored as sent).
The name and the declared content type are never trusted: a declared type that is not what the
bytes are is refused (a spoofed type)."""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from workflow.attachments.errors import UnsupportedType

JPEG, PNG, WEBP, PDF = "image/jpeg", "image/png", "image/webp", "application/pdf"
IMAGES = (JPEG, PNG, WEBP)
KINDS = (*IMAGES, PDF)
# Pillow's format name of each image kind.
_FORMAT = {JPEG: "JPEG", PNG: "PNG", WEBP: "WEBP"}
# The file name's extensions that say each kind (a name that says another kind is a mismatch).
EXTENSIONS = {
    ".jpg": JPEG,
    ".jpeg": JPEG,
    ".png": PNG,
    ".webp": WEBP,
    ".pdf": PDF,
}
# Old or loose spellings browsers and apps still send.
_ALIASES = {"image/jpg": JPEG, "image/pjpeg": JPEG, "image/x-png": PNG}
# A photo bigger than this on its longer side is scaled down: a phone's 12 MP is 4032 px.
MAX_SIDE = 4096
# Decoding more pixels than this is refused (a decompression bomb: a small file, huge image).
MAX_PIXELS = 50_000_000
# The EXIF directory of the GPS position.
GPS_IFD = 0x8825
# What a PDF may not carry: scripts, actions launching programs, files inside it, forms that
# run code. A shallow check of the raw bytes (compressed object streams are not opened).
_PDF_ACTIVE = re.compile(rb"/(JavaScript|JS|Launch|EmbeddedFile|RichMedia|XFA)\b")


@dataclass(frozen=True)
class Checked:
    """A file that passed: the bytes to store, their kind, and (an image) its size in pixels."""

    data: bytes
    content_type: str
    width: int | None = None
    height: int | None = None
    location_kept: bool = False


def sniff(data: bytes) -> str | None:
    """The kind the bytes are (by their signature), or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    if data.startswith(b"%PDF-"):
        return PDF
    return None


def declared_kind(content_type: str | None, name: str | None) -> str | None:
    """The kind the sender claims: the part's content type (any type but
    application/octet-stream, which claims nothing), else the name's extension; None when it
    claims nothing at all."""
    ct = (content_type or "").split(";")[0].strip().lower()
    ct = _ALIASES.get(ct, ct)
    if ct and ct != "application/octet-stream":
        return ct
    lower = (name or "").lower()
    for ext, kind in EXTENSIONS.items():
        if lower.endswith(ext):
            return kind
    return None


def check(
    data: bytes,
    *,
    content_type: str | None = None,
    name: str | None = None,
    keep_location: bool = False,
) -> Checked:
    """The file as it will be stored; UnsupportedType when its bytes are no kind we take, or not
    the kind its content type (or, without one, its name) says."""
    kind = sniff(data)
    if kind is None:
        raise UnsupportedType(
            "the file is not a JPEG, PNG or WebP photo nor a PDF (judged by its content)",
            {"file": ["not a JPEG, PNG, WebP or PDF file"]},
        )
    claimed = declared_kind(content_type, name)
    if claimed is not None and claimed != kind:
        raise UnsupportedType(
            f"the file says it is {claimed} but its content is {kind}",
            {"file": [f"declared {claimed}, content {kind}"]},
        )
    if kind == PDF:
        return _pdf(data)
    return _image(data, kind, keep_location)


def _pdf(data: bytes) -> Checked:
    if b"%%EOF" not in data[-2048:]:
        raise UnsupportedType(
            "the PDF is cut short (no %%EOF at its end)", {"file": ["not a whole PDF"]}
        )
    if _PDF_ACTIVE.search(data):
        raise UnsupportedType(
            "the PDF carries scripts, actions or embedded files: scan or print it to a plain PDF",
            {"file": ["a PDF with active content"]},
        )
    return Checked(data, PDF)


def _open(data: bytes) -> Image.Image:
    try:
        with warnings.catch_warnings():
            # Over MAX_PIXELS Pillow warns, over twice that it raises: refuse both.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data))
            if im.width * im.height > MAX_PIXELS:
                raise UnsupportedType(
                    f"the image is {im.width}×{im.height} pixels: at most {MAX_PIXELS} pixels",
                    {"file": ["too many pixels"]},
                )
            im.load()
            return im
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as exc:
        raise UnsupportedType(
            f"the image cannot be read: {str(exc)[:200]}", {"file": ["an unreadable image"]}
        ) from None


def _image(data: bytes, kind: str, keep_location: bool) -> Checked:
    im = _open(data)
    gps = im.getexif().get_ifd(GPS_IFD) if keep_location else {}
    # The orientation tag goes with the metadata: turn the pixels the way it said first.
    im = ImageOps.exif_transpose(im) or im
    if max(im.size) > MAX_SIDE:
        im.thumbnail((MAX_SIDE, MAX_SIDE))
    if kind == JPEG and im.mode not in ("RGB", "L"):
        im = im.convert("RGB")
    elif kind != JPEG and im.mode not in ("RGB", "RGBA", "L"):
        im = im.convert("RGBA")  # a palette's transparency kept as alpha
    options: dict[str, object] = {}
    if kind == JPEG:
        options = {"quality": 85, "optimize": True}
    elif kind == WEBP:
        options = {"quality": 85}
    if gps:
        exif = Image.Exif()
        exif[GPS_IFD] = gps
        options["exif"] = exif.tobytes()
    out = io.BytesIO()
    # A new image from the pixels only: no ICC profile, comments, XMP or EXIF are carried over.
    clean = Image.new(im.mode, im.size)
    clean.paste(im)
    clean.save(out, _FORMAT[kind], **options)
    return Checked(out.getvalue(), kind, clean.width, clean.height, location_kept=bool(gps))


def thumbnail(data: bytes, side: int = 160) -> bytes:
    """A small JPEG of a stored image, for lists."""
    im = _open(data)
    im.thumbnail((side, side))
    if im.mode not in ("RGB", "L"):
        im = im.convert("RGB")
    out = io.BytesIO()
    im.save(out, "JPEG", quality=75)
    return out.getvalue()
