"""`init --demo` puts photos on demo cases; `streetflow attachments verify` finds them intact,
then names a file changed on disk and a row pointed at another file."""

from __future__ import annotations

import io
from pathlib import Path

from click.testing import CliRunner
from PIL import Image
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from api.cli import main
from tests.attachments.helpers import gps_of
from workflow.attachments.storage import FolderStore
from workflow.store.models import Attachment, Case


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_demo_photos_and_their_check(env: Path, sessions: sessionmaker[Session]) -> None:
    code, out = run(
        "init", "--demo", "--days", "3", "--per-workstation", "1",
        "--now", "2026-11-25T10:00:00+08:00",
    )  # fmt: skip
    assert code == 0, out
    assert "demo photos: 5 files on 3 cases" in out
    store = FolderStore(env / "attachments")
    with sessions() as s:
        rows = s.execute(select(Attachment).order_by(Attachment.id)).scalars().all()
        assert [r.purpose for r in rows] == ["intake", "material", "before", "after", "intake"]
        # Only the squad's before photo kept its position; every file is a real picture.
        for r in rows:
            data = store.get(r.sha256)
            assert data is not None and Image.open(io.BytesIO(data)).size
            assert bool(gps_of(data)) == r.location_kept == (r.purpose == "before")
        public = [r for r in rows if r.public]
        assert len(public) == 1
        assert s.get(Case, public[0].case_id).channel != "window"  # type: ignore[union-attr]
    code, out = run("attachments", "verify")
    assert code == 0 and "5 attachment(s) intact" in out, out

    # A file overwritten on disk, a row pointed elsewhere: both named, exit 1.
    store.path(rows[2].sha256).write_bytes(b"not the photo")
    with sessions.begin() as s:
        s.execute(update(Attachment).where(Attachment.id == rows[3].id).values(name="x.jpg"))
    code, out = run("attachments", "verify")
    assert code == 1
    assert f"attachment {rows[3].id}: name: stored 'x.jpg', trail 'after.jpg'" in out
    assert f"attachment {rows[2].id} (case {rows[2].case_id}): file {rows[2].sha256}" in out
    code, out = run("audit", "replay")
    assert code == 1 and f"attachment {rows[3].id}: name" in out


def test_help_has_an_example() -> None:
    code, out = run("attachments", "verify", "--help")
    assert code == 0 and "Example:" in out and "Exit codes:" in out
