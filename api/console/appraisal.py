"""The appraisal dashboard: a period's records with scores and ranks, a bar chart of scores by
unit, the trend over months, the cases behind a record, and the export (CSV, XLSX)."""

from __future__ import annotations

import re
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

import pygal
from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup
from pygal.style import Style

from api import db
from api.console import labels
from api.console.common import bp, caller, last_month, signed_in
from workflow.appraisal import export
from workflow.appraisal import records as appraisal
from workflow.catalog import authority, registry
from workflow.errors import NotFound
from workflow.inputs import FIRST_PERIOD_YEAR, LAST_YEAR
from workflow.queries import appraisal as appraisal_queries
from workflow.spec.scheme import ASSESSMENT, COUNT_METRICS, KINDS, RATE_METRICS
from workflow.store.models import AppraisalRecord

# pygal appends a legacy import hook to sys.meta_path for its map plugins (unused here); it makes
# every failed import anywhere in the process raise an ImportWarning, so take it out again.
sys.meta_path[:] = [f for f in sys.meta_path if type(f).__module__ != "pygal"]

READERS = ("admin", "auditor")
PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
KIND_LABELS = {
    "workstation": ("社区工作站", "Workstations"),
    "street_office": ("街道办事处", "Street offices"),
    "dispatched_agency": ("派驻机构", "Stationed agencies"),
    "department": ("区职能部门", "Departments"),
}
METRIC_LABELS = {
    "response_rate": ("响应率", "Response rate"),
    "on_time_rate": ("按时办结率", "On-time rate"),
    "resolution_rate": ("解决率", "Resolution rate"),
    "satisfaction_rate": ("满意率", "Satisfaction rate"),
    "send_back_rate": ("退回率", "Send-back rate"),
    "whistle_report_rate": ("吹哨报到率", "Whistle report rate"),
    "open_overdue": ("期末超期未办结", "Open and overdue"),
    "received": ("受理", "Received"),
    "completed": ("办结", "Completed"),
    "return_refusal_rate": ("退单驳回率", "Refused returns"),
    "returns_at_fault": ("错派退单", "Returns laid on the unit"),
    "reminders": ("催办", "Reminders"),
    "supervisions": ("督办", "Supervisions"),
    "listed_supervisions": ("挂牌督办", "Listed supervisions"),
    ASSESSMENT: ("街道考核评价", "Street's assessment"),
}
labels.TABLES["kind"] = KIND_LABELS
labels.TABLES["metric"] = METRIC_LABELS
# Charts draw with the page's CJK font (the SVG is inline): Chinese labels render.
CHART_STYLE = Style(
    font_family='"Noto Sans CJK SC", "Source Han Sans SC", sans-serif',
    background="white",
    plot_background="white",
    colors=("#1d4ed8", "#15803d", "#ca8a04", "#b91c1c"),
)


def _period_arg() -> str | None:
    raw = request.values.get("period", "")
    if not raw:
        return None
    if not PERIOD.match(raw):
        abort(400, _("A period is a month written YYYY-MM."))
    if not FIRST_PERIOD_YEAR <= int(raw[:4]) <= LAST_YEAR:
        abort(
            400,
            _(
                "A period is a month from %(first)s to %(last)s.",
                first=f"{FIRST_PERIOD_YEAR}-01",
                last=f"{LAST_YEAR}-12",
            ),
        )
    return raw


def _periods() -> list[str]:
    return appraisal_queries.periods(db.session())


def _records(period: str) -> list[AppraisalRecord]:
    return appraisal_queries.list_records(db.session(), actor=caller().actor, period=period).items


def _svg(chart: Any) -> Markup:
    # pygal writes an inline <script> with its tooltip settings even without the tooltip
    # script; the console's CSP would refuse it, so it is left out.
    svg = re.sub(r"<script\b.*?</script>", "", chart.render(is_unicode=True), flags=re.S)
    return Markup(svg)


def _wide_margin(texts: list[str], font_size: int = 10) -> int:
    """pygal measures a label as 0.6 em a character; a Chinese character is a full em: the
    missing width as a margin, so no unit's name is cut."""
    return int(0.45 * font_size * max((len(t) for t in texts), default=0)) + 10


def ranked(recs: list[AppraisalRecord]) -> list[AppraisalRecord]:
    """Ranked records by rank, then the 不参评 ones (no score) by unit."""
    return sorted(recs, key=lambda r: (r.rank is None, r.rank or 0, r.unit))


def bar_chart(recs: list[AppraisalRecord], title: str) -> Markup:
    """The scores of the units ranked (不参评 units have no bar: they have no score)."""
    units = registry.units(db.session()).units
    recs = [r for r in ranked(recs) if r.score is not None]
    names = [labels.named(units.get(r.unit), r.unit) for r in recs]
    chart = pygal.HorizontalBar(
        js=[],  # no tooltips script: nothing is fetched from the internet
        disable_xml_declaration=True,
        style=CHART_STYLE,
        width=900,
        height=max(240, 26 * len(recs) + 80),
        show_legend=False,
        range=(0, 100),
        print_values=True,
        value_formatter=lambda v: f"{v:.1f}",
        truncate_label=-1,
        truncate_legend=-1,
        margin_left=_wide_margin(names),
    )
    chart.title = title
    # HorizontalBar draws the first label at the bottom: reverse so rank 1 is on top.
    chart.x_labels = list(reversed(names))
    chart.add(_("Score"), [r.score for r in reversed(recs)])
    return _svg(chart)


