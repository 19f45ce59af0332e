"""`streetflow routing`: a street office's routing table (who holds its street stage, shorter limits)."""

from __future__ import annotations

from pathlib import Path

import click
import yaml

from workflow.catalog import street_routing
from workflow.spec.files import read_yaml_file

from .common import VERSION, Context, fail, pass_ctx, refusals


@click.group()
def routing() -> None:
    """Street routing tables: per item, which unit of the street holds its street stage and
    the street's shorter time limits."""


@routing.command()
@click.argument("street")
@click.option("--version", type=VERSION, help="Table version (default: the latest).")
@pass_ctx
@refusals
def show(ctx: Context, street: str, version: int | None) -> None:
    """Print a street's routing table as YAML (the form `routing set` reads).

    \b
    Example:
      streetflow routing show S-ZHL
    Exit codes: 0 shown (an empty table when the street has none), 1 no such version."""
    with ctx.transaction() as session:
        table = street_routing.table(session, street, version)
    if table is None:
        click.echo(f"# {street} has no routing table: the district's routing applies", err=True)
        click.echo(yaml.safe_dump({"items": {}}, allow_unicode=True), nl=False)
        return
    click.echo(f"# {street} routing table version {table.version}", err=True)
    items = {code: dict(entry) for code, entry in table.items.items()}
    click.echo(yaml.safe_dump({"items": items}, allow_unicode=True, sort_keys=True), nl=False)


@routing.command("set")
@click.argument("street")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Only check the table.")
@click.option("--by", "actor", default="cli", show_default=True, help="Name recorded in the trail.")
@pass_ctx
@refusals
def set_(ctx: Context, street: str, file: Path, dry_run: bool, actor: str) -> None:
    """Publish FILE (YAML) as STREET's routing table, a new version if it changed. Cases opened
    afterwards follow it; cases already open keep the version they were opened with.

    \b
    FILE lists items, each with any of: street_office, agency (the street itself or one of
    its stationed agencies), ws_limit_wd, street_limit_wd (at most the district's):
      items:
        UD-01: {agency: A-ZHL-PCS, street_limit_wd: 3}
        SW-01: {street_office: A-ZHL-SF}

    \b
    Example:
      streetflow routing set S-ZHL zhl-routing.yaml
    Exit codes: 0 published (or unchanged, or valid on --dry-run), 1 the table is invalid."""
    data, _, problems = read_yaml_file(file, file.name)
    if problems:
        for p in problems:
            click.echo(str(p))
        fail(f"{file.name}: not readable YAML")
    data = data or {}
    with ctx.transaction() as session:
        if dry_run:
            content, problems = street_routing.check_table(session, street, data, file.name)
            for p in problems:
                click.echo(str(p))
            if content is None:
                fail(f"{len(problems)} problem(s): the table is invalid")
            assert content is not None
            click.echo(f"{file.name}: valid ({len(content['items'])} items); dry run")
            return
        change = street_routing.publish_table(session, street, data, actor=actor, file=file.name)
    click.echo(str(change))
