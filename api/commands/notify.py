"""`streetflow notify`: deliver the outbox, list and retry dead letters, manage webhooks."""

from __future__ import annotations

import json
import signal
import threading
from typing import Any

import click
from sqlalchemy import select

from workflow.actors import Actor
from workflow.instants import utcnow
from workflow.notify import manage, worker
from workflow.store.models import User

from .common import Context, fail, pass_ctx, refusals


@click.group()
def notify() -> None:
    """Notifications: deliver what the outbox holds (residents' SMS, webhooks), dead letters,
    webhooks.

    \b
    Example:
      streetflow notify run            # a worker, until Ctrl-C or SIGTERM
      streetflow notify run --once     # from cron
      streetflow notify dead
      streetflow notify retry 17
    Exit codes: 0 done; 1 refused, a database error, or (run --once) a delivery went dead."""


@notify.command()
@click.option("--once", is_flag=True, help="One round (fan out, deliver what is due), then exit.")
@click.option(
    "--every",
    default=2.0,
    show_default=True,
    type=click.FloatRange(0.1, 3600),
    help="Seconds between rounds when idle.",
)
@click.option("--batch", default=50, show_default=True, type=click.IntRange(1, 10000))
@click.option(
    "--lease",
    default=worker.LEASE_S,
    show_default=True,
    type=click.FloatRange(1, 86400),
    help="Seconds a claimed delivery is this worker's; after that, another worker takes it.",
)
@click.option(
    "--backoff",
    default=worker.BACKOFF_S,
    show_default=True,
    type=click.FloatRange(0, 86400),
    help="Seconds before the first retry, doubled each time (with jitter).",
)
@click.option(
    "--max-attempts",
    default=worker.MAX_ATTEMPTS,
    show_default=True,
    type=click.IntRange(1, 100),
    help="Tries before a delivery is dead.",
)
@pass_ctx
@refusals
def run(
    ctx: Context,
    once: bool,
    every: float,
    batch: int,
    lease: float,
    backoff: float,
    max_attempts: int,
) -> None:
    """Deliver: turn the queued events into deliveries and send what is due, at least once.
    Safe on several machines at once (each delivery is claimed by one worker under a lease).

    \b
    Example:
      streetflow notify run
      */1 * * * * streetflow notify run --once
    Exit codes: 0 done (or stopped by SIGTERM/Ctrl-C); 1 a database error, or with --once a
    delivery went dead in this round."""
    ctx.require_schema()
    policy = worker.Policy(max_attempts=max_attempts, backoff_s=backoff, lease_s=lease, batch=batch)
    if once:
        done = worker.run_once(ctx.sessions, ctx.settings, policy)
        click.echo(
            f"{done.fanned_out} events fanned out, {done.delivered} delivered, "
            f"{done.failed} to retry, {done.dead} dead"
        )
        if done.dead:
            fail(f"{done.dead} deliveries are dead: see `streetflow notify dead`")
        return
    stopping = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.set())
    click.echo("notify: delivering (Ctrl-C to stop)", err=True)
    worker.run(ctx.sessions, ctx.settings, every=every, stopping=stopping, policy=policy)


def _admin(session: Any, user: str) -> Actor:
    if user == "cli":
        return Actor("cli", None, "admin")  # the machine's operator, as other commands record
    row = session.execute(select(User).where(User.name == user)).scalar_one_or_none()
    if row is None or row.disabled:
        fail(f"no active user {user!r}")
    return Actor(row.name, row.unit, row.role)


@notify.command()
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 10000))
@click.option("--json", "as_json", is_flag=True, help="As JSON lines.")
@pass_ctx
@refusals
def dead(ctx: Context, limit: int, as_json: bool) -> None:
    """List the dead letters: deliveries that failed their last try.

    \b
    Example:
      streetflow notify dead --json
    Exit codes: 0 listed; 1 a database error."""
    with ctx.transaction() as s:
        rows = manage.deliveries(s, Actor("cli", None, "admin"), status="dead", limit=limit)
        for d in rows:
            if as_json:
                click.echo(json.dumps(manage.delivery_json(d), ensure_ascii=False))
            else:
                click.echo(
                    f"{d.id}\t{d.delivery_id}\t{d.channel}\t{d.event}\tcase {d.case_id}\t"
                    f"{d.attempts} tries\t{d.last_error or ''}"
                )
        if not rows and not as_json:
            click.echo("no dead letters")


@notify.command()
@click.argument("ids", nargs=-1, type=click.IntRange(1, 2**31 - 1))
@click.option("--all-dead", is_flag=True, help="Every dead letter.")
@pass_ctx
@refusals
def retry(ctx: Context, ids: tuple[int, ...], all_dead: bool) -> None:
    """Send dead (or waiting) deliveries again at the next round, same delivery id.

    \b
    Example:
      streetflow notify retry 17 18
      streetflow notify retry --all-dead
    Exit codes: 0 queued again; 1 an unknown id or one already delivered (nothing changed)."""
    if not ids and not all_dead:
        fail("give delivery ids or --all-dead", 2)
    admin = Actor("cli", None, "admin")
    with ctx.transaction() as s:
        now = utcnow()
        chosen = list(ids)
        if all_dead:
            chosen += [d.id for d in manage.deliveries(s, admin, status="dead", limit=100000)]
        for did in chosen:
            manage.retry(s, did, admin, now=now)
    click.echo(f"{len(chosen)} deliveries queued again")


@notify.command("webhook-add")
@click.argument("url")
@click.option("--event", "events", multiple=True, required=True, help="Repeatable; e.g. case.*.")
@click.option("--channel", help="Only cases that came in through this channel (e.g. an API key).")
@click.option("--secret", help="The signing secret (default: generated and printed once).")
@click.option("--by", "user", default="cli", show_default=True, help="Recorded as its author.")
@pass_ctx
@refusals
def webhook_add(
    ctx: Context,
    url: str,
    events: tuple[str, ...],
    channel: str | None,
    secret: str | None,
    user: str,
) -> None:
    """Register a webhook: the events it wants, signed with its secret.

    \b
    Example:
      streetflow notify webhook-add https://hotline.example.cn/hook --event case.opened \\
          --event case.closed --channel hotline
    Exit codes: 0 added (id and secret printed); 1 a bad URL or event."""
    with ctx.transaction() as s:
        hook = manage.add_webhook(
            s,
            url=url,
            events=list(events),
            actor=_admin(s, user),
            secret=secret,
            channel=channel,
            now=utcnow(),
        )
        click.echo(f"webhook {hook.id}: {hook.url}\nsecret: {hook.secret}")


@notify.command("webhooks")
@pass_ctx
@refusals
def webhooks_list(ctx: Context) -> None:
    """List the webhooks.

    \b
    Example:
      streetflow notify webhooks
    Exit codes: 0 listed; 1 a database error."""
    with ctx.transaction() as s:
        for h in manage.webhooks(s, Actor("cli", None, "admin")):
            click.echo(f"{h.id}\t{h.url}\t{','.join(h.events)}\t{h.channel or ''}")


@notify.command("webhook-remove")
@click.argument("webhook_id", type=click.IntRange(1, 2**31 - 1))
@pass_ctx
@refusals
def webhook_remove(ctx: Context, webhook_id: int) -> None:
    """Stop a webhook (its deliveries stay listed).

    \b
    Example:
      streetflow notify webhook-remove 3
    Exit codes: 0 removed; 1 no such webhook."""
    with ctx.transaction() as s:
        manage.remove_webhook(s, webhook_id, Actor("cli", None, "admin"))
    click.echo(f"webhook {webhook_id} removed")
