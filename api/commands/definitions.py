"""`streetflow definitions`: validate, publish and draw the list of powers and responsibilities and routes."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from workflow.catalog import registry
from workflow.spec.loader import read_definitions

from .common import VERSION, Context, fail, pass_ctx, refusals


@click.group()
def definitions() -> None:
    """Check, publish and draw the definitions (units, the list, routes, calendar)."""


@definitions.command()
@click.argument("path", required=False, type=click.Path(path_type=Path))
@pass_ctx
def validate(ctx: Context, path: Path | None) -> None:
    """Check a definitions folder; print every problem, one a line, with file and place.

    \b
    Example:
      streetflow definitions validate ./definitions
    Exit codes: 0 valid, 1 problems found."""
    root = path or ctx.settings.definitions
    defs, problems = read_definitions(root)
    for p in problems:
        click.echo(str(p))
    if problems:
        click.echo(f"{len(problems)} problem(s) in {root}", err=True)
        sys.exit(1)
    assert defs is not None
    click.echo(
        f"{root}: valid ({len(defs.units)} units, {len(defs.items)} items, "
        f"{len(defs.routes)} routes"
        + (f", {len(defs.places['communities']['features'])} communities" if defs.places else "")
        + ")"
    )


@definitions.command()
@click.argument("path", required=False, type=click.Path(path_type=Path))
@click.option("--by", "actor", default="cli", show_default=True, help="Name recorded in the trail.")
@pass_ctx
@refusals
def publish(ctx: Context, path: Path | None, actor: str) -> None:
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
