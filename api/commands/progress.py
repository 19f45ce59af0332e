"""A progress line on stderr that log lines do not break.

On a terminal the line is redrawn in place; a log record printed meanwhile (a warning of the
engine) takes the line, and the progress is drawn again under it. Elsewhere (a pipe, a CI log)
only the last state is printed, once, so that logs hold no carriage returns."""

from __future__ import annotations

import logging
import sys

import click

_ERASE = "\r\x1b[K"
# The progress text on the terminal now, "" when none.
_shown = ""


def _on_terminal() -> bool:
    return sys.stderr.isatty()


def show(text: str) -> None:
    """Draw TEXT as the progress line (on a terminal; elsewhere nothing until end())."""
    global _shown
    if _on_terminal():
        click.echo(_ERASE + text, nl=False, err=True)
        _shown = text


def erase() -> None:
    """Take the progress line off the terminal."""
    global _shown
    if _shown:
        click.echo(_ERASE, nl=False, err=True)
        _shown = ""


def end(text: str | None) -> None:
    """Finish: TEXT stays as a line of its own (everywhere), or None leaves nothing."""
    erase()
    if text is not None:
        click.echo(text, err=True)


class LogHandler(logging.StreamHandler):
    """Log records on stderr, each on a line of its own even while a progress line is drawn."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    def emit(self, record: logging.LogRecord) -> None:
        line = _shown
        erase()
        self.stream = sys.stderr  # click's test runner swaps stderr between invocations
        super().emit(record)
        if line:
            show(line)
