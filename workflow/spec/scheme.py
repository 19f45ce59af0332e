"""The appraisal scheme (definitions/appraisal.yaml): metrics and weights per unit kind.

The names of the appraisal's metrics live here, with the definitions that weigh them: the
appraisal (workflow/appraisal) measures them and imports them from here, never the reverse."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from workflow.spec import practice
from workflow.spec.files import Problem, flatten, nearest_line, read_yaml_file

# The unit kinds that are appraised.
KINDS = ("workstation", "street_office", "dispatched_agency", "department")
# The rates a record shows and a scheme may weigh, in the order the documentation, the export and
# the API show them; then the counts a record shows and no scheme weighs.
RATE_METRICS = (
    "response_rate",
    "on_time_rate",
    "resolution_rate",
    "satisfaction_rate",
    "send_back_rate",
    "whistle_report_rate",
    # 退单驳回率: the unit's returns that the reviewer refused, over the returns it asked for.
    "return_refusal_rate",
)
COUNT_METRICS = (
    "open_overdue",
    "received",
    "completed",
    # 退单: approved returns the reviewer laid on this unit (a dispatcher that mis-sent).
    "returns_at_fault",
    # The supervision ladder, counted for the holder: 催办, 督办, 挂牌督办.
    "reminders",
    "supervisions",
    "listed_supervisions",
)
ALL_METRICS = (*RATE_METRICS, *COUNT_METRICS)
# The street's own assessment (考核评价) weighs only for stationed agencies.
ASSESSMENT = "street_assessment"
METRICS = (*RATE_METRICS, ASSESSMENT)
# Rates where lower is better: they count as (1 - rate).
LOWER_IS_BETTER = frozenset({"send_back_rate", "return_refusal_rate"})
# The resident's answers (好差评): who is credited with each. `handler`: the 承办单位 only (the
# unit that resolved or decided the case); `handler_and_commander`: also the street office that
# handed the case to it (a whistle, a dispatch), which stays in command.
CREDITED = ("resolution_rate", "satisfaction_rate")
CREDIT_RULES = ("handler", "handler_and_commander")
MIN_CASES = 5


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class KindSchema(_Strict):
    weights = fields.Dict(
        keys=fields.String(validate=validate.OneOf(METRICS, error="unknown metric {input!r}")),
        values=fields.Float(validate=validate.Range(min=0, max=100), allow_nan=False),
        required=True,
        validate=validate.Length(min=1),
    )


class SchemeSchema(_Strict):
    title_zh = fields.String(load_default="")
    kinds = fields.Dict(
        keys=fields.String(validate=validate.OneOf(KINDS, error="unknown unit kind {input!r}")),
        values=fields.Nested(KindSchema),
        required=True,
        validate=validate.Length(min=1),
    )
    open_overdue_penalty = fields.Float(
        load_default=0.0, validate=validate.Range(min=0, max=100), allow_nan=False
    )
    # The practice sections (workflow.spec.practice): urgency limits, returns, the ladder.
    urgency = fields.Nested(practice.UrgencySchema, load_default=None)
    returns = fields.Nested(practice.ReturnsSchema, load_default=None)
    ladder = fields.Nested(practice.LadderSchema, load_default=None)
    credit = fields.Dict(
        keys=fields.String(
            validate=validate.OneOf(CREDITED, error="credit is stated for {choices}")
        ),
        values=fields.String(validate=validate.OneOf(CREDIT_RULES)),
        load_default=dict,
    )
    # Fewer cases than this in a period: 不参评 (no score, not ranked).
    min_cases = fields.Integer(
        load_default=MIN_CASES, strict=True, validate=validate.Range(0, 10000)
    )
    # The first period this version applies to (YYYY-MM); empty: every period.
    from_period = fields.String(
        data_key="from",
        load_default="",
        validate=validate.Regexp(r"^(\d{4}-(0[1-9]|1[0-2]))?$", error="a month like 2026-12"),
    )

    @validates_schema
    def weights_add_up(self, data: dict[str, Any], **_: Any) -> None:
        errors: dict[str, Any] = {}
        for kind, spec in data.get("kinds", {}).items():
            weights = spec["weights"]
            total = sum(weights.values())
            if not math.isclose(total, 100.0, abs_tol=1e-9):
                errors[kind] = {"weights": [f"weights add up to {total:g}, not 100"]}
            elif ASSESSMENT in weights and kind != "dispatched_agency":
                errors[kind] = {"weights": [f"{ASSESSMENT} weighs only for dispatched_agency"]}
        if errors:
            raise ValidationError({"kinds": errors})


def load_scheme_data(
    data: Any, file: str, lines: dict[str, int] | None = None
) -> tuple[dict[str, Any] | None, list[Problem]]:
    """Check parsed scheme data; the scheme as plain JSON-serialisable data, or the problems."""
    lines = lines or {}
    if not isinstance(data, dict):
        return None, [Problem(file, "", "the appraisal scheme must be a mapping", lines.get(""))]
    try:
        scheme: dict[str, Any] = SchemeSchema().load(data)
        sections = practice.check_sections(scheme)
    except ValidationError as exc:
        return None, [
            Problem(file, place, msg, nearest_line(lines, place))
            for place, msg in flatten(exc.messages)
        ]
    # Plain, sorted data: it is published as a definition and hashed.
    return {
        "title_zh": scheme["title_zh"],
        "from": scheme["from_period"],
        "min_cases": scheme["min_cases"],
        "credit": {m: scheme["credit"].get(m, "handler") for m in CREDITED},
        "open_overdue_penalty": scheme["open_overdue_penalty"],
        "kinds": {
            kind: {"weights": {m: float(w) for m, w in sorted(spec["weights"].items())}}
            for kind, spec in sorted(scheme["kinds"].items())
        },
        **sections,
    }, []


def read_scheme(path: Path, rel: str) -> tuple[dict[str, Any] | None, list[Problem]]:
    """Read and check appraisal.yaml: every problem with its file, line and place."""
    data, lines, problems = read_yaml_file(path, rel)
    if problems:
        return None, problems
    return load_scheme_data(data, rel, lines)
