"""`streetflow init`, `serve`, `users` and `apikeys`: set up an instance and the people in it."""

from __future__ import annotations

import datetime as dt
import logging
import sys

import click
from alembic.util import CommandError

from workflow import demo
from workflow import users as users_service
from workflow.catalog import registry
from workflow.spec.loader import read_definitions
from workflow.store.migrate import upgrade

from . import progress
from .common import Context, fail, parse_instant, pass_ctx, refusals


@click.command()
@click.option("--demo", "with_demo", is_flag=True, help="Add demo users and a month of demo cases.")
@click.option("--days", default=30, show_default=True, help="Days of demo cases.")
@click.option(
    "--per-workstation", default=24, show_default=True, help="Demo cases per workstation."
)
@click.option(
    "--now",
    "now_text",
    metavar="ISO-8601",
    help="Make the demo cases as of this instant (default: now); the same instant, the same demo.",
)
@pass_ctx
@refusals
def init(
    ctx: Context, with_demo: bool, days: int, per_workstation: int, now_text: str | None
) -> None:
    """Create or upgrade the schema and publish the definitions; --demo adds demo data.

    Safe to run again: the schema is upgraded, unchanged definitions keep their version, a
    definition whose folder content is older than what was published since (a list imported,
    a route published over the API) is kept as it is, demo users that exist are kept and demo
    cases are only made in an instance without cases.

    \b
    Example:
      streetflow init --demo
      streetflow init --demo --now 2026-11-25T10:00:00+08:00
    Exit codes: 0 done, 1 invalid definitions, a bad --now or the database refused."""
    s = ctx.settings
    now = parse_instant(now_text, "--now") or dt.datetime.now(dt.UTC)
    click.echo(f"database: {ctx.engine.url.render_as_string(hide_password=True)}")
    try:
        upgrade(ctx.engine)
    except CommandError as exc:  # e.g. a schema revision this streetflow does not know
        fail(f"cannot upgrade the schema: {exc}; is this database from another streetflow version?")
    click.echo("schema: up to date")
    defs, problems = read_definitions(s.definitions)
    if defs is None:
        for p in problems:
            click.echo(str(p))
        fail(f"{len(problems)} problem(s) in {s.definitions}: nothing published")
    assert defs is not None
    with ctx.sessions.begin() as session:
        changes = registry.publish(session, defs, actor="init", keep_newer=True)
    published = [c for c in changes if c.changed]
    click.echo(
        f"definitions: {len(published)} published, {len(changes) - len(published)} unchanged"
    )
    for c in changes:
        if c.superseded or c.changed:
            click.echo(f"  {c}")
    if not with_demo:
        return
    with ctx.sessions.begin() as session:
        added = demo.add_demo_users(session, now=now)
        has_cases = demo.has_cases(session)
    click.echo("demo users (name / password / who):")
    for u in demo.DEMO_USERS:
        mark = "" if u in added else "  (kept)"
        click.echo(f"  {u.name:<8} {u.password:<20} {u.role:<8} {u.unit:<9} {u.what}{mark}")
    if has_cases:
        click.echo("demo cases: the instance has cases already; none added")
        return

    def show(done: int, total: int) -> None:
        progress.show(f"  demo cases: {done}/{total}")

    n = demo.generate_cases(
        ctx.sessions, now=now, days=days, per_workstation=per_workstation, progress=show
    )
    progress.end(None)  # the line below says it all
    click.echo(f"demo cases: {n} opened over the last {days} days")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option(
    "--sweep-every",
    default=0,
    show_default=True,
    type=int,
    help="Run the SLA sweep every N seconds in the background (0: off).",
)
def serve(host: str, port: int, sweep_every: int) -> None:
    """Serve the API and the web console (development server; production: any WSGI server
    on `api:create_app()`, e.g. gunicorn -w 4 'api:create_app()').

    \b
    Example:
      streetflow serve --port 5000
    Exit codes: 0 stopped, 1 could not start."""
    from api import create_app

    app = create_app({"SWEEP_EVERY": sweep_every} if sweep_every else None)
    # The server's own lines (its address, each request, its development-server warning) as it
    # writes them, not under the command's "LEVEL:" prefix ("INFO: WARNING: ...").
    server_log = logging.getLogger("werkzeug")
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    server_log.addHandler(handler)
    server_log.setLevel(logging.INFO)
    server_log.propagate = False
    app.run(host=host, port=port, threaded=True)


@click.group()
def users() -> None:
    """Add and disable the people who use streetflow."""


@users.command("add")
@click.argument("name")
@click.option("--unit", required=True, help="Unit code, e.g. W-ZHL-01.")
@click.option("--role", required=True, type=click.Choice(["admin", "clerk", "staff", "auditor"]))
@click.option("--password-stdin", is_flag=True, required=True, help="Read the password from stdin.")
@pass_ctx
@refusals
def users_add(ctx: Context, name: str, unit: str, role: str, password_stdin: bool) -> None:
    """Add a user; the password is read from standard input and stored as an Argon2 hash.

    \b
    Example:
      printf '%s' 'a long password' | streetflow users add wang --unit W-ZHL-02 --role clerk --password-stdin
    Exit codes: 0 added, 1 refused (unknown unit, wrong role for the unit, name taken, short password)."""
    password = sys.stdin.readline().rstrip("\r\n")
    with ctx.transaction() as session:
        users_service.add_user(
            session, name=name, unit=unit, role=role, password=password, actor="cli"
        )
    click.echo(f"added {name} ({role} at {unit})")


@users.command("disable")
@click.argument("name")
@pass_ctx
@refusals
def users_disable(ctx: Context, name: str) -> None:
    """Disable a user and revoke all their tokens at once.

    \b
    Example:
      streetflow users disable wang
    Exit codes: 0 disabled, 1 no such user."""
    with ctx.transaction() as session:
        users_service.disable_user(session, name=name, actor="cli")
    click.echo(f"disabled {name}; their tokens no longer work")


@click.group()
def apikeys() -> None:
    """Open311 api keys for outside channels (apps, kiosks, hotlines)."""


@apikeys.command("add")
@click.argument("name")
@pass_ctx
@refusals
def apikeys_add(ctx: Context, name: str) -> None:
    """Print a new Open311 api_key for channel NAME; only its hash is stored.

    \b
    Example:
      streetflow apikeys add hotline-12345
    Exit codes: 0 issued, 1 name taken or invalid."""
    with ctx.transaction() as session:
        _, key = users_service.add_api_key(session, name=name, actor="cli")
    click.echo(key)
