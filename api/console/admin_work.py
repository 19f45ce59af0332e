"""The administrator's pages for what was the command line's only: moving running cases between
route versions (a dry run first, then the move, each case with why it can or cannot move), a
street's routing table, the street's assessment (考核评价) of its stationed agencies, and the
finalization of a period's appraisal records.

Who may do what is the API's rule: a street's administrator moves their street's cases, sets
their street's table and assesses their street's agencies; a district administrator moves every
case and reads every street's table; records are finalized by an auditor or a district
administrator."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from api import db
from api.console.appraisal import READERS
from api.console.common import bp, caller, last_month, signed_in, units
from workflow.appraisal import records as appraisal
from workflow.catalog import authority, registry, street_routing
from workflow.errors import InvalidInput
from workflow.inputs import INT32
from workflow.runtime import migration
from workflow.store.models import Assessment

# ---------------------------------------------------------------- moving running cases


def _int(name: str, *, required: bool = True) -> int | None:
    raw = request.form.get(name, "").strip()
    if not raw and not required:
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= INT32:
        raise InvalidInput(
            _("%(field)s: a version is a whole number from 1.", field=name),
            {name: ["a whole number"]},
        )
    return int(raw)


def _migration_args() -> dict[str, Any]:
    """The form's migration, as migration.plan takes it; the street's administrator's own
    street's cases only (as on the API)."""
    form = request.form
    lines = [line for line in form.get("map", "").splitlines() if line.strip()]
    return {
        "route": form.get("route", "").strip(),
        "from_version": _int("from_version"),
        "to_version": _int("to_version"),
        "mapping": migration.parse_mapping(lines),
        "to_route": form.get("to_route", "").strip() or None,
        "list_version": _int("list_version", required=False),
        "item": form.get("item", "").strip() or None,
        "street": units().street_of(caller().unit or ""),
    }


@bp.route("/admin/migrations", methods=["GET", "POST"])
@signed_in("admin")
def migrations_page() -> Any:
    """GET: the form. POST with do=dry_run: the plan (nothing moves); with do=apply: the move
    of every case that can, each with a case.migrated event, the reason recorded."""
    s = db.session()
    plan = None
    if request.method == "POST":
        args = _migration_args()
        if request.form.get("do") == "apply":
            with db.write() as w:
                plan = migration.apply(
                    w,
                    actor=caller().actor.label,
                    unit=caller().unit,
                    reason=request.form.get("reason", "").strip() or None,
                    **args,
                )
            flash(
                _(
                    "%(n)s cases moved; %(b)s could not.",
                    n=len(plan.movable),
                    b=len(plan.blocked),
                ),
                "ok" if not plan.blocked else "error",
            )
        else:
            plan = migration.plan(s, **args)
    return render_template(
        "console/admin_migrations.html",
        route_names=registry.route_names(s),
        versions={
            n: [r.version for r in registry.route_versions(s, n)] for n in registry.route_names(s)
        },
        form=request.form,
        plan=plan,
        street=units().street_of(caller().unit or ""),
    )


# ---------------------------------------------------------------- street routing tables


def _streets() -> list[str]:
    """The streets whose tables the administrator reads: every street for the district's, their
    own for a street's."""
    s = db.session()
    actor = caller().actor
    if authority.is_district_admin(s, actor):
        return sorted(c for c, u in units().units.items() if u.kind == "street_office")
    own = authority.street_of_admin(s, actor)
    return [own] if own else []


@bp.get("/admin/routing")
@signed_in("admin")
def routing_index() -> Any:
    streets = _streets()
    if not streets:
        abort(403, _("Routing tables are a street's."))
    return redirect(url_for("console.routing_page", street=streets[0]))


@bp.get("/admin/routing/<street>")
@signed_in("admin")
def routing_page(street: str) -> str:
    """A street's table: per item, who holds the street stage, and shorter limits."""
    if street not in _streets():
        abort(404, _("No routing table of %(street)s for you.", street=street))
    s = db.session()
    table = street_routing.table(s, street)
    items, _version = registry.items(s)
    agencies = sorted(
        c
        for c, u in units().units.items()
        if u.kind == "dispatched_agency" and u.host_street == street
    )
    return render_template(
        "console/admin_routing.html",
        street=street,
        streets=_streets(),
        table=table,
        entries=dict(table.items) if table else {},
        items=sorted(items.values(), key=lambda i: i.code),
        holders=[street, *agencies],
        may_edit=authority.street_of_admin(s, caller().actor) == street,
    )


