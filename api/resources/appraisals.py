"""Appraisal records: compute (or finalize) a period, list and read them, and the street's
assessment of its stationed agencies."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import abort

from api import db
from api.auth import current_actor, require_roles
from api.blueprint import Blueprint
from api.schemas import At, PageArgs, Period, page_body, page_of, page_schema
from workflow.appraisal import records as appraisal
from workflow.catalog import registry
from workflow.queries import appraisal as appraisal_queries
from workflow.spec.scheme import KINDS
from workflow.store.models import Assessment

blp = Blueprint(
    "appraisals", __name__, url_prefix="/api/v1/appraisals", description="Appraisal records"
)
READERS = appraisal_queries.READERS


class ComputeSchema(ma.Schema):
    period = Period(required=True)
    finalize = ma.fields.Boolean(
        load_default=False,
        metadata={"description": "freeze the records (auditors and district administrators)"},
    )


class ListArgs(PageArgs):
    period = Period()
    kind = ma.fields.String(validate=ma.validate.OneOf(KINDS))


class RecordSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    period = ma.fields.String(required=True)
    unit = ma.fields.String(required=True)
    kind = ma.fields.String(required=True)
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(("draft", "final")))
    score = ma.fields.Float(
        required=True, allow_none=True, metadata={"description": "null: 不参评 (too few cases)"}
    )
    rank = ma.fields.Integer(
        required=True,
        allow_none=True,
        metadata={"description": "dense, within the unit kind, among those ranked; null: 不参评"},
    )
    metrics = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Dict(),
        required=True,
        metadata={
            "description": "metric -> {value, numerator, denominator}; one record read alone "
            "adds numerator_cases and denominator_cases (the case ids behind them)"
        },
    )
    digest = ma.fields.String(required=True)
    inputs = ma.fields.Dict(required=True)
    computed_at = ma.fields.String(required=True)
    finalized_at = ma.fields.String(allow_none=True, required=True)


RecordPage = page_schema(RecordSchema, "AppraisalPage")


class AssessmentInSchema(ma.Schema):
    unit = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=32))
    period = Period(required=True)
    score = ma.fields.Float(
        required=True, allow_nan=False, validate=ma.validate.Range(min=0, max=100)
    )
    comment = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=2000))


class AssessmentSchema(AssessmentInSchema):
    id = ma.fields.Integer(required=True)
    entered_by = ma.fields.String(required=True)
    entered_at = At(required=True)


@blp.route("")
class Appraisals(MethodView):
    @blp.arguments(ListArgs, location="query")
    @blp.response(200, RecordPage)
    @blp.alt_response(403, description="Not an administrator or auditor")
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Records with their metrics, score and rank, by period, kind and rank, paged; a
        finalized period shows its final records only"""
        actor = require_roles(*READERS)
        offset, limit = page_of(args)
        page = appraisal_queries.list_records(
            db.session(),
            actor=actor,
            period=args.get("period"),
            kind=args.get("kind"),
            offset=offset,
            limit=limit,
        )
        return page_body(args, page, [appraisal.record_dict(r) for r in page.items])

    @blp.arguments(ComputeSchema)
    @blp.response(201, RecordSchema(many=True))
    @blp.alt_response(403, description="Not an administrator or auditor")
    @blp.alt_response(409, description="Finalized already, or the month is not over")
    def post(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        """Compute the period's records as drafts (replacing earlier drafts), or finalize them"""
        actor = require_roles(*READERS)
        period = body["period"]
        with db.write() as s:
            if body["finalize"]:
                unit = registry.units(s).units.get(actor.unit or "")
                if actor.role != "auditor" and (unit is None or unit.kind != "district"):
                    abort(403, message="records are finalized by an auditor or the district")
                recs = appraisal.finalize(s, period, actor=actor.name)
            else:
                recs = appraisal.compute(s, period)
            return [appraisal.record_dict(r) for r in recs]


@blp.route("/<int:record_id>")
class Appraisal(MethodView):
    @blp.response(200, RecordSchema)
    @blp.alt_response(403, description="Not an administrator or auditor")
    @blp.alt_response(404, description="No such record")
    def get(self, record_id: int) -> dict[str, Any]:
        """One record, with the case ids behind each metric's numerator and denominator"""
        actor = require_roles(*READERS)
        rec = appraisal_queries.get_record(db.session(), actor=actor, record_id=record_id)
        return appraisal.record_dict(rec, cases=True)


@blp.route("/assessments")
class Assessments(MethodView):
    @blp.arguments(AssessmentInSchema)
    @blp.response(201, AssessmentSchema)
    @blp.alt_response(403, description="Not an administrator of the agency's host street")
    @blp.alt_response(409, description="Assessed already, or the period is finalized")
    def post(self, body: dict[str, Any]) -> Assessment:
        """The host street's assessment (考核评价) of a stationed agency, once a period"""
        actor = current_actor()
        with db.write() as s:
            return appraisal.enter_assessment(s, actor=actor, **body)
