"""`streetflow routes`: move running cases from one route version to another."""

from __future__ import annotations

import json

import click

from workflow.runtime import migration

from .common import VERSION, Context, fail, pass_ctx, refusals


def _progress(phase: str, done: int, total: int) -> None:
    """Every 500 cases, and at the end, on stderr (stdout stays the plan)."""
    if total >= 500 and (done % 500 == 0 or done == total):
        click.echo(f"{phase}: {done}/{total} cases", err=True)


@click.group()
def routes() -> None:
    """Route versions and the running cases on them."""


@routes.command()
@click.argument("route")
@click.option("--from", "from_version", type=VERSION, required=True, help="Version cases are on.")
@click.option("--to", "to_version", type=VERSION, required=True, help="Version to move them to.")
@click.option(
    "--map",
    "pairs",
    multiple=True,
    metavar="OLD=NEW",
    help="State mapping (repeatable); a state not mapped keeps its name if the target has it.",
)
@click.option("--to-route", help="Move to another route (an item moved route in the list).")
@click.option("--item", help="Only the cases of this item.")
@click.option("--list-version", type=VERSION, help="List version to pin them to (default: latest).")
@click.option("--reason", help="Recorded in each case's trail event.")
@click.option("--dry-run", is_flag=True, help="Only say which cases can move and which cannot.")
@click.option("--json", "as_json", is_flag=True, help="The plan as JSON.")
@click.option("--by", "actor", default="cli", show_default=True, help="Name recorded in the trail.")
@pass_ctx
@refusals
def migrate(
    ctx: Context,
    route: str,
    from_version: int,
    to_version: int,
    pairs: tuple[str, ...],
    to_route: str | None,
    item: str | None,
    list_version: int | None,
    reason: str | None,
    dry_run: bool,
    as_json: bool,
    actor: str,
) -> None:
    """Move the running cases on ROUTE version --from to version --to, state by the mapping.

    Each case moved gets one `case.migrated` trail event and its version goes up by one; a case
    that cannot move (state unmapped, target state unknown or final, no unit to hold it, the
    item on another route in the list, ...) stays, and is listed with why. Move back by
    swapping --from and --to (and the mapping).

    \b
    Example:
      streetflow routes migrate three_tier --from 1 --to 2 --map dept_review=street_review --dry-run
      streetflow routes migrate three_tier --from 1 --to 1 --to-route street_approval --item SW-02
    Exit codes: 0 every case moved (or could, on --dry-run), 1 some could not or bad input."""
    mapping = migration.parse_mapping(pairs)
    with ctx.transaction() as session:
        plan = migration.plan_or_apply(
            session,
            dry_run=dry_run,
            route=route,
            from_version=from_version,
            to_version=to_version,
            mapping=mapping,
            to_route=to_route,
            list_version=list_version,
            item=item,
            actor=actor,
            reason=reason,
            progress=_progress,
        )
    if as_json:
        click.echo(json.dumps(plan.as_dict(), ensure_ascii=False, indent=2))
    else:
        for m in plan.moves:
            click.echo(str(m))
        verb = "moved" if plan.applied else "can move"
        click.echo(
            f"{plan.route} v{plan.from_version} -> {plan.to_route} v{plan.to_version} "
            f"(list v{plan.list_version}): {len(plan.movable)} {verb}, "
            f"{len(plan.blocked)} cannot" + ("" if plan.applied else "; dry run: nothing moved")
        )
    if plan.blocked:
        fail(f"{len(plan.blocked)} case(s) cannot move")
