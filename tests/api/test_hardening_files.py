"""Hostile files over HTTP: spreadsheet bombs sent to the list import, a list whose cells a
spreadsheet would run exported as text and imported back exactly; routes are JSON only."""

from __future__ import annotations

import base64
import csv
import io
from collections.abc import Callable

import pytest
from openpyxl import load_workbook
from sqlalchemy.orm import Session, sessionmaker

from tests.api.conftest import Client
from tests.hostile_files import (
    BOMB,
    FORMULAS,
    claims_a_million_rows,
    counts,
    publish_hostile_list,
    unpacking_to,
    with_entities,
    with_row_at,
)
from workflow.spec.files import FORMULA_START


def exported(admin: Client, fmt: str = "xlsx", chinese: bool = False) -> bytes:
    r = admin.get("/list/export", params={"format": fmt, "chinese": str(chinese).lower()})
    assert r.status_code == 200, r.text
    return r.content


def send(admin: Client, data: bytes, name: str, dry_run: bool = False) -> dict[str, object]:
    body = {"filename": name, "content_base64": base64.b64encode(data).decode()}
    r = admin.post("/list/import", json={**body, "dry_run": dry_run})
    return {"status": r.status_code, **r.json()}


def test_a_sheet_claiming_a_million_rows_imports_as_the_rows_it_has(
    login: Callable[..., Client],
) -> None:
    admin = login("X-SN", "admin")
    out = send(admin, claims_a_million_rows(exported(admin)), "l.xlsx", dry_run=True)
    assert out["status"] == 200 and out["changed"] is False


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (lambda d: with_row_at(d, 1_048_576), "more than 10000 rows"),
        (lambda d: with_row_at(d, 60, "XFD"), "more than 64 columns"),
        (lambda d: unpacking_to(d, 40), "unpacks to more than 32 MiB"),
        (with_entities, "not a readable XLSX workbook: it declares XML entities"),
    ],
)
def test_spreadsheet_bombs_are_a_422_and_publish_nothing(
    login: Callable[..., Client],
    sessions: sessionmaker[Session],
    spoil: Callable[[bytes], bytes],
    message: str,
) -> None:
    admin = login("X-SN", "admin")
    data = spoil(exported(admin))
    before = counts(sessions)
    out = send(admin, data, "l.xlsx")
    assert out["status"] == 422 and out["title"] == "Invalid input"
    assert "nothing published" in str(out["detail"])
    errors = out["errors"]
    assert isinstance(errors, dict)
    assert any(message in m for ms in errors.values() for m in ms), out
    assert counts(sessions) == before


@pytest.fixture
def hostile_list(sessions: sessionmaker[Session]) -> None:
    publish_hostile_list(sessions)


@pytest.mark.parametrize("chinese", [False, True])
def test_the_exported_list_runs_no_formula_and_imports_back_exactly(
    login: Callable[..., Client], hostile_list: None, chinese: bool
) -> None:
    admin = login("X-SN", "admin")
    xlsx = exported(admin, "xlsx", chinese)
    sheet = load_workbook(io.BytesIO(xlsx)).worksheets[0]
    cells = [c for row in sheet.iter_rows() for c in row if c.value is not None]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    assert FORMULAS["name_zh"] in {c.value for c in cells}
    assert all(c.quotePrefix for c in cells if str(c.value).startswith(FORMULA_START))
    out = send(admin, xlsx, "l.xlsx", dry_run=True)
    assert out["status"] == 200 and out["changed"] is False, out

    text = exported(admin, "csv", chinese).decode("utf-8")
    table = list(csv.reader(io.StringIO(text)))
    assert [c for row in table for c in row if c.startswith(FORMULA_START)] == []
    assert {"'" + FORMULAS["name_zh"], "'-第三条", "'\tindented", "''=quoted by hand"} <= {
        c for row in table for c in row
    }
    out = send(admin, text.encode(), "l.csv", dry_run=True)
    assert out["status"] == 200 and out["changed"] is False, out


def test_routes_are_json_only_so_a_yaml_bomb_is_a_415(login: Callable[..., Client]) -> None:
    """The API reads no YAML: a route upload is JSON (whose nesting the JSON reader bounds)."""
    admin = login("X-SN", "admin")
    for path in ("/routes/validate", "/routes"):
        r = admin.post(path, data=BOMB.encode(), headers={"Content-Type": "application/yaml"})
        assert r.status_code == 415
        assert r.headers["Content-Type"].startswith("application/problem+json")
