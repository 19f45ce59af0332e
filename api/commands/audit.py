"""`streetflow audit`: verify the trail, anchor it with signed checkpoints, replay it, export it."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from workflow.audit import blocks as trail_blocks
from workflow.audit import chain
from workflow.audit.checkpoints import Anchor, checkpoint
from workflow.audit.export import export_lines
from workflow.audit.replay import differences
from workflow.audit.verify import verify as verify_trail

from .common import Context, fail, pass_ctx, refusals


@click.group()
def audit() -> None:
    """Check that the trail is intact, anchor it, replay it against the cases, export it."""


def _read_anchors(path: Path) -> list[Anchor]:
    out = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror}")
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            out.append(Anchor.from_json(line))
        except ValueError as exc:
            fail(f"{path}:{n}: {exc}")
    return out


@audit.command()
@click.option(
    "--anchors",
    type=click.Path(path_type=Path, dir_okay=False),
    help="A file of signed heads kept outside the database (lines of `audit checkpoint`).",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help='Print {"ok", "events_checked", "first_bad", "warnings", "warnings_total"}.',
)
@click.option(
    "--strict",
    is_flag=True,
    help="Exit 3 when the chain holds but there are warnings (time going backwards, events "
    "dated after they were written).",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(1, 64),
    default=None,
    help="Check a SQLite trail in this many processes (a break is then named by one walk). "
    "Default: one per CPU (at most 8) for a trail of 200,000 events or more, else 1.",
)
@click.option(
    "--partition",
    type=click.IntRange(min=0),
    default=None,
    help="On a partitioned trail: check this partition's chain only (against what the "
    "checkpoints and anchors signed of it).",
)
@pass_ctx
@refusals
def verify(
    ctx: Context,
    anchors: Path | None,
    as_json: bool,
    strict: bool,
    jobs: int | None,
    partition: int | None,
) -> None:
    """Recheck every link of the trail in seq order, its head, and every signed checkpoint.

    Each event's stored columns must be exactly the bytes its hash covers (not merely parse to
    the same value). On a break, names the first bad event and what is wrong with it: modified,
    missing, inserted, reordered, truncated (shorter than a signed checkpoint or its head),
    rebuilt (every hash recomputed: no longer the one signed at a checkpoint),
    forged_checkpoint, misplaced (an event outside its case's partition), or block_changed (a
    block of seqs digested for the appraisal whose rows no longer give its stored digest:
    changed afterwards, even if every hash after it was recomputed; every stored block is
    recomputed, over --jobs processes on SQLite).

    On a partitioned trail each partition's chain is checked by itself (or only --partition's),
    every problem is named with its partition, and one line per partition gives its head.

    Warnings do not break the chain: time_backwards (an event dated before the one before it),
    dated_after_write (dated more than a minute after the database wrote it). They are listed
    as `warning: seq N: KIND: DETAIL` (the first 100, and how many in all).

    \b
    Example:
      streetflow audit verify --anchors /safe/place/anchors.jsonl --jobs 4
    Exit codes: 0 intact (warnings, if any, listed), 1 a problem found (named on stdout),
    3 with --strict: intact but with warnings."""
    outside = _read_anchors(anchors) if anchors else []
    ctx.require_schema()
    started = time.monotonic()
    shown = [started]

    def progress(done: int, total: int) -> None:
        now = time.monotonic()
        if now - shown[0] >= 1.0:  # long runs only, at most once a second
            shown[0] = now
            click.echo(f"verified {done:,} of {total:,} events", err=True)

    with ctx.sessions() as session:
        report = verify_trail(
            session,
            ctx.settings.secret_key,
            anchors=outside,
            progress=progress,
            jobs=jobs,
            partition=partition,
        )
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False))
    elif report.ok and report.partitions is not None:
        click.echo(
            f"trail intact: {report.events_checked} events in {len(report.partitions)} "
            f"partition(s), {report.checkpoints_checked} signed checkpoint(s) hold"
        )
        for rp in report.partitions:
            click.echo(
                f"partition {rp.partition}: {rp.events_checked} events, head seq "
                f"{rp.last_seq} {rp.last_hash}"
            )
    elif report.ok:
        click.echo(
            f"trail intact: {report.events_checked} events, head seq {report.last_seq} "
            f"{report.last_hash}, {report.checkpoints_checked} signed checkpoint(s) hold"
        )
    else:
        bad = report.first_bad
        assert bad is not None
        where = "" if bad.partition is None else f" in partition {bad.partition}"
        click.echo(f"trail BROKEN{where} at seq {bad.seq}: {bad.kind}: {bad.detail}")
        if report.partitions is not None:
            for rp in report.partitions:
                state = "intact" if rp.ok else "BROKEN"
                click.echo(f"partition {rp.partition}: {state}, {rp.events_checked} events")
        for p in report.problems:
            if p is not bad:
                click.echo(f"also: {p}")
        click.echo(f"({report.events_checked} events verified before the break)", err=True)
    if not as_json:
        for w in report.warnings:
            click.echo(f"warning: {w}")
        if report.warnings_total:
            click.echo(f"{report.warnings_total} warning(s): the chain holds; time does not")
    if not report.ok:
        sys.exit(1)
    if strict and report.warnings_total:
        sys.exit(3)


@audit.command("blocks")
@pass_ctx
@refusals
def blocks_cmd(ctx: Context) -> None:
    """Digest the trail's full blocks of 65,536 seqs not digested yet, ahead of time.

    An appraisal record's inputs cover the stored text of the whole trail up to its last event
    by blocks: each full block is digested once, when a computation first needs it, and stored
    (docs/auditors/appraisal.md). On a big instance the first computation would digest every
    block while holding the trail's lock; this does it beforehand, one block per transaction
    (writers wait a fraction of a second at most), with a line per block on stderr. Run it again
    at any time: blocks stored already are skipped.

    \b
    Example:
      streetflow audit blocks
    Exit codes: 0 every full block is digested, 1 no database."""
    ctx.require_schema()
    done = 0
    while True:
        with ctx.transaction() as session:
            block, stored, full = trail_blocks.fill_next(session)
        if block is None:
            break
        done += 1
        click.echo(f"digested {block} ({stored} of {full} full blocks)", err=True)
    click.echo(
        f"trail blocks: {full} full block(s) of {trail_blocks.SIZE:,} seqs digested, "
        f"{done} of them now"
    )


@audit.command("checkpoint")
@pass_ctx
@refusals
def checkpoint_cmd(ctx: Context) -> None:
    """Record the chain head signed with the instance secret (HMAC-SHA256), and print it.

    The printed line is an anchor: append it to a file kept away from the database, and give
    that file to `audit verify --anchors`, so that deleting checkpoint rows does not help
    anyone who rewrites the trail. On a partitioned trail it carries every partition's head
    ("heads": [[partition, seq, hash], ...]) and their Merkle root ("root", also "hash"), which
    the signature covers.

    \b
    Example:
      streetflow audit checkpoint >> /safe/place/anchors.jsonl
    Exit codes: 0 recorded, 1 no database."""
    with ctx.transaction() as session:
        anchor = checkpoint(session, ctx.settings.secret_key)
    click.echo(json.dumps(anchor.as_dict()))
    click.echo(f"checkpoint: seq {anchor.seq} signed", err=True)


@audit.command()
@pass_ctx
@refusals
def replay(ctx: Context) -> None:
    """Rebuild every case, supervision, extension, task and attachment from the trail alone, and name each
    stored field that differs: one line each, `KIND ID: FIELD: stored VALUE, trail VALUE`
    (FIELD `row`: a row that only one side has).

    Compared: what the trail determines (a case's item, route and list versions, workstation,
    street, channel, state, tier, holder, version, times, limits, stage and rating score; every
    column of supervisions, extensions, tasks and attachments). Not: personal data, the rating's comment, and the
    light and other clock values derived from the limits.

    \b
    Example:
      streetflow audit replay
    Exit codes: 0 every row matches its trail, 1 some fields differ (listed)."""
    ctx.require_schema()
    n, rows = 0, set()
    with ctx.sessions() as session:
        for d in differences(session):
            n += 1
            rows.add((d.kind, d.id))
            click.echo(str(d))
    if n:
        click.echo(f"{n} field(s) in {len(rows)} row(s) differ from their trail", err=True)
        sys.exit(1)
    click.echo("every case, supervision, extension, task and attachment matches its trail")


@audit.command()
@click.option("--since", type=click.IntRange(min=0), default=0, help="Only events after SEQ.")
@click.option(
    "--partition",
    type=click.IntRange(min=0),
    default=None,
    help="On a partitioned trail: only this partition's events (its chain).",
)
@pass_ctx
@refusals
def export(ctx: Context, since: int, partition: int | None) -> None:
    """Write the trail as JSON Lines on stdout: one event a line, in seq order, canonical JSON.

    Each line has seq, at, case, actor, unit, action, trigger, from_state, to_state,
    from_holder, to_holder, reason, data, prev_hash and hash; docs/auditors/verify.md shows how
    to re-hash it with Python's standard library alone. On a partitioned trail each line also
    has its partition, and an incremental export (--since) is made per partition: seq order is
    commit order within a partition only, so a whole-trail --since could skip an event that
    committed after a higher seq of another partition.

    \b
    Example:
      streetflow audit export --since 1000 > trail.jsonl
      streetflow audit export --partition 2 --since 1000 > trail-2.jsonl
    Exit codes: 0 written, 1 no database, --since over several partitions without --partition."""
    ctx.require_schema()
    out = sys.stdout.buffer
    with ctx.sessions() as session:
        if since and partition is None and chain.partitions_count(session) > 1:
            fail("the trail has several partitions: export --since per --partition")
        for line in export_lines(session, since=since, partition=partition):
            out.write(line)
    out.flush()
