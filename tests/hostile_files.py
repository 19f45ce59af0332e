"""Hostile files for the tests of every interface that reads one: YAML bombs, spreadsheet
bombs, and list cells that a spreadsheet program would run as formulas."""

from __future__ import annotations

import dataclasses
import io
import re
import zipfile
from collections.abc import Callable, Sequence
from typing import Any

from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from workflow.catalog import registry
from workflow.catalog.listdiff import publish_list
from workflow.store.models import DefinitionVersion, TrailEvent

# "Billion laughs": 452 bytes whose aliases expand to 9**9 (387 million) strings.
BOMB = (
    "name: bomb\n"
    "title_zh: 炸弹\n"
    "title_en: the bombs\n"
    "initial: a\n"
    "states: {a: {tier: workstation}}\n"
    'l0: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    "l1: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
    "l2: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
    "l3: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
    "l4: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
    "l5: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
    "l6: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
    "l7: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
    "transitions: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n"
)
BOMB_LINE = 6  # the first anchor
# 5,000 levels of nesting (a stack overflow in a recursive reader).
DEEP = "name: deep\nstates: " + "[" * 5000 + "]" * 5000 + "\n"

# What a spreadsheet program may run: each starts with = + - @, a tab or a CR.
FORMULAS = {
    "name_zh": '=HYPERLINK("http://evil.example/","点我")',
    "name_en": "+1+1",
    "legal_basis": "-第三条",
    "window": "@SUM(A1)",
    "materials": "=1+1;'=already quoted",
}


def counts(sessions: sessionmaker[Session]) -> tuple[int, int]:
    """Trail events and definition versions: a refused file changes neither."""
    with sessions() as s:
        return (
            s.scalar(select(func.count()).select_from(TrailEvent)) or 0,
            s.scalar(select(func.count()).select_from(DefinitionVersion)) or 0,
        )


def publish_hostile_list(sessions: sessionmaker[Session]) -> None:
    """Publish the list (as version 2) with text cells that a spreadsheet would run, and cells
    that start with an apostrophe of their own."""
    with sessions.begin() as s:
        items = list(registry.items(s)[0].values())
        items[0] = dataclasses.replace(
            items[0],
            name_zh=FORMULAS["name_zh"],
            name_en=FORMULAS["name_en"],
            legal_basis=FORMULAS["legal_basis"],
            window=FORMULAS["window"],
            materials=tuple(FORMULAS["materials"].split(";")),
        )
        items[1] = dataclasses.replace(
            items[1], name_en="\tindented", legal_basis="\r依据", window="'=quoted by hand"
        )
        items[2] = dataclasses.replace(items[2], name_en="'kept apostrophe", window="''two")
        publish_list(s, items, actor="test")
        assert registry.latest_version(s, "items", "items") == 2


def workbook(rows: Sequence[Sequence[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for r in rows:
        sheet.append(list(r))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def rezip(
    data: bytes, sheet_xml: Callable[[str], str], extra: dict[str, bytes] | None = None
) -> bytes:
    """DATA (an XLSX) with its first sheet's XML rewritten and EXTRA parts added."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                body = sheet_xml(body.decode()).encode()
            z.writestr(info.filename, body)
        for name, body in (extra or {}).items():
            z.writestr(name, body)
    return out.getvalue()


def claims_a_million_rows(data: bytes) -> bytes:
    """The sheet's dimension says A1:XFD1048576 (17 billion cells); its rows are unchanged."""
    return rezip(
        data,
        lambda x: re.sub(r'<dimension ref="[^"]+"\s*/>', '<dimension ref="A1:XFD1048576"/>', x),
    )


def with_row_at(data: bytes, row: int, column: str = "A") -> bytes:
    """DATA with one more text cell, at COLUMN ROW (Excel numbering)."""
    cell = f'<row r="{row}"><c r="{column}{row}" t="inlineStr"><is><t>x</t></is></c></row>'
    return rezip(data, lambda x: x.replace("</sheetData>", cell + "</sheetData>"))


def unpacking_to(data: bytes, mib: int) -> bytes:
    """DATA with one more part of MIB MiB of zeros (a few KB packed)."""
    return rezip(data, lambda x: x, {"xl/media/zeros.bin": b"\0" * (mib * 1024 * 1024)})


def with_entities(data: bytes) -> bytes:
    """DATA whose first sheet declares XML entities that expand a few bytes to megabytes."""
    dtd = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE worksheet [\n'
        '<!ENTITY a "' + "x" * 1000 + '">\n'
        '<!ENTITY b "' + "&a;" * 1000 + '">\n]>\n'
    )

    def add(x: str) -> str:
        x = re.sub(r"^<\?xml[^>]*\?>\s*", "", x)
        return dtd + x.replace(
            "</sheetData>",
            '<row r="99"><c r="A99" t="inlineStr"><is><t>&b;</t></is></c></row></sheetData>',
        )

    return rezip(data, add)
