"""`streetflow sla sweep`: mark lights, raise supervisions and fire configured timeouts."""

from __future__ import annotations

import datetime as dt

import click

from workflow.audit.spelling import WRITE_SKEW_S
from workflow.runtime import sla as sla_service

from . import progress
from .common import Context, fail, parse_instant, pass_ctx, refusals


@click.group()
def sla() -> None:
    """Time limits: lights, supervision records (督办) and timeouts."""


@sla.command()
@click.option(
    "--now", "now_text", metavar="ISO-8601", help="Sweep as of this instant (default: now)."
)
@click.option(
    "--batch",
    default=1000,
    show_default=True,
    type=click.IntRange(1, 10000),
    help="Cases planned at once (each transaction writes for at most 50 ms of them).",
)
@click.option(
    "--full",
    is_flag=True,
    help="Look at every late stage again, not only at what changed since the last sweep.",
)
@pass_ctx
@refusals
def sweep(ctx: Context, now_text: str | None, batch: int, full: bool) -> None:
    """Mark yellow and red stages, raise one supervision record per overdue stage (addressed to
    the holder's supervising unit) and fire the timeout a route names for an overdue state.

    Idempotent: a second sweep at the same instant changes nothing. Several sweeps may run at
    once; each case is handled by one of them. Progress goes to stderr.

    Incremental: a sweep looks at the stages whose yellow instant or deadline has passed and at
    the cases changed since the last complete sweep began, so a routine sweep of a large city
    takes little time; --full looks at every late stage again (after restoring a backup into
    place, or rows changed outside streetflow).

    A --now later than this machine's clock is allowed (to try a schedule out on a copy) but
    its events are dated after they were written: the sweep warns, and `audit verify` reports
    each of them (dated_after_write) for ever.

    \b
    Example:
      streetflow sla sweep
      streetflow sla sweep --now 2026-10-12T09:00:00+08:00
      streetflow sla sweep --full
    Exit codes: 0 swept; 1 a bad --now, a database error or a timeout that could not fire."""
    now = parse_instant(now_text, "--now")
    ctx.require_schema()
    ahead = (now - dt.datetime.now(dt.UTC)).total_seconds() if now else 0
    if ahead > WRITE_SKEW_S:
        click.echo(
            f"warning: --now is {ahead:,.0f} s ahead of this machine's clock: the trail events "
            "this sweep writes are dated after they are written, and `streetflow audit verify` "
            "will report each of them (dated_after_write)",
            err=True,
        )

    swept = [0, 0]

    def show(done: int, total: int) -> None:
        swept[:] = [done, total]
        progress.show(f"  swept {done}/{total} cases")

    try:
        result = sla_service.sweep(
            ctx.sessions,
            now=now,
            batch=batch,
            progress=show,
            checkpoint_secret=ctx.settings.secret_key,
            full=full,
        )
    except ValueError as exc:  # e.g. malformed STREETFLOW_WORKING_HOURS
        progress.end(None)
        fail(str(exc))
        return
    progress.end(f"  swept {swept[0]}/{swept[1]} cases" if swept[1] else None)
    click.echo(
        f"checked {result.checked} cases: {result.yellow} turned yellow, {result.red} turned red, "
        f"{result.supervisions} supervision(s) raised, {result.timeouts} timeout(s) fired"
    )
    if result.reminders or result.listed or result.returns_late or result.returns_lapsed:
        click.echo(
            f"the ladder: {result.reminders} reminder(s) (催办), {result.listed} listed (挂牌督办); "
            f"returns: {result.returns_late} review(s) late, {result.returns_lapsed} lapsed"
        )
    if result.told:
        click.echo(f"told {result.told} holder(s) of a light turned yellow or red")
    if result.checkpoint_seq is not None:
        click.echo(f"signed a checkpoint of the trail at seq {result.checkpoint_seq}")
    for problem in result.problems:
        click.echo(f"problem: {problem}", err=True)
    if result.problems:
        fail(f"{len(result.problems)} problem(s)")
