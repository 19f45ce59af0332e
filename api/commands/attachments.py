"""`streetflow attachments`: check the stored files against their rows and the trail."""

from __future__ import annotations

import sys

import click

from workflow.attachments import records
from workflow.attachments.storage import store_for
from workflow.audit.replay import differences

from .common import Context, fail, pass_ctx, refusals


@click.group()
def attachments() -> None:
    """Photos and scanned documents on cases: where they are kept, and whether they are intact."""


@attachments.command()
@pass_ctx
@refusals
def verify(ctx: Context) -> None:
    """Check every attachment: its row against its trail event (attachment.added: the file's
    SHA-256, name, kind, size, purpose, who and when) and its stored file against that SHA-256.
    One line for each problem: a row that differs from its trail, a file missing or changed.

    The trail itself (that no event was changed) is `streetflow audit verify`'s part.

    \b
    Example:
      streetflow attachments verify
    Exit codes: 0 every attachment is intact, 1 problems found (listed) or no store."""
    ctx.require_schema()
    try:
        store = store_for(ctx.settings)
    except (ValueError, RuntimeError) as exc:
        fail(str(exc))
    found = 0
    with ctx.sessions() as session:
        for d in differences(session):
            if d.kind == "attachment":
                found += 1
                click.echo(str(d))
        for problem in records.check_files(session, store):
            found += 1
            click.echo(str(problem))
        total = records.counted(session)
    if found:
        click.echo(f"{found} problem(s) among {total} attachment(s)", err=True)
        sys.exit(1)
    click.echo(f"{total} attachment(s) intact in {store.describe()}")
