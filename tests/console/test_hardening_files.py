"""Hostile files through the console's upload form (a YAML bomb, deep nesting, spreadsheet
bombs) and the console's appraisal export (no cell a spreadsheet would run)."""

from __future__ import annotations

import base64
import csv
import io
from collections.abc import Callable
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy.orm import Session, sessionmaker

from tests.console.conftest import Browserless
from tests.hostile_files import (
    BOMB,
    BOMB_LINE,
    DEEP,
    FORMULAS,
    claims_a_million_rows,
    counts,
    unpacking_to,
    with_row_at,
)
from workflow.appraisal import records
from workflow.audit import chain
from workflow.catalog import registry
from workflow.catalog.sheet import write_sheet
from workflow.instants import utcnow
from workflow.spec.files import FORMULA_START
from workflow.spec.serialize import record_to_data


def upload(admin: Browserless, data: bytes, name: str) -> tuple[int, str]:
    admin.get("/console/admin/upload")
    r = admin.post(
        "/console/admin/upload",
        {"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )
    return r.status_code, r.get_data(as_text=True)


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (BOMB, BOMB_LINE, "anchors and aliases (&amp;name, *name) are not accepted"),
        (DEEP, 2, "nested deeper than 32 levels"),
        ("name: x\ntitle_zh: 2026-13-45\n", None, "month must be in 1..12"),
    ],
)
def test_a_hostile_route_upload_is_a_red_problem_and_publishes_nothing(
    sign_in_client: Callable[..., Browserless],
    sessions: sessionmaker[Session],
    text: str,
    line: int | None,
    message: str,
) -> None:
    admin = sign_in_client("X-SN", "admin")
    before = counts(sessions)
    status, page = upload(admin, text.encode(), "bomb.yaml")
    assert status == 422
    assert '<h2 class="bad">' in page and "未发布" in page
    assert f"<tr><td>{line or '—'}</td><td><code></code></td><td>malformed YAML: {message}" in page
    # The confirming form carries the file back: refused the same way.
    admin.get("/console/admin/upload")
    r = admin.post(
        "/console/admin/upload",
        {"content": base64.b64encode(text.encode()).decode(), "filename": "bomb.yaml"}
        | {"publish": "yes"},
    )
    assert r.status_code == 422 and message in r.get_data(as_text=True)
    assert counts(sessions) == before


def exported_list(sessions: sessionmaker[Session], tmp_path: Path) -> bytes:
    path = tmp_path / "list.xlsx"
    with sessions() as s:
        items, _ = registry.items(s)
    write_sheet(list(items.values()), path)
    return path.read_bytes()


def test_a_sheet_claiming_a_million_rows_uploads_as_the_rows_it_has(
    sign_in_client: Callable[..., Browserless],
    sessions: sessionmaker[Session],
    tmp_path: Path,
) -> None:
    admin = sign_in_client("X-SN", "admin")
    status, page = upload(admin, claims_a_million_rows(exported_list(sessions, tmp_path)), "l.xlsx")
    assert status == 200 and '<h2 class="good">' in page


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (lambda d: with_row_at(d, 1_048_576), "more than 10000 rows"),
        (lambda d: with_row_at(d, 60, "XFD"), "more than 64 columns"),
        (lambda d: unpacking_to(d, 40), "unpacks to more than 32 MiB"),
    ],
)
def test_a_spreadsheet_bomb_upload_is_a_red_problem_and_publishes_nothing(
    sign_in_client: Callable[..., Browserless],
    sessions: sessionmaker[Session],
    tmp_path: Path,
    spoil: Callable[[bytes], bytes],
    message: str,
) -> None:
    admin = sign_in_client("X-SN", "admin")
    before = counts(sessions)
    status, page = upload(admin, spoil(exported_list(sessions, tmp_path)), "l.xlsx")
    assert status == 422
    assert '<h2 class="bad">' in page and message in page
    assert counts(sessions) == before


def test_the_console_appraisal_export_has_no_formula(
    sign_in_client: Callable[..., Browserless],
    sessions: sessionmaker[Session],
) -> None:
    """A unit named like a formula is exported as text, in XLSX and in CSV."""
    with sessions.begin() as s:
        chain.lock_head(s)
        units = [record_to_data(u) for u in registry.units(s).units.values()]
        for u in units:
            if u["code"] == "W-ZHL-01":
                u["name_zh"] = FORMULAS["name_zh"]
        registry.publish_one(s, "units", "units", {"units": units}, actor="test", now=utcnow())
        records.compute(s, "2026-10")
    auditor = sign_in_client("X-SN", "auditor")

    r = auditor.client.get("/console/appraisal/export.xlsx?period=2026-10")
    assert r.status_code == 200
    sheet = load_workbook(io.BytesIO(r.get_data())).active
    assert sheet is not None
    assert [c.coordinate for row in sheet.iter_rows() for c in row if c.data_type == "f"] == []
    assert {row[1]: row[2] for row in sheet.iter_rows(values_only=True)}["W-ZHL-01"] == (
        FORMULAS["name_zh"]
    )

    r = auditor.client.get("/console/appraisal/export.csv?period=2026-10")
    assert r.status_code == 200
    table = list(csv.reader(io.StringIO(r.get_data().decode("utf-8-sig"))))
    assert [c for row in table for c in row if c.startswith(FORMULA_START)] == []
    assert {row[1]: row[2] for row in table}["W-ZHL-01"] == "'" + FORMULAS["name_zh"]
