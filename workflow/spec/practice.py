"""The scheme's practice sections (definitions/appraisal.yaml): clock-time limits of urgent and
critical cases, the categories and reviewers of returns (退单), and the supervision ladder.

Each section may be left out of the file: the defaults below then apply, and a scheme published
before the sections existed reads the same."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from marshmallow import RAISE, Schema, fields, validate
from sqlalchemy.orm import Session

from workflow.spec.model import CLOCK_LIMITS, URGENCIES, ItemSpec

CODE = validate.Regexp(r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)*$", error="must be a code like X-SN")

DEFAULT_URGENCY: dict[str, dict[str, int]] = {
    "urgent": {"response_min": 60, "report_min": 60, "handling_h": 24},
    "critical": {"response_min": 15, "report_min": 30, "handling_h": 4},
}
DEFAULT_CATEGORIES: list[dict[str, str]] = [
    {"code": "not_our_duty", "zh": "非本单位职责", "en": "Not this unit's duty"},
    {"code": "unclear", "zh": "诉求不清需补充", "en": "Request unclear, needs more detail"},
    {"code": "duplicate", "zh": "重复诉求", "en": "Duplicate request"},
    {"code": "done", "zh": "已办结", "en": "Already done"},
    {"code": "other", "zh": "其他", "en": "Other"},
]
DEFAULT_RETURNS: dict[str, Any] = {
    "categories": DEFAULT_CATEGORIES,
    "reviewer": "X-SN",
    "arbitrator": "X-SN",
    "routes": {},
    "review_limit_h": 8,
    "fault_penalty": 2.0,
}
DEFAULT_LADDER: dict[str, Any] = {
    "reminder": True,
    "listed_by": "X-SN",
    "listed_after_h": 16,
    "penalties": {"reminder": 0.0, "supervision": 1.0, "listed": 3.0},
}


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class ClockLimitsSchema(_Strict):
    response_min = fields.Integer(required=True, validate=validate.Range(min=1, max=7 * 24 * 60))
    report_min = fields.Integer(required=True, validate=validate.Range(min=1, max=7 * 24 * 60))
    handling_h = fields.Integer(required=True, validate=validate.Range(min=1, max=720))


class UrgencySchema(_Strict):
    urgent = fields.Nested(ClockLimitsSchema, required=True)
    critical = fields.Nested(ClockLimitsSchema, required=True)


class CategorySchema(_Strict):
    code = fields.String(
        required=True, validate=validate.Regexp(r"^[a-z][a-z0-9_]*$", error="lower_snake_case")
    )
    zh = fields.String(required=True, validate=validate.Length(min=1, max=64))
    en = fields.String(required=True, validate=validate.Length(min=1, max=128))


class ReturnsSchema(_Strict):
    categories = fields.List(
        fields.Nested(CategorySchema), required=True, validate=validate.Length(min=1)
    )
    # Who reviews a return (a unit code), by default and for the cases of a route; "street":
    # the case's street office.
    reviewer = fields.String(load_default="X-SN", validate=CODE)
    arbitrator = fields.String(load_default="X-SN", validate=CODE)
    routes = fields.Dict(
        keys=fields.String(),
        values=fields.String(validate=validate.Regexp(r"^(street|[A-Z][A-Z0-9-]*)$")),
        load_default=dict,
    )
    review_limit_h = fields.Integer(load_default=8, validate=validate.Range(min=1, max=720))
    fault_penalty = fields.Float(
        load_default=2.0, validate=validate.Range(min=0, max=100), allow_nan=False
    )


class PenaltiesSchema(_Strict):
    reminder = fields.Float(load_default=0.0, validate=validate.Range(min=0, max=100))
    supervision = fields.Float(load_default=1.0, validate=validate.Range(min=0, max=100))
    listed = fields.Float(load_default=3.0, validate=validate.Range(min=0, max=100))


class LadderSchema(_Strict):
    # 催办 at yellow; 督办 at red (always); 挂牌督办 LISTED_AFTER_H working hours past the limit
    # (clock hours for an urgent or critical case).
    reminder = fields.Boolean(load_default=True)
    listed_by = fields.String(load_default="X-SN", validate=CODE)
    listed_after_h = fields.Integer(load_default=16, validate=validate.Range(min=1, max=720))
    penalties = fields.Nested(PenaltiesSchema, load_default=dict)


def check_sections(data: dict[str, Any]) -> dict[str, Any]:
    """The practice sections of a loaded scheme as plain data (defaults filled in)."""
    out: dict[str, Any] = {}
    if data.get("urgency") is not None:
        out["urgency"] = {k: dict(v) for k, v in sorted(data["urgency"].items())}
    if data.get("returns") is not None:
        r = dict(data["returns"])
        codes = [c["code"] for c in r["categories"]]
        if len(set(codes)) != len(codes):
            from marshmallow import ValidationError

            raise ValidationError({"returns": {"categories": ["a category code appears twice"]}})
        r["categories"] = [dict(c) for c in r["categories"]]
        r["routes"] = dict(sorted(r["routes"].items()))
        r["fault_penalty"] = float(r["fault_penalty"])
        out["returns"] = r
    if data.get("ladder") is not None:
        lad = dict(data["ladder"])
        pen = PenaltiesSchema().load({}) | dict(lad.get("penalties") or {})
        lad["penalties"] = {k: float(v) for k, v in sorted(pen.items())}
        out["ladder"] = lad
    return out


@dataclass(frozen=True)
class Practice:
    urgency: dict[str, dict[str, int]]
    returns: dict[str, Any]
    ladder: dict[str, Any]

    def category(self, code: str) -> dict[str, str] | None:
        for c in self.returns["categories"]:
            if c["code"] == code:
                return dict(c)
        return None

    def clock_limits(self, item: ItemSpec, urgency: str) -> dict[str, int]:
        """An urgent or critical item's clock limits: its own columns, else the scheme's."""
        defaults = self.urgency[urgency]
        out: dict[str, int] = {}
        for limit in CLOCK_LIMITS:
            own = getattr(item, f"{urgency}_{limit}", None)
            out[limit] = int(own if own is not None else defaults[limit])
        return out


def practice_of(scheme: dict[str, Any] | None) -> Practice:
    scheme = scheme or {}
    return Practice(
        urgency=scheme.get("urgency") or DEFAULT_URGENCY,
        returns={**DEFAULT_RETURNS, **(scheme.get("returns") or {})},
        ladder={**DEFAULT_LADDER, **(scheme.get("ladder") or {})},
    )


def practice(session: Session) -> Practice:
    """The practice of the latest published scheme (the defaults where there is none)."""
    from workflow.catalog import registry
    from workflow.errors import NotFound

    try:
        return registry.cached_definition(
            session, "appraisal", "appraisal", None, lambda _v, content: practice_of(content)
        )[0]
    except NotFound:
        return practice_of(None)


__all__ = ["URGENCIES", "Practice", "practice", "practice_of"]