def trend_chart(title: str) -> Markup:
    """The mean score of each kind of unit, month by month."""
    sums: dict[tuple[str, str], list[float]] = defaultdict(list)
    periods = _periods_with_data()
    for period in periods:
        for r in _records(period):
            if r.score is not None:  # 不参评 units do not pull a mean down
                sums[(r.kind, period)].append(r.score)
    chart = pygal.Line(
        js=[],
        disable_xml_declaration=True,
        style=CHART_STYLE,
        width=900,
        height=320,
        range=(0, 100),
        dots_size=4,
        legend_at_bottom=True,
        value_formatter=lambda v: f"{v:.1f}",
        truncate_label=-1,
        truncate_legend=-1,
    )
    chart.title = title
    chart.x_labels = periods
    for kind in KINDS:
        values = [sums.get((kind, p)) for p in periods]
        chart.add(
            labels.label("kind", kind),
            [round(sum(v) / len(v), 1) if v else None for v in values],
        )
    return _svg(chart)


def _scored_periods() -> list[str]:
    return appraisal_queries.scored_periods(db.session())


def _periods_with_data() -> list[str]:
    """The periods from the first with a unit scored (before it: nothing to show)."""
    scored = _scored_periods()
    return [p for p in _periods() if scored and p >= scored[0]]


@bp.get("/appraisal")
@signed_in(*READERS)
def appraisal_dashboard() -> Any:
    periods = _periods()
    scored = _scored_periods()
    # The latest period with a unit scored, not merely the latest computed.
    period = _period_arg() or (scored[-1] if scored else periods[-1] if periods else last_month())
    kind = request.args.get("kind", "workstation")
    if kind not in KINDS:
        kind = "workstation"
    recs = _records(period)
    of_kind = [r for r in recs if r.kind == kind]
    title = _("Scores of %(kind)s, %(period)s", kind=labels.label("kind", kind), period=period)
    return render_template(
        "console/appraisal.html",
        period=period,
        periods=periods,
        kind=kind,
        kinds=KINDS,
        records=ranked(of_kind),
        counts={k: sum(1 for r in recs if r.kind == k) for k in KINDS},
        rate_metrics=RATE_METRICS,
        count_metrics=COUNT_METRICS,
        bar=bar_chart(of_kind, title) if any(r.score is not None for r in of_kind) else None,
        trend=trend_chart(_("Mean score by month")) if scored else None,
        finalized=any(r.status == "final" for r in recs),
        may_finalize=caller().role == "auditor"
        or authority.is_district_admin(db.session(), caller().actor),
    )


@bp.post("/appraisal/compute")
@signed_in(*READERS)
def appraisal_compute() -> Any:
    """Compute the period's records as drafts (as `streetflow appraisal compute` does)."""
    period = _period_arg()
    if period is None:
        abort(400, _("A period is a month written YYYY-MM."))
    with db.write() as w:
        recs = appraisal.compute(w, period)
    flash(_("%(n)s records computed for %(period)s.", n=len(recs), period=period), "ok")
    return redirect(url_for("console.appraisal_dashboard", period=period))


@bp.get("/appraisal/records/<int:record_id>")
@signed_in(*READERS)
def appraisal_record(record_id: int) -> str:
    """One unit's record: each metric with the cases behind it."""
    try:
        rec = appraisal_queries.get_record(db.session(), actor=caller().actor, record_id=record_id)
    except NotFound:
        abort(404, _("No appraisal record %(id)s.", id=record_id))
    return render_template(
        "console/appraisal_record.html",
        rec=rec,
        data=appraisal.record_dict(rec, cases=True),
        metric_names=[*RATE_METRICS, *COUNT_METRICS, ASSESSMENT],
        rate_metrics=RATE_METRICS,
    )


@bp.get("/appraisal/export.<fmt>")
@signed_in(*READERS)
def appraisal_export(fmt: str) -> Response:
    """The period's table with Chinese headers, as the CLI writes it."""
    if fmt not in ("csv", "xlsx"):
        abort(404)
    period = _period_arg()
    if period is None:
        abort(400, _("A period is a month written YYYY-MM."))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"appraisal-{period}.{fmt}"
        export.write(db.session(), period, path)
        body = path.read_bytes()
    mimetype = (
        "text/csv"
        if fmt == "csv"
        else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    resp = Response(body, mimetype=mimetype)
    resp.headers["Content-Disposition"] = f'attachment; filename="appraisal-{period}.{fmt}"'
    return resp


__all__ = ["caller"]
