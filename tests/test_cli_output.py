"""What a newcomer reads when ./scripts/run sets up an instance: no doubled words, and a progress
line on the terminal that log lines do not break."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from api.cli import main

DOUBLED = re.compile(r"\b(\w+) \1\b")


def test_init_names_each_definition_once(
    env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A new instance, as ./scripts/run makes it: every definition is published and named.
    monkeypatch.setenv("STREETFLOW_DATABASE_URL", f"sqlite:///{tmp_path / 'new.db'}")
    result = CliRunner().invoke(main, ["init"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "  items: version 1 (published)" in lines
    assert "  route incident: version 1 (published)" in lines
    assert [line for line in lines if DOUBLED.search(line)] == []


def screen(raw: bytes) -> list[str]:
    """The lines a terminal shows for RAW: a carriage return goes back to the line's start, ESC[K
    erases to its end."""
    lines: list[str] = []
    line, col = "", 0
    for token in re.split(r"(\r|\n|\x1b\[K)", raw.decode("utf-8")):
        if token == "\r":
            col = 0
        elif token == "\n":
            lines.append(line)
            line, col = "", 0
        elif token == "\x1b[K":
            line = line[:col]
        elif token:
            line = line[:col] + token + line[col + len(token) :]
            col += len(token)
    if line:
        lines.append(line)
    return lines


def test_demo_progress_on_a_terminal_is_not_broken_by_log_lines(env: Path) -> None:
    # Two months back from late November: the first cases' deadlines stay in 2026, later ones
    # reach into 2027, which the calendar package may not know yet (it then warns, once,
    # while the progress line is drawn).
    args = ["init", "--demo", "--days", "60", "--per-workstation", "4"]
    args += ["--now", "2026-11-29T10:00:00+08:00"]
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-c", "from api.cli import main; main()", *args],
        stdout=subprocess.PIPE,
        stderr=follower,
        env=os.environ.copy(),
    )
    os.close(follower)
    raw = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the other end closed: the command has ended
            break
        if not chunk:
            break
        raw += chunk
    out, _ = proc.communicate(timeout=300)
    os.close(leader)
    assert proc.returncode == 0, raw.decode()
    shown = screen(raw)
    assert b"demo cases: 100/200" in raw  # the progress was drawn on the terminal
    # Every log line starts a line of its own; no progress is left on the screen at the end.
    for line in shown:
        if "WARNING" in line:
            assert line.startswith("WARNING: "), shown
    assert [line for line in shown if "demo cases:" in line] == [], shown
    assert "demo cases: 200 opened over the last 60 days" in out.decode()


def test_demo_progress_off_a_terminal_leaves_no_carriage_returns(env: Path) -> None:
    result = CliRunner().invoke(
        main,
        [
            *("init", "--demo", "--days", "5", "--per-workstation", "1"),
            "--now",
            "2026-11-25T10:00:00+08:00",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "\r" not in result.output
    assert "demo cases: 50 opened over the last 5 days" in result.output.splitlines()
