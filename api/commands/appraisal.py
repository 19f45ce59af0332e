"""`streetflow appraisal`: compute, finalize, verify and export a period's appraisal records."""

from __future__ import annotations

from pathlib import Path

import click

from workflow.actors import Actor
from workflow.appraisal import export as appraisal_export
from workflow.appraisal import records as appraisal
from workflow.users import find_user

from .common import Context, fail, pass_ctx, refusals

PERIOD = click.option(
    "--period", required=True, metavar="YYYY-MM", help="The month, in STREETFLOW_TIMEZONE."
)


@click.group("appraisal")
def appraisal_group() -> None:
    """Appraisal records (考核): metrics per unit and month from the trail, scored and ranked."""


@appraisal_group.command()
@PERIOD
@click.option("--finalize", is_flag=True, help="Freeze the records (the month must be over).")
@click.option("--by", "actor", default="cli", show_default=True, help="Name recorded in the trail.")
@pass_ctx
@refusals
def compute(ctx: Context, period: str, finalize: bool, actor: str) -> None:
    """Compute the period's records as drafts (replacing earlier drafts), or freeze them.

    A finalized record never changes; its inputs (the trail up to a sequence number, the
    definition versions, the street assessments) and their digest are written to the trail.

    \b
    Example:
      streetflow appraisal compute --period 2026-11
      streetflow appraisal compute --period 2026-11 --finalize --by auditor
    Exit codes: 0 computed, 1 refused (a bad period, already finalized, the month not over)."""
    with ctx.transaction() as session:
        if finalize:
            recs = appraisal.finalize(session, period, actor=actor)
        else:
            recs = appraisal.compute(session, period)
        status = recs[0].status if recs else "draft"
        digest = recs[0].digest if recs else ""
        by_kind: dict[str, int] = {}
        for r in recs:
            by_kind[r.kind] = by_kind.get(r.kind, 0) + 1
    kinds = ", ".join(f"{n} {k}" for k, n in sorted(by_kind.items()))
    click.echo(f"{period}: {len(recs)} {status} records ({kinds}); inputs digest {digest}")


@appraisal_group.command()
@PERIOD
@pass_ctx
@refusals
def verify(ctx: Context, period: str) -> None:
    """Recompute the period's records from their inputs and compare with what is stored.

    Final records take their inputs from the trail's `appraisal.finalized` event. Every
    difference is printed, naming the record.

    \b
    Example:
      streetflow appraisal verify --period 2026-11
    Exit codes: 0 every record reproduced, 1 a record differs (or there are none)."""
    with ctx.transaction() as session:
        checked, problems = appraisal.verify(session, period)
    for p in problems:
        click.echo(p)
    if problems:
        fail(f"{len(problems)} difference(s) in the records of {period}")
    click.echo(f"{period}: {checked} records reproduced from the trail")


@appraisal_group.command("export")
@PERIOD
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@pass_ctx
@refusals
def export_(ctx: Context, period: str, file: Path) -> None:
    """Write the period's records, with Chinese headers, to FILE (.csv or .xlsx).

    \b
    Example:
      streetflow appraisal export --period 2026-11 考核2026-11.xlsx
    Exit codes: 0 written, 1 no records for the period or not a .csv/.xlsx file."""
    with ctx.transaction() as session:
        n = appraisal_export.write(session, period, file)
    click.echo(f"wrote {n} records to {file}", err=True)


@appraisal_group.command()
@click.argument("unit")
@PERIOD
@click.option("--score", required=True, type=float, help="0 to 100.")
@click.option("--comment", required=True, help="Why: kept with the score.")
@click.option("--as", "user", required=True, help="The street administrator entering it.")
@pass_ctx
@refusals
def assess(ctx: Context, unit: str, period: str, score: float, comment: str, user: str) -> None:
    """Enter the host street's assessment (考核评价) of a stationed agency, once a period.

    \b
    Example:
      streetflow appraisal assess A-ZHL-ZF --period 2026-11 --score 85 --comment 配合积极 --as admin
    Exit codes: 0 entered, 1 refused (not that street's administrator, assessed already, ...)."""
    with ctx.transaction() as session:
        row = find_user(session, user)
        if row is None or row.disabled:
            fail(f"no active user {user!r}")
        assert row is not None
        appraisal.enter_assessment(
            session,
            actor=Actor(row.name, row.unit, row.role),
            unit=unit,
            period=period,
            score=score,
            comment=comment,
        )
    click.echo(f"{unit} {period}: assessed {score:g}")


__all__ = ["appraisal_group"]
