"""The list of powers and responsibilities as a spreadsheet (XLSX or CSV, Chinese or English headers): read,
check against the published organisation and routes, and write back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from workflow.catalog import registry, sheet_names
from workflow.errors import NotFound
from workflow.inputs import text_problem
from workflow.spec.checks import check_items
from workflow.spec.files import Problem, csv_table, table_rows, write_table, xlsx_table
from workflow.spec.loader import load_item_rows
from workflow.spec.model import ItemSpec
from workflow.spec.schemas import ITEM_COLUMNS, OPTIONAL_ITEM_COLUMNS, REQUIRED_ITEM_COLUMNS

# The usual headers of the list as district offices keep it, and the column each one fills.
# 英文名称 is not among them: a Chinese sheet usually has no English name (see name_en below).
CHINESE_HEADERS: dict[str, str] = {
    "事项编码": "code",
    "事项名称": "name_zh",
    "英文名称": "name_en",
    "服务窗口": "window",
    "事项类型": "kind",
    "流程": "route",
    "责任部门": "department",
    "社区时限": "ws_limit_wd",
    "街道时限": "street_limit_wd",
    "部门时限": "dept_limit_wd",
    "响应时限": "response_limit_h",
    "街道承办机构": "street_agency",
    "吹哨部门": "whistle_to",
    "申请材料": "materials",
    "实施依据": "legal_basis",
    "时限单位": "limit_unit",
    "网上可办": "public",
    "牵头单位": "lead_unit",
    "协办单位": "assist_units",
    "紧急程度": "urgency",
    "紧急响应时限(分钟)": "urgent_response_min",
    "紧急报到时限(分钟)": "urgent_report_min",
    "紧急办理时限(小时)": "urgent_handling_h",
    "特急响应时限(分钟)": "critical_response_min",
    "特急报到时限(分钟)": "critical_report_min",
    "特急办理时限(小时)": "critical_handling_h",
}
HEADER_OF: dict[str, str] = {v: k for k, v in CHINESE_HEADERS.items()}
# name_en may be missing, and the columns added later (limit unit, public, lead and assisting
# units, urgency and its clock limits): an item keeps its published value of a missing one.
REQUIRED = tuple(c for c in REQUIRED_ITEM_COLUMNS if c != "name_en")
SUFFIXES = (".xlsx", ".csv")


@dataclass(frozen=True)
class SheetList:
    """A list read from a spreadsheet: the items in file order, or the problems."""

    items: tuple[ItemSpec, ...]
    problems: tuple[Problem, ...]
    # The sheet had no English names (each item keeps its published one) ...
    names_missing: bool = False
    # ... and these new items took their Chinese name as their English one.
    names_filled: tuple[str, ...] = ()


def _csv_text(data: bytes) -> str:
    """UTF-8 (with or without Excel's BOM), else GB18030 as a Chinese Excel saves CSV."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("gb18030", errors="replace")


def _english_header(table: list[list[str]]) -> tuple[list[list[str]], dict[str, str]]:
    """TABLE with its header row's Chinese names replaced by the English columns, and the map
    back."""
    if not table:
        return table, {}
    shown: dict[str, str] = {}
    header: list[str] = []
    for h in table[0]:
        name = CHINESE_HEADERS.get(h.strip(), h.strip())
        if name != h.strip():
            shown[name] = h.strip()
        header.append(name)
    return [header, *table[1:]], shown


def _duplicate_columns(table: list[list[str]], rel: str) -> list[Problem]:
    seen: set[str] = set()
    problems = []
    for h in table[0] if table else []:
        if h in seen:
            problems.append(
                Problem(rel, f"column {h!r}", "appears twice (in Chinese and English?)", 1)
            )
        seen.add(h)
    return problems


def _say_column(p: Problem, shown: Mapping[str, str]) -> Problem:
    """Name a column as the sheet's header does: 'column 街道时限 (street_limit_wd)'."""
    head, sep, column = p.place.partition("column ")
    name = column.strip("'")
    # A sheet with Chinese headers hears of a missing column by its Chinese name too.
    header = shown.get(name) or (HEADER_OF.get(name) if shown else None)
    if sep and header:
        return Problem(p.file, f"{head}column {header} ({name})", p.message, p.line)
    return p


def read_sheet(
    data: bytes,
    rel: str,
    *,
    session: Session,
) -> SheetList:
    """Read and check a list: every bad row with its row number and column, or the items.

    Checked against the published units and the latest version of each published route. A
    sheet without English names takes each item's name_en from the published list, and the
    Chinese name for an item the published list does not have."""
    suffix = Path(rel).suffix.lower()
    if suffix == ".xlsx":
        table, problems = xlsx_table(data, rel)
    elif suffix == ".csv":
        table, problems = csv_table(_csv_text(data), rel)
    else:
        return SheetList((), (Problem(rel, "", "not a list file: use .xlsx or .csv"),))
    if table is None:
        return SheetList((), tuple(problems))
    table, shown = _english_header(table)
    dup = _duplicate_columns(table, rel)
    if dup:
        return SheetList((), tuple(dup))
    rows, problems = table_rows(table, rel, ITEM_COLUMNS, REQUIRED)
    for line, row in rows:
        # The text policy: the list's names reach the console, the API and the Open311 XML.
        for column, value in row.items():
            why = text_problem(value) if isinstance(value, str) else None
            if why:
                problems.append(Problem(rel, f"row {line} column {column}", why, line))
    had_en = bool(rows) and "name_en" in rows[0][1]
    if shown:  # a Chinese sheet may say names where the list keeps codes
        sheet_names.coded(rows, sheet_names.Names.of(session))
    filled = _fill_from_published(session, rows)
    items, p2 = load_item_rows(rows, rel)
    problems += p2
    if not rows and not problems:
        problems.append(Problem(rel, "", "no items: the list would be empty", 1))
    units = registry.units(session)
    routes = {name: registry.route(session, name)[0] for name in registry.route_names(session)}
    problems += check_items(items, rel, units.units.values(), routes)
    problems = sorted(
        {_say_column(p, shown) for p in problems},
        key=lambda p: (p.line or 0, p.place, p.message),
    )
    if problems:
        return SheetList((), tuple(problems))
    return SheetList(tuple(i for _, i in items), (), bool(rows) and not had_en, tuple(filled))


def _fill_from_published(session: Session, rows: list[tuple[int, dict[str, str]]]) -> list[str]:
    """Columns a sheet leaves out keep each item's published values: an older sheet's optional
    columns, and the English names (the Chinese name for an item not yet published). The codes
    of the items whose English name was filled that way."""
    if not rows:
        return []
    missing = [c for c in OPTIONAL_ITEM_COLUMNS if c not in rows[0][1]]
    had_en = "name_en" in rows[0][1]
    if not missing and had_en:
        return []
    try:
        published, _ = registry.items(session)
    except NotFound:
        published = {}
    filled: list[str] = []
    for _, row in rows:
        code = row.get("code", "").strip()
        known = published.get(code)
        for column in missing:
            row[column] = _cell(getattr(known, column)) if known else ""
        if not had_en:
            row["name_en"] = known.name_en if known else row.get("name_zh", "")
            if known is None:
                filled.append(code)
    return filled


# ---------------------------------------------------------------- writing


def _cell(value: Any) -> Any:
    """An item's value as a sheet cell: lists joined with ';', a flag as yes or empty."""
    if isinstance(value, tuple):
        return ";".join(value)
    if isinstance(value, bool):
        return "yes" if value else ""
    return value if value is not None else ""


def item_row(item: ItemSpec) -> list[Any]:
    """One item as a row of ITEM_COLUMNS: numbers stay numbers, lists are joined with ';'."""
    return [
        getattr(item, c) if getattr(item, c) is None else _cell(getattr(item, c))
        for c in ITEM_COLUMNS
    ]


def write_sheet(
    items: list[ItemSpec],
    path: Path,
    *,
    chinese: bool = False,
    names: sheet_names.Names | None = None,
) -> None:
    """Write the list to PATH (.xlsx or .csv) so that read_sheet gives the same items back.
    A Chinese sheet with NAMES says units, routes and the other coded columns by their names.

    Text cells stay text: a code like "0101" does not become the number 101, and a legal basis
    like "-第三条" or a name like "=..." is not taken for a formula (see files.write_table)."""
    header = [HEADER_OF[c] if chinese else c for c in ITEM_COLUMNS]
    rows = [item_row(i) for i in items]
    if chinese and names is not None:
        rows = [sheet_names.named(ITEM_COLUMNS, r, names) for r in rows]
    write_table(path, header, rows, sheet_title="权责清单")
