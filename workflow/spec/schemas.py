"""Marshmallow schemas for the definition files; they load into the frozen spec objects."""

from __future__ import annotations

import datetime as dt
from typing import Any

from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    pre_load,
    validate,
    validates_schema,
)

from .model import (
    CLOCK_LIMITS,
    ITEM_TYPES,
    LIMIT_UNITS,
    ROLES,
    TASK_JOIN,
    TASK_PER,
    TIERS,
    UNIT_KINDS,
    URGENCIES,
    CalendarSpec,
    ItemSpec,
    RouteSpec,
    StateSpec,
    TaskSpec,
    TransitionSpec,
    UnitSpec,
    check_working_hours,
)

NAME = validate.Regexp(r"^[a-z][a-z0-9_]*$", error="must be lower_snake_case")
CODE = validate.Regexp(r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)*$", error="must be a code like D-MZ")


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class TaskSchema(_Strict):
    per = fields.String(validate=validate.OneOf(TASK_PER), load_default="targets")
    join = fields.String(validate=validate.OneOf(TASK_JOIN), load_default="all")

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> TaskSpec:
        return TaskSpec(**data)


class StateSchema(_Strict):
    tier = fields.String(validate=validate.OneOf(TIERS), load_default=None, allow_none=True)
    final = fields.Boolean(load_default=False)
    limit = fields.String(validate=validate.OneOf(("days", "response")), load_default="days")
    on_timeout = fields.String(load_default=None, allow_none=True)
    label_zh = fields.String(load_default=None, allow_none=True)
    tasks = fields.Nested(TaskSchema, load_default=None, allow_none=True)


class TransitionSchema(_Strict):
    trigger = fields.String(required=True, validate=NAME)
    source = fields.String(required=True)
    dest = fields.String(required=True)
    roles = fields.List(
        fields.String(validate=validate.OneOf((*ROLES, "applicant", "system"))),
        required=True,
        validate=validate.Length(min=1),
    )
    reason_required = fields.Boolean(load_default=False)
    target = fields.String(validate=validate.OneOf(("whistle_to",)), load_default=None)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> TransitionSpec:
        data["roles"] = tuple(data["roles"])
        return TransitionSpec(**data)


class RouteSchema(_Strict):
    name = fields.String(required=True, validate=NAME)
    title_zh = fields.String(required=True)
    title_en = fields.String(required=True)
    initial = fields.String(required=True)
    states = fields.Dict(
        keys=fields.String(validate=NAME),
        values=fields.Nested(StateSchema),
        required=True,
        validate=validate.Length(min=1),
    )
    transitions = fields.List(
        fields.Nested(TransitionSchema), required=True, validate=validate.Length(min=1)
    )

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> RouteSpec:
        states = tuple(StateSpec(name=n, **s) for n, s in data["states"].items())
        return RouteSpec(
            name=data["name"],
            title_zh=data["title_zh"],
            title_en=data["title_en"],
            initial=data["initial"],
            states=states,
            transitions=tuple(data["transitions"]),
        )


def _blank_to_none(data: dict[str, Any]) -> dict[str, Any]:
    return {k: (None if isinstance(v, str) and not v.strip() else v) for k, v in data.items()}


