"""What the list-admin tests share: spreadsheets made with openpyxl, cases moved by the engine."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from openpyxl import Workbook
from sqlalchemy.orm import Session

from api.cli import main
from tests.conftest import T0, open_case_as, trail_intact
from tests.conftest import walk as walk_at
from workflow.actors import Actor
from workflow.catalog import registry
from workflow.catalog.sheet import HEADER_OF, item_row
from workflow.spec.model import ItemSpec
from workflow.spec.schemas import ITEM_COLUMNS
from workflow.store.models import Case

CLERK = Actor("clerk", "W-ZHL-01", "clerk")
STREET = Actor("street", "S-ZHL", "staff")


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def rows_of(
    items: Sequence[ItemSpec], *, chinese: bool, english_names: bool = True
) -> list[list[Any]]:
    """The list as spreadsheet rows, header first, as an office would keep it."""
    columns = [c for c in ITEM_COLUMNS if english_names or c != "name_en"]
    header = [HEADER_OF[c] if chinese else c for c in columns]
    keep = [ITEM_COLUMNS.index(c) for c in columns]
    return [header] + [[item_row(i)[k] for k in keep] for i in items]


def write_xlsx(path: Path, rows: list[list[Any]]) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for r in rows:
        sheet.append(r)
    book.save(path)
    return path


def write_csv(path: Path, rows: list[list[Any]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([["" if v is None else v for v in r] for r in rows])
    return path


def published(s: Session) -> list[ItemSpec]:
    items, _ = registry.items(s)
    return list(items.values())


def open_case(s: Session, item: str, workstation: str = "W-ZHL-01") -> int:
    return open_case_as(s, item, workstation=workstation, at=T0).id


def walk(s: Session, case_id: int, *steps: tuple[str, Actor]) -> Case:
    return walk_at(s, case_id, *steps, at=T0)


trail_is_intact = trail_intact
