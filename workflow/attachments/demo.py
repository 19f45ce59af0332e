"""Demo photos: a few demo cases carry pictures drawn here with Pillow (no files shipped), so
newcomers see intake photos, a checklist material, a dispatched squad's before and after
photos, and a public photo on a request filed through Open311. The same instant gives the
same pictures (and the same hashes)."""

from __future__ import annotations

import datetime as dt
import io

from PIL import Image, ImageDraw
from sqlalchemy.orm import Session, sessionmaker

from workflow.actors import Actor
from workflow.attachments import records
from workflow.attachments.records import Upload
from workflow.runtime import engine

_CLERK = Actor("demo:W-ZHL-01", "W-ZHL-01", "clerk")
_STREET = Actor("demo:S-ZHL", "S-ZHL", "staff")
_SQUAD = Actor("demo:A-ZHL-ZF", "A-ZHL-ZF", "staff")
_APP = Actor("app-shinan", None, "applicant")
# Where a phone would have taken the pictures: Zhuhai Road, Shinan (kept in one photo only).
_GPS = {1: "N", 2: (36.0, 3.0, 50.0), 3: "E", 4: (120.0, 22.0, 30.0)}


def picture(scene: str) -> bytes:
    """A small JPEG of SCENE (site, before, after, document) with the EXIF a phone adds."""
    im = Image.new("RGB", (320, 240), (186, 214, 235))  # sky
    d = ImageDraw.Draw(im)
    d.rectangle((0, 150, 320, 240), fill=(120, 120, 120))  # the road
    d.line((0, 195, 320, 195), fill=(240, 240, 240), width=3)
    if scene in ("site", "before"):
        d.rectangle((90, 70, 230, 150), fill=(170, 60, 50))  # a shed built on the pavement
        d.polygon([(80, 70), (160, 30), (240, 70)], fill=(90, 40, 30))
    elif scene == "after":
        d.rectangle((90, 140, 230, 150), fill=(150, 150, 140))  # the cleared pavement
    else:  # a scanned page
        im = Image.new("RGB", (240, 320), (250, 250, 245))
        d = ImageDraw.Draw(im)
        for y in range(40, 300, 22):
            d.line((24, y, 216, y), fill=(60, 60, 60), width=2)
    exif = Image.Exif()
    exif[0x010F] = "DemoPhone"
    exif[0x8825] = _GPS
    out = io.BytesIO()
    im.save(out, "JPEG", quality=80, exif=exif.tobytes())
    return out.getvalue()


def _open(s: Session, at: dt.datetime, actor: Actor, channel: str) -> int:
    return engine.open_case(
        s,
        item="UD-01",
        workstation="W-ZHL-01",
        actor=actor,
        applicant_name="演示居民",
        applicant_phone="13800000000",
        description="演示数据：照片与材料",
        channel=channel,
        now=at,
    ).id


def add_demo_photos(sessions: sessionmaker[Session], *, now: dt.datetime) -> int:
    """Three demo cases with photos; the number of files added."""
    minute = dt.timedelta(minutes=1)
    start = now - dt.timedelta(days=2)
    added = 0

    def add(s: Session, cid: int, actor: Actor, scene: str, at: dt.datetime, **kw: object) -> None:
        nonlocal added
        name = f"{scene}.jpg"
        records.add(s, cid, actor, Upload(picture(scene), name, "image/jpeg"), now=at, **kw)  # type: ignore[arg-type]
        added += 1

    with sessions.begin() as s:
        # At the window: the resident's photo and the checklist's 照片 (the location kept).
        a = _open(s, start, _CLERK, "window")
        add(s, a, _CLERK, "site", start + minute, purpose="intake")
        add(s, a, _CLERK, "document", start + 2 * minute, purpose="material", material="照片")
        # Dispatched to the enforcement squad: its photos before and after the work.
        b = _open(s, start + dt.timedelta(hours=1), _CLERK, "window")
        engine.fire(s, b, "accept", _CLERK, now=start + dt.timedelta(hours=1, minutes=5))
        engine.fire(s, b, "forward", _CLERK, now=start + dt.timedelta(hours=1, minutes=10))
        engine.fire(s, b, "dispatch", _STREET, now=start + dt.timedelta(hours=1, minutes=30))
        at = start + dt.timedelta(hours=3)
        add(s, b, _SQUAD, "before", at, purpose="before", keep_location=True)
        add(s, b, _SQUAD, "after", at + dt.timedelta(hours=2), purpose="after")
        # Filed through Open311: its photo marked public, shown on GET requests.
        c = _open(s, start + dt.timedelta(hours=4), _APP, "app-shinan")
        add(s, c, _CLERK, "site", start + dt.timedelta(hours=5), purpose="intake", public=True)
    return added