class UnitRowSchema(_Strict):
    code = fields.String(required=True, validate=CODE)
    name_zh = fields.String(required=True)
    name_en = fields.String(required=True)
    kind = fields.String(
        required=True,
        validate=validate.OneOf(UNIT_KINDS),
    )
    parent = fields.String(load_default=None, allow_none=True)
    host_street = fields.String(load_default=None, allow_none=True)

    @pre_load
    def blanks(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        return _blank_to_none(data)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> UnitSpec:
        return UnitSpec(**data)


TRUE_WORDS = ("yes", "true", "1", "是")
FALSE_WORDS = ("no", "false", "0", "否")


def _yes_or_no(value: str) -> None:
    if value.strip().lower() not in (*TRUE_WORDS, *FALSE_WORDS):
        raise ValidationError("must be yes or no (是/否), or empty for no")


def _split(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(p.strip() for p in value.split(";") if p.strip())


def _minutes() -> fields.Integer:
    return fields.Integer(
        load_default=None, allow_none=True, validate=validate.Range(min=1, max=7 * 24 * 60)
    )


def _hours() -> fields.Integer:
    return fields.Integer(
        load_default=None, allow_none=True, validate=validate.Range(min=1, max=720)
    )


class ItemRowSchema(_Strict):
    code = fields.String(required=True, validate=CODE)
    name_zh = fields.String(required=True)
    name_en = fields.String(required=True)
    window = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(ITEM_TYPES))
    route = fields.String(required=True, validate=NAME)
    department = fields.String(required=True)
    ws_limit_wd = fields.Integer(
        load_default=None, allow_none=True, validate=validate.Range(min=1, max=365)
    )
    street_limit_wd = fields.Integer(
        load_default=None, allow_none=True, validate=validate.Range(min=1, max=365)
    )
    dept_limit_wd = fields.Integer(
        load_default=None, allow_none=True, validate=validate.Range(min=1, max=365)
    )
    response_limit_h = fields.Integer(
        load_default=None, allow_none=True, validate=validate.Range(min=1, max=720)
    )
    street_agency = fields.String(load_default=None, allow_none=True)
    whistle_to = fields.String(load_default=None, allow_none=True)
    materials = fields.String(load_default=None, allow_none=True)
    legal_basis = fields.String(required=True)
    limit_unit = fields.String(
        load_default=None, allow_none=True, validate=validate.OneOf(LIMIT_UNITS)
    )
    public = fields.String(load_default=None, allow_none=True, validate=_yes_or_no)
    lead_unit = fields.String(load_default=None, allow_none=True)
    assist_units = fields.String(load_default=None, allow_none=True)
    urgency = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(URGENCIES))
    urgent_response_min = _minutes()
    urgent_report_min = _minutes()
    urgent_handling_h = _hours()
    critical_response_min = _minutes()
    critical_report_min = _minutes()
    critical_handling_h = _hours()

    @pre_load
    def blanks(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        return _blank_to_none(data)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> ItemSpec:
        data["whistle_to"] = _split(data["whistle_to"])
        data["materials"] = _split(data["materials"])
        data["assist_units"] = _split(data["assist_units"])
        data["public"] = (data["public"] or "").strip().lower() in TRUE_WORDS
        if data["limit_unit"] is None:
            data["limit_unit"] = "working_days"
        data["urgency"] = data.get("urgency") or "normal"
        return ItemSpec(**data)


ITEM_COLUMNS = tuple(ItemRowSchema().fields)
# Columns added later: a list (or sheet) without them still loads: the urgency columns take the
# scheme's defaults.
URGENCY_COLUMNS = (
    "urgency",
    *(f"{level}_{limit}" for level in ("urgent", "critical") for limit in CLOCK_LIMITS),
)
OPTIONAL_ITEM_COLUMNS = ("limit_unit", "public", "lead_unit", "assist_units", *URGENCY_COLUMNS)
REQUIRED_ITEM_COLUMNS = tuple(c for c in ITEM_COLUMNS if c not in OPTIONAL_ITEM_COLUMNS)
UNIT_COLUMNS = tuple(UnitRowSchema().fields)


class _Time(fields.Field):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dt.time:
        try:
            return dt.time.fromisoformat(str(value))
        except ValueError as exc:
            raise self.make_error("invalid") from exc

    default_error_messages = {"invalid": "not a time of day like 08:30"}  # noqa: RUF012


class CalendarSchema(_Strict):
    holidays = fields.List(fields.Date(), load_default=list)
    workdays = fields.List(fields.Date(), load_default=list)
    working_hours = fields.List(
        fields.Tuple((_Time(), _Time())), load_default=None, validate=validate.Length(min=1)
    )

    @validates_schema
    def hours_in_order(self, data: dict[str, Any], **_: Any) -> None:
        why = data.get("working_hours") and check_working_hours(data["working_hours"])
        if why:
            raise ValidationError(why, "working_hours")

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> CalendarSpec:
        kwargs: dict[str, Any] = {
            "holidays": tuple(data["holidays"]),
            "workdays": tuple(data["workdays"]),
        }
        if data["working_hours"]:
            kwargs["working_hours"] = tuple(data["working_hours"])
        return CalendarSpec(**kwargs)
