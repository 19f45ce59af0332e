"""`streetflow list`: the list of powers and responsibilities in and out of a spreadsheet (XLSX or CSV)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from workflow.catalog import registry, sheet_names
from workflow.catalog.listdiff import diff_lists, publish_list
from workflow.catalog.sheet import SUFFIXES, read_sheet, write_sheet

from .common import VERSION, Context, fail, pass_ctx, refusals


@click.group("list")
def list_() -> None:
    """Import and export the list of powers and responsibilities (权责清单) as a spreadsheet."""


@list_.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check and show the diff; publish nothing.")
@click.option("--by", "actor", default="cli", show_default=True, help="Name recorded in the trail.")
@pass_ctx
@refusals
def import_(ctx: Context, file: Path, dry_run: bool, actor: str) -> None:
    """Read the list from FILE (.xlsx or .csv), show the diff against the published list, and
    publish it as a new list version unless --dry-run.

    Headers may be the Chinese ones (事项编码, 事项名称, 服务窗口, 事项类型, 流程, 责任部门,
    社区时限, 街道时限, 部门时限, 响应时限, 街道承办机构, 吹哨部门, 申请材料, 实施依据; 英文名称
    optional) or the English columns of items.csv. Without English names, each item keeps the
    one it has in the published list (a new item takes its Chinese name). Any bad row is named
    with its row and column and nothing is published. Running cases stay on their list version.

    \b
    Example:
      streetflow list import 权责清单-2027.xlsx --dry-run
      streetflow list import 权责清单-2027.xlsx
    Exit codes: 0 published (or nothing changed, or a clean dry run), 1 a bad row or file."""
    if file.suffix.lower() not in SUFFIXES:
        fail(f"{file.name}: not a list file: use .xlsx or .csv")
    data = file.read_bytes()
    with ctx.transaction() as session:
        sheet = read_sheet(data, file.name, session=session)
        if sheet.problems:
            for p in sheet.problems:
                click.echo(str(p))
            fail(f"{len(sheet.problems)} problem(s) in {file.name}: nothing published")
        diff = diff_lists(session, sheet.items)
        for line in diff.lines():
            click.echo(line)
        if sheet.names_missing:
            click.echo(
                f"note: {file.name} has no English names: each item keeps its published one"
                + (
                    "; new items take their Chinese name: " + ", ".join(sheet.names_filled)
                    if sheet.names_filled
                    else ""
                )
            )
        if dry_run:
            click.echo("dry run: nothing published")
            return
        change = publish_list(session, sheet.items, actor=actor)
    click.echo(str(change))


@list_.command("export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--version", type=VERSION, help="List version (default: the latest).")
@click.option(
    "--chinese",
    is_flag=True,
    help="Chinese headers, and names instead of codes (departments, routes, agency kinds); `list import` reads them back.",
)
@pass_ctx
@refusals
def export(ctx: Context, file: Path, version: int | None, chinese: bool) -> None:
    """Write the published list to FILE: XLSX, or CSV when FILE ends in .csv; `list import`
    reads it back unchanged.

    \b
    Example:
      streetflow list export 权责清单.xlsx --chinese
    Exit codes: 0 written, 1 no such list version or an unknown file type."""
    if file.suffix.lower() not in SUFFIXES:
        fail(f"{file.name}: write .xlsx or .csv")
    with ctx.transaction() as session:
        items, v = registry.items(session, version)
        names = sheet_names.Names.of(session) if chinese else None
    write_sheet(list(items.values()), file, chinese=chinese, names=names)
    click.echo(f"wrote list version {v} ({len(items)} items) to {file}", err=True)
    sys.exit(0)
