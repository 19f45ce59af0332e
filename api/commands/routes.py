"""`streetflow routes`: publish a route as an administrator (a street's variant, or the
district's version); move running cases from one route version to another."""

from __future__ import annotations

import json
from pathlib import Path

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.actors import Actor
from workflow.catalog import authority
from workflow.runtime import migration
from workflow.spec.loader import read_route_text
from workflow.store.models import User

from .common import VERSION, Context, fail, pass_ctx, refusals


def _progress(phase: str, done: int, total: int) -> None:
    """Every 500 cases, and at the end, on stderr (stdout stays the plan)."""
    if total >= 500 and (done % 500 == 0 or done == total):
        click.echo(f"{phase}: {done}/{total} cases", err=True)


@click.group()
def routes() -> None:
    """Route versions and the running cases on them."""


@routes.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--street",
    help="Publish the street's variant (its new cases follow it); without: the district's version.",
)
@click.option(
    "--as", "user", required=True, help="The administrator publishing (a user of the service)."
)
@click.option("--dry-run", is_flag=True, help="Only check the route and the right to publish it.")
@pass_ctx
@refusals
def publish(ctx: Context, file: Path, street: str | None, user: str, dry_run: bool) -> None:
    """Publish the route in FILE (YAML, as routes/*.yaml) as a new version, as an administrator.

    With --street, it is that street's variant: the cases its workstations open from now on
    follow it, while running cases and other streets keep their version. A street's
    administrator publishes for their own street only; the district's administrators for any
    street, and without --street for the whole district. Unchanged content keeps its version.
    (`definitions publish` is the operator's command for a whole definitions folder.)

    \b
    Example:
      streetflow routes publish zhl-incident.yaml --street S-ZHL --as admin
      streetflow routes publish incident.yaml --as district --dry-run
    Exit codes: 0 published (or unchanged, or valid on --dry-run), 1 invalid route, unknown
    user or street, or not permitted."""
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        fail(f"{file.name}: not UTF-8 text")
    route, problems = read_route_text(text, file.name)
    for p in problems:
        click.echo(str(p))
    if route is None or problems:
        fail(f"{len(problems)} problem(s): nothing published")
    assert route is not None
    with ctx.transaction() as session:
        actor = _administrator(session, user)
        authority.require_publisher(session, actor, street)
        if dry_run:
            if street is not None:
                authority.check_street(session, street)
            where = f"for {street}" if street else "for the whole district"
            click.echo(f"{file.name}: route {route.name} valid; {user} may publish it {where}")
            click.echo("dry run: nothing published")
            return
        change = authority.publish_route(session, route, actor=actor, street=street)
    click.echo(str(change))


@routes.command()
@click.argument("route")
@click.option("--street", required=True, help="The street whose variant is withdrawn.")
@click.option(
    "--as", "user", required=True, help="The administrator withdrawing it (a user of the service)."
)
@pass_ctx
@refusals
def withdraw(ctx: Context, route: str, street: str, user: str) -> None:
    """Withdraw STREET's variant of ROUTE: its cases opened from now on follow the district's
    version again; cases on the variant keep it (move them with `routes migrate`).

    \b
    Example:
      streetflow routes withdraw incident --street S-ZHL --as admin
    Exit codes: 0 withdrawn, 1 no variant in force, unknown user or street, or not permitted."""
    with ctx.transaction() as session:
        actor = _administrator(session, user)
        change = authority.withdraw_variant(session, route, street, actor=actor)
    click.echo(
        f"route {route} for {street}: variant withdrawn (recorded as version {change.version})"
    )


def _administrator(session: Session, user: str) -> Actor:
    row = session.execute(select(User).where(User.name == user)).scalar_one_or_none()
    if row is None or row.disabled:
        fail(f"no active user {user!r}")
    assert row is not None
    return Actor(row.name, row.unit, row.role)


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
