"""What every command shares: the database from the settings, errors as messages and exit codes.

Exit codes: 0 done; 1 refused or found a problem (invalid definitions, a broken trail, a
refusal by the engine); 2 wrong usage (click's own)."""

from __future__ import annotations

import datetime as dt
import functools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn, TypeVar
from zoneinfo import ZoneInfo

import click
from sqlalchemy import Engine, inspect
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from workflow.config import Settings, settings
from workflow.errors import WorkflowError
from workflow.inputs import INT32, date_range_text, in_range
from workflow.instants import utcnow
from workflow.runtime.clock import WorkCalendar, calendar_notice
from workflow.spec.model import Definitions
from workflow.store.db import make_engine, make_sessionmaker

F = TypeVar("F", bound=Callable[..., Any])
# A version number, as the database's INTEGER holds it.
VERSION = click.IntRange(1, INT32)


class Context:
    """Opened lazily: `--help` and `definitions validate` never touch the database."""

    def __init__(self) -> None:
        self.settings: Settings = settings()
        self._engine: Engine | None = None
        self._sessions: sessionmaker[Session] | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            try:
                self._engine = make_engine(self.settings.database_url)
            except (ArgumentError, NoSuchModuleError) as exc:
                fail(f"STREETFLOW_DATABASE_URL is not a database URL this can use: {exc}")
            # Close the pool when the command ends, not when the garbage collector gets to it.
            click.get_current_context().call_on_close(self._engine.dispose)
        return self._engine

    @property
    def sessions(self) -> sessionmaker[Session]:
        if self._sessions is None:
            self._sessions = make_sessionmaker(self.engine, self.settings)
        return self._sessions

    def require_schema(self) -> None:
        try:
            tables = inspect(self.engine).get_table_names()
        except OperationalError as exc:
            fail(f"cannot reach the database: {exc.orig}")
        if "trail_events" not in tables:
            fail("the database has no schema yet: run 'streetflow init' first")

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        self.require_schema()
        with self.sessions.begin() as session:
            yield session


pass_ctx = click.make_pass_decorator(Context, ensure=True)


def fail(message: str, code: int = 1) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def parse_instant(value: str | None, option: str) -> dt.datetime | None:
    """An ISO-8601 instant with its UTC offset, as UTC; a message and exit 1 otherwise."""
    if value is None:
        return None
    try:
        at = dt.datetime.fromisoformat(value)
    except ValueError:
        fail(f"{option}: {value!r} is not an ISO-8601 instant like 2026-10-12T09:00:00+08:00")
    if at.tzinfo is None:
        fail(f"{option}: {value!r} has no UTC offset; add one, e.g. +08:00 or Z")
    if not in_range(at):
        fail(f"{option}: {value!r} is not {date_range_text()}")
    return at.astimezone(dt.UTC)


def refusals(fn: F) -> F:
    """Turn the engine's refusals into a one-line message and exit code 1."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except WorkflowError as exc:
            fail(exc.detail)
        except OperationalError as exc:
            fail(f"database error: {exc.orig}")

    return wrapper  # type: ignore[return-value]


# How far ahead init, definitions validate and publish look for a year the calendar does not
# know (days): a limit of a few weeks begun now runs that far.
CALENDAR_AHEAD_DAYS = 90


def tell_calendar(
    ctx: Context,
    defs: Definitions,
    ahead_days: int = CALENDAR_AHEAD_DAYS,
    now: dt.datetime | None = None,
) -> None:
    """A notice (stderr; not a problem) of the years from NOW (default: the clock's) to
    AHEAD_DAYS later whose holidays the calendar does not know."""
    today = (now or utcnow()).astimezone(ZoneInfo(ctx.settings.timezone)).date()
    years = WorkCalendar(defs.calendar).years_unknown(today, ahead_days)
    if years:
        click.echo(f"notice: {calendar_notice(years)}", err=True)
