"""The current instant, and an instant as the trail and the API spell it: one place for each."""

from __future__ import annotations

import datetime as dt

from workflow.audit.chain import format_at


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def iso(at: dt.datetime | None) -> str | None:
    """AT as format_at() spells it (UTC, microseconds, 'Z'); None stays None."""
    return format_at(at) if at is not None else None


def parse_iso(text: str) -> dt.datetime:
    """The instant iso() spelled as TEXT."""
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)
