"""`streetflow places locate` as an administrator scripts it: placed, not placed, bad input."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from api.cli import main


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_places_locate(env: Path) -> None:
    code, out = run("places", "locate", "--help")
    assert code == 0 and "Example:" in out and "Exit codes:" in out
    code, out = run("places", "locate", "--address", "香港中路202号")
    assert code == 0, out
    assert out.strip() == "W-XGZ-03 漳州路社区工作站 (S-XGZ), by address, places version 1"
    code, out = run("places", "locate", "--lat", "35", "--long", "119")
    assert code == 1 and "error: cannot place; name a workstation" in out
    code, out = run("places", "locate", "--lat", "36.06")
    assert code == 1 and "long: give lat and long together" in out
    code, out = run("places", "locate")
    assert code == 1 and "give --lat and --long, or --address" in out
