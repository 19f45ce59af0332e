"""The list's "Chinese" spreadsheet says names, not codes: a department by its name
(区综合行政执法局, not D-ZF), a route by its title, a stationed agency's kind by its word
(综合执法, not ZF), the limit unit, the flag and the urgency in words. Reading such a sheet turns
the names back into codes (a code is still taken as it is), so that `list import` reads what
`list export --chinese` wrote."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from workflow.catalog import registry

# The columns that hold unit codes (one, or several joined by ';').
UNIT_COLUMNS = ("department", "lead_unit", "assist_units", "whistle_to")
AGENCY_KINDS = {"ZF": "综合执法", "SF": "司法所", "PCS": "派出所", "SJ": "市场监管所"}
LIMIT_UNITS = {"working_days": "工作日", "calendar_days": "自然日", "months": "个月"}
URGENCY = {"normal": "一般", "urgent": "紧急", "critical": "特急"}
FLAG = {"yes": "是"}


@dataclass(frozen=True)
class Names:
    """Code -> name for each kind of coded column."""

    units: Mapping[str, str]
    routes: Mapping[str, str]

    @classmethod
    def of(cls, session: Session) -> Names:
        units = {code: u.name_zh for code, u in registry.units(session).units.items()}
        routes = {n: registry.route(session, n)[0].title_zh for n in registry.route_names(session)}
        return cls(units, routes)

    def tables(self) -> dict[str, Mapping[str, str]]:
        tables: dict[str, Mapping[str, str]] = {c: self.units for c in UNIT_COLUMNS}
        tables.update(
            route=self.routes,
            street_agency=AGENCY_KINDS,
            limit_unit=LIMIT_UNITS,
            urgency=URGENCY,
            public=FLAG,
        )
        return tables


def _each(value: str, table: Mapping[str, str]) -> str:
    return ";".join(table.get(v.strip(), v.strip()) for v in value.split(";"))


def named(columns: tuple[str, ...], row: list[Any], names: Names) -> list[Any]:
    """ROW (cells in the order of COLUMNS) with its codes as names."""
    tables = names.tables()
    return [
        _each(v, tables[c]) if c in tables and isinstance(v, str) and v else v
        for c, v in zip(columns, row, strict=True)
    ]


def coded(rows: list[tuple[int, dict[str, Any]]], names: Names) -> None:
    """ROWS (column -> cell) with their names turned back into codes, in place. A name that is
    not known stays as it is (the checks then say what is wrong with it)."""
    back = {c: {n: code for code, n in t.items()} for c, t in names.tables().items()}
    for _line, row in rows:
        for column, table in back.items():
            value = row.get(column)
            if isinstance(value, str) and value:
                row[column] = _each(value, table)
