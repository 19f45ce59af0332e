"""A period's appraisal records as a table with Chinese headers: CSV or an XLSX workbook."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from workflow.appraisal import records as appraisal
from workflow.catalog import registry
from workflow.errors import InvalidInput, NotFound
from workflow.spec.files import write_table
from workflow.spec.scheme import ASSESSMENT, COUNT_METRICS, RATE_METRICS

KIND_ZH = {
    "workstation": "社区工作站",
    "street_office": "街道办事处",
    "dispatched_agency": "派驻机构",
    "department": "区职能部门",
}
STATUS_ZH = {"draft": "草稿", "final": "已定稿"}
METRIC_ZH = {
    "response_rate": "响应率",
    "on_time_rate": "按时办结率",
    "resolution_rate": "解决率",
    "satisfaction_rate": "满意率",
    "send_back_rate": "退回率",
    "whistle_report_rate": "吹哨报到率",
    "open_overdue": "期末超期未办结(件)",
    "received": "受理(件)",
    "completed": "办结(件)",
    "return_refusal_rate": "退单驳回率",
    "returns_at_fault": "错派退单(件)",
    "reminders": "催办(件)",
    "supervisions": "督办(件)",
    "listed_supervisions": "挂牌督办(件)",
    ASSESSMENT: "街道考核评价",
}
HEADERS = [
    "考核期",
    "单位代码",
    "单位名称",
    "单位类别",
    "状态",
    *(METRIC_ZH[m] for m in (*RATE_METRICS, *COUNT_METRICS, ASSESSMENT)),
    "得分",
    "类别内排名",
    "输入摘要",
]


def rows(session: Session, period: str) -> list[list[Any]]:
    """One row per record of PERIOD (final records in place of drafts), by kind and rank.
    Rates are fractions (0.75); empty where a rate does not apply."""
    recs = appraisal.records(session, period)
    if not recs:
        raise NotFound(
            f"no appraisal records for {period}: run 'appraisal compute' first",
            code="no_records_compute",
            params={"period": period},
        )
    names = registry.units(session).units
    out: list[list[Any]] = []
    for r in sorted(
        recs, key=lambda r: (list(KIND_ZH).index(r.kind), r.rank is None, r.rank or 0, r.unit)
    ):
        unit = names.get(r.unit)
        assessment = r.metrics.get(ASSESSMENT, {}).get("value")
        out.append(
            [
                r.period,
                r.unit,
                unit.name_zh if unit else "",
                KIND_ZH.get(r.kind, r.kind),
                STATUS_ZH.get(r.status, r.status),
                *(r.metrics[m]["value"] for m in (*RATE_METRICS, *COUNT_METRICS)),
                assessment,
                # 不参评: too few cases this period for a score or a rank.
                r.score if r.score is not None else "不参评",
                r.rank if r.rank is not None else "不参评",
                r.digest,
            ]
        )
    return out


def write(session: Session, period: str, path: Path) -> int:
    """Write PERIOD's records to PATH (.csv or .xlsx); the number of rows written."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise InvalidInput(
            f"write a .csv or .xlsx file, not {path.name!r}",
            {"file": [suffix]},
            code="export_file_kind",
            params={"file": path.name},
        )
    table = rows(session, period)
    rate_columns = range(6, 6 + len(RATE_METRICS))
    write_table(
        path,
        HEADERS,
        table,
        sheet_title=f"考核{period}",
        freeze="F2",
        # utf-8-sig: Excel opens the Chinese headers correctly.
        encoding="utf-8-sig",
        number_formats=dict.fromkeys(rate_columns, "0.00%"),
    )
    return len(table)