def _limit(raw: str) -> int | None:
    raw = raw.strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise InvalidInput(_("A limit is a whole number of working days."), {"limit": [raw]})
    return int(raw)


@bp.post("/admin/routing/<street>")
@signed_in("admin")
def routing_set(street: str) -> Any:
    """Set (or clear, all fields empty) one item's row and publish the table as a new version
    (that street's administrator, as on the API)."""
    s = db.session()
    if authority.street_of_admin(s, caller().actor) != street:
        abort(403, _("Only an administrator of %(street)s sets its routing table.", street=street))
    table = street_routing.table(s, street)
    entries = {k: dict(v) for k, v in (table.items if table else {}).items()}
    form = request.form
    code = form.get("item", "").strip()
    entry = {
        "street_office": form.get("street_office") or None,
        "agency": form.get("agency") or None,
        "ws_limit_wd": _limit(form.get("ws_limit_wd", "")),
        "street_limit_wd": _limit(form.get("street_limit_wd", "")),
    }
    entry = {k: v for k, v in entry.items() if v is not None}
    if entry:
        entries[code] = entry
    else:
        entries.pop(code, None)
    with db.write() as w:
        change = street_routing.publish_table(
            w, street, {"items": entries}, actor=caller().actor.label
        )
    if change.changed:
        flash(
            _(
                "Routing table of %(street)s published as version %(v)s.",
                street=street,
                v=change.version,
            ),
            "ok",
        )
    else:
        flash(_("Nothing changed."), "ok")
    return redirect(url_for("console.routing_page", street=street))


# ---------------------------------------------------------------- assessments and finalization


@bp.get("/admin/assessments")
@signed_in("admin")
def assessments_page() -> str:
    """The street's stationed agencies and their assessments for a period."""
    s = db.session()
    street = authority.street_of_admin(s, caller().actor)
    if street is None:
        abort(403, _("A street's administrator assesses the street's stationed agencies."))
    period = request.args.get("period", "").strip()[:7] or last_month()
    agencies = sorted(
        c
        for c, u in units().units.items()
        if u.kind == "dispatched_agency" and u.host_street == street
    )
    done = {
        a.unit: a
        for a in s.execute(
            select(Assessment).where(Assessment.period == period, Assessment.unit.in_(agencies))
        ).scalars()
    }
    return render_template(
        "console/admin_assessments.html",
        street=street,
        period=period,
        agencies=agencies,
        done=done,
        finalized=appraisal.is_finalized(s, period),
    )


@bp.post("/admin/assessments")
@signed_in("admin")
def assess() -> Any:
    form = request.form
    period = form.get("period", "").strip()
    with db.write() as w:
        appraisal.enter_assessment(
            w,
            actor=caller().actor,
            unit=form.get("unit", ""),
            period=period,
            score=_score(form.get("score", "")),
            comment=form.get("comment", ""),
        )
    flash(_("Assessment recorded."), "ok")
    return redirect(url_for("console.assessments_page", period=period))


def _score(raw: str) -> Any:
    try:
        return float(raw)
    except ValueError:
        return raw  # the engine says what a score is


@bp.post("/appraisal/finalize")
@signed_in(*READERS)
def appraisal_finalize() -> Any:
    """Freeze a period's records (as `streetflow appraisal finalize`): an auditor or a district
    administrator, as on the API."""
    c = caller()
    s = db.session()
    if c.role != "auditor" and not authority.is_district_admin(s, c.actor):
        abort(403, _("Records are finalized by an auditor or a district administrator."))
    period = request.form.get("period", "").strip()
    with db.write() as w:
        recs = appraisal.finalize(w, period, actor=c.name)
    flash(_("%(n)s records of %(period)s finalized.", n=len(recs), period=period), "ok")
    return redirect(url_for("console.appraisal_dashboard", period=period))
