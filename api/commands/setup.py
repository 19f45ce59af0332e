"""`streetflow init`, `serve`, `users` and `apikeys`: set up an instance and the people in it."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys

import click
from alembic.util import CommandError

from workflow import demo
from workflow import users as users_service
from workflow.audit import chain
from workflow.catalog import registry
from workflow.spec.loader import read_definitions
from workflow.spec.model import ROLES
from workflow.store.migrate import upgrade

from . import progress
from .common import Context, fail, parse_instant, pass_ctx, refusals, tell_calendar


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
    cases are only made in an instance without cases. A year within 90 days whose holidays the
    calendar does not know is told of on stderr (limits running into it count Monday to Friday).

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
        hint = "; is this database from another streetflow version?"
        fail(f"cannot upgrade the schema: {exc}" + (hint if "revision" in str(exc) else ""))
    click.echo("schema: up to date")
    with ctx.sessions.begin() as session:
        parts = chain.ensure_partitions(session, s.trail_partitions)
    if parts > 1:
        click.echo(f"trail: {parts} partitions, new cases dealt over {s.trail_partitions}")
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
    tell_calendar(ctx, defs, now=now)
    if not with_demo:
        return
    with ctx.sessions.begin() as session:
        added = demo.add_demo_users(session, now=now)
        has_cases = demo.has_cases(session)
    click.echo("demo users (name / password / who):")
    # Columns as wide as their longest entry, so that every row lines up.
    wide = [max(len(getattr(u, f)) for u in demo.DEMO_USERS) for f in ("name", "password", "role")]
    for u in demo.DEMO_USERS:
        mark = "" if u in added else "  (kept)"
        name, password, role = (
            f"{v:<{w}}" for v, w in zip((u.name, u.password, u.role), wide, strict=True)
        )
        click.echo(f"  {name} {password} {role} {u.unit:<9} {u.what}{mark}")
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
    made = demo.generate_practice(ctx.sessions, now=now)
    click.echo(
        f"demo practice: {made['returns']} returns (approved, refused, arbitrated, pending), "
        f"{made['urgent']} urgent and {made['critical']} critical cases, the ladder swept"
    )
    from workflow.attachments.demo import add_demo_photos

    photos = add_demo_photos(ctx.sessions, now=now)
    click.echo(f"demo photos: {photos} files on 3 cases (stored in the attachment store)")
    hot = demo.generate_hotspots(ctx.sessions, now=now)
    click.echo(f"demo hot spots: {hot} reports from the app, placed by their point")
    click.echo(
        f"demo dispatch centre: {made['dispatch_queue']} calls in the 12345 queue, "
        f"{made['dispatched']} dispatched, {made['answered']} answered, {made['merged']} merged"
    )
    # What the demo's cases told: residents' SMS into the file sink, the units' notifications.
    from workflow.notify import worker

    told = worker.drain(ctx.sessions, ctx.settings, worker.Policy(batch=500))
    sink = ctx.settings.instance / "sms.jsonl"
    click.echo(
        f"demo notifications: {told.fanned_out} events told, {told.delivered} messages sent"
        + ("" if ctx.settings.sms_gateway else f" (the SMS in {sink})")
    )


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
@click.option(
    "--notify-every",
    default=0,
    show_default=True,
    type=int,
    help="Deliver notifications every N seconds in the background (0: off; or `notify run`).",
)
def serve(host: str, port: int, sweep_every: int, notify_every: int) -> None:
    """Serve the API and the web console (development server; production: any WSGI server
    on `api:create_app()`, e.g. gunicorn -w 4 'api:create_app()').

    \b
    Example:
      streetflow serve --port 5000
      streetflow serve --sweep-every 300 --notify-every 5
    Exit codes: 0 stopped, 1 could not start."""
    from api import create_app, settle_heap

    config: dict[str, int] = {}
    if sweep_every:
        config["SWEEP_EVERY"] = sweep_every
    if notify_every:
        config["NOTIFY_EVERY"] = notify_every
    app = create_app(config or None)
    if config:
        settle_heap(app)  # (create_app does it without a config)
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
    """Add, list, disable and enable the people who use streetflow, and set their passwords."""


@users.command("add")
@click.argument("name")
@click.option("--unit", required=True, help="Unit code, e.g. W-ZHL-01.")
@click.option(
    "--role",
    required=True,
    type=click.Choice(ROLES),
    help="dispatcher: at a dispatch centre (12345/12349); callback: 回访.",
)
@click.option("--password-stdin", is_flag=True, required=True, help="Read the password from stdin.")
@pass_ctx
@refusals
def users_add(ctx: Context, name: str, unit: str, role: str, password_stdin: bool) -> None:
    """Add a user; the password is read from standard input and stored as an Argon2 hash.

    User names ignore case and surrounding spaces: 'Wang' and 'wang' are the same user.
    Weak passwords are refused with the reason: under 8 characters, only spaces, one
    character repeated, the user name, or one of the most common passwords.

    \b
    Example:
      printf '%s' 'a long password' | streetflow users add wang --unit W-ZHL-02 --role clerk --password-stdin
      printf '%s' 'a long password' | streetflow users add li --unit H-SN --role dispatcher --password-stdin
    Exit codes: 0 added, 1 refused (unknown unit, wrong role for the unit, name taken, weak password)."""
    password = _read_password()
    with ctx.transaction() as session:
        user = users_service.add_user(
            session, name=name, unit=unit, role=role, password=password, actor="cli"
        )
        shown = user.name
    click.echo(f"added {shown} ({role} at {unit})")


@users.command("disable")
@click.argument("name")
@pass_ctx
@refusals
def users_disable(ctx: Context, name: str) -> None:
    """Disable a user: their console sessions and API tokens end at once.

    \b
    Example:
      streetflow users disable wang
    Exit codes: 0 disabled, 1 no such user."""
    with ctx.transaction() as session:
        user = users_service.disable_user(session, name=name, actor="cli")
        shown = user.name
    click.echo(f"disabled {shown}; their console sessions and tokens no longer work")


@users.command("enable")
@click.argument("name")
@pass_ctx
@refusals
def users_enable(ctx: Context, name: str) -> None:
    """Let a disabled user sign in again; tokens revoked when they were disabled stay revoked.

    \b
    Example:
      streetflow users enable wang
    Exit codes: 0 enabled, 1 no such user or not disabled."""
    with ctx.transaction() as session:
        user = users_service.enable_user(session, name=name, actor="cli")
        shown = user.name
    click.echo(f"enabled {shown}; they sign in again with their password")


@users.command("passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, required=True, help="Read the password from stdin.")
@pass_ctx
@refusals
def users_passwd(ctx: Context, name: str, password_stdin: bool) -> None:
    """Set a user's password, read from standard input; their console sessions and API tokens
    end at once, so whoever knew the old password is out.

    Weak passwords are refused with the reason, as for `users add`.

    \b
    Example:
      printf '%s' 'a new long password' | streetflow users passwd wang --password-stdin
    Exit codes: 0 changed, 1 refused (no such user, weak password)."""
    password = _read_password()
    with ctx.transaction() as session:
        user = users_service.set_password(session, name=name, password=password, actor="cli")
        shown = user.name
    click.echo(f"changed the password of {shown}; their sessions and tokens were ended")


@users.command("list")
@click.option(
    "--json", "as_json", is_flag=True, help="One JSON object per user instead of a table."
)
@pass_ctx
@refusals
def users_list(ctx: Context, as_json: bool) -> None:
    """List the users: name, unit, role and whether they are enabled (never a password hash).

    \b
    Example:
      streetflow users list
      streetflow users list --json
    Exit codes: 0 listed, 1 no schema yet."""
    with ctx.transaction() as session:
        rows = [
            {"name": u.name, "unit": u.unit, "role": u.role, "enabled": not u.disabled}
            for u in users_service.list_users(session)
        ]
    if as_json:
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False))
        return
    click.echo(f"{'name':<24} {'unit':<12} {'role':<8} enabled")
    for row in rows:
        enabled = "yes" if row["enabled"] else "no"
        click.echo(f"{row['name']:<24} {row['unit']:<12} {row['role']:<8} {enabled}")


def _read_password() -> str:
    return sys.stdin.readline().rstrip("\r\n")


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
