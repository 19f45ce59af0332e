"""`streetflow definitions`: validate, publish and draw the list of powers and responsibilities and routes."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from workflow.catalog import registry
from workflow.spec.loader import read_definitions

from .common import CALENDAR_AHEAD_DAYS, VERSION, Context, fail, pass_ctx, refusals, tell_calendar


@click.group()
def definitions() -> None:
    """Check, publish and draw the definitions (units, the list, routes, calendar)."""


# How far ahead validate and publish look for a year the calendar does not know (days).
CALENDAR_AHEAD = click.option(
    "--calendar-ahead",
    type=click.IntRange(0, 36500),
    default=CALENDAR_AHEAD_DAYS,
    show_default=True,
    metavar="DAYS",
    help="Tell of a year within DAYS of today whose holidays the calendar does not know.",
)


@definitions.command()
@click.argument("path", required=False, type=click.Path(path_type=Path))
@CALENDAR_AHEAD
@pass_ctx
def validate(ctx: Context, path: Path | None, calendar_ahead: int) -> None:
    """Check a definitions folder; print every problem, one a line, with file and place. A year
    within --calendar-ahead days that neither the chinese-calendar package nor calendar.yaml
    knows is told of on stderr (limits running into it count Monday to Friday): not a problem.

    \b
    Example:
      streetflow definitions validate ./definitions
    Exit codes: 0 valid (notices or not), 1 problems found."""
    root = path or ctx.settings.definitions
    defs, problems = read_definitions(root)
    for p in problems:
        click.echo(str(p))
    if problems:
        click.echo(f"{len(problems)} problem(s) in {root}", err=True)
        sys.exit(1)
    assert defs is not None
    tell_calendar(ctx, defs, calendar_ahead)
    click.echo(
        f"{root}: valid ({len(defs.units)} units, {len(defs.items)} items, "
        f"{len(defs.routes)} routes"
        + (f", {len(defs.places['communities']['features'])} communities" if defs.places else "")
        + ")"
    )


@definitions.command()
@click.argument("path", required=False, type=click.Path(path_type=Path))
@click.option("--by", "actor", default="cli", show_default=True, help="Name recorded in the trail.")
@CALENDAR_AHEAD
@pass_ctx
@refusals
def publish(ctx: Context, path: Path | None, actor: str, calendar_ahead: int) -> None:
    """Publish what changed as new versions; unchanged definitions keep their version.

    Running cases stay on the route version they started on.

    \b
    Example:
      streetflow definitions publish ./definitions
    Exit codes: 0 published (or nothing changed), 1 invalid definitions."""
    root = path or ctx.settings.definitions
    defs, problems = read_definitions(root)
    if defs is None:
        for p in problems:
            click.echo(str(p))
        fail(f"{len(problems)} problem(s): nothing published")
    assert defs is not None
    with ctx.transaction() as session:
        changes = registry.publish(session, defs, actor=actor)
    for c in changes:
        click.echo(str(c))
    tell_calendar(ctx, defs, calendar_ahead)


@definitions.command()
@click.argument("route")
@click.option("--version", type=VERSION, help="Route version (default: the latest).")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="SVG file (default: stdout).")
@pass_ctx
@refusals
def diagram(ctx: Context, route: str, version: int | None, output: Path | None) -> None:
    """Draw a published route as an SVG picture (needs Graphviz's `dot`).

    \b
    Example:
      streetflow definitions diagram incident -o incident.svg
    Exit codes: 0 drawn, 1 no such route or no Graphviz."""
    from workflow.runtime.diagram import route_svg

    with ctx.transaction() as session:
        spec, _, _ = registry.route(session, route, version)
    svg = route_svg(spec)
    if output:
        output.write_bytes(svg)
        click.echo(f"wrote {output}", err=True)
    else:
        sys.stdout.buffer.write(svg)
