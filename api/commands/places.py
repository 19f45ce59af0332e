"""`streetflow places locate`: where a point or an address lands (routing by place)."""

from __future__ import annotations

import click

from workflow.catalog import registry
from workflow.places import routing

from .common import Context, fail, pass_ctx, refusals


@click.group()
def places() -> None:
    """Communities on the map: where a reported location lands."""


@places.command()
@click.option("--lat", type=float, help="Latitude, decimal degrees (with --long).")
@click.option("--long", "long_", type=float, help="Longitude, decimal degrees (with --lat).")
@click.option("--address", help="An address: a road and number, or an estate.")
@pass_ctx
@refusals
def locate(ctx: Context, lat: float | None, long_: float | None, address: str | None) -> None:
    """Print the community a point or an address lands at, on the published places (a point on
    a shared edge: the lowest workstation code; a point before an address).

    \b
    Example:
      streetflow places locate --lat 36.06 --long 120.40
      streetflow places locate --address "香港中路202号"
    Exit codes: 0 placed, 1 not placed or bad input (the message says which)."""
    location = routing.check_location(lat, long_, address)
    if location is None:
        fail("give --lat and --long, or --address")
    with ctx.sessions() as s:
        placed, version = routing.locate(s, location)
        if version is None:
            fail("no places were published: add definitions/places/ and publish")
        if placed is None:
            fail(routing.CANNOT_PLACE)
        u = registry.units(s).get(placed.workstation)
        click.echo(f"{u.code} {u.name_zh} ({u.parent}), by {placed.by}, places version {version}")
