"""The command line as an administrator uses it: init, users, api keys, publish, diagrams."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.cli import main
from workflow.audit.replay import differences
from workflow.store.models import Case, TrailEvent, User
from workflow.users import check_password


def run(*args: str, input: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), input=input)
    return result.exit_code, result.output


def test_every_command_has_help_with_an_example() -> None:
    for command in (
        ["init"],
        ["serve"],
        ["users", "add"],
        ["users", "disable"],
        ["apikeys", "add"],
        ["definitions", "validate"],
        ["definitions", "publish"],
        ["definitions", "diagram"],
    ):
        code, out = run(*command, "--help")
        assert code == 0
        assert "Example:" in out and "Exit codes:" in out, command


def test_init_demo_makes_users_and_real_cases(env: Path, sessions: sessionmaker[Session]) -> None:
    # A fixed Wednesday: the demo moves cases by the working-day clock, so the wall clock
    # (a Sunday, say) would change what it makes.
    code, out = run(
        "init",
        "--demo",
        "--days",
        "10",
        "--per-workstation",
        "2",
        "--now",
        "2026-11-25T10:00:00+08:00",
    )
    assert code == 0, out
    # One row a demo user, in columns: the password always starts at the same place.
    rows = [line for line in out.splitlines() if "-demo-2026" in line]
    assert len({row.index(row.split()[1]) for row in rows}) == 1, rows
    assert any(row.split()[:2] == ["clerk", "clerk-demo-2026"] for row in rows)
    with sessions() as s:
        names = set(s.execute(select(User.name)).scalars())
        assert {"admin", "clerk", "street", "agency", "dept", "auditor"} <= names
        clerk = s.execute(select(User).where(User.name == "clerk")).scalar_one()
        assert check_password(clerk, "clerk-demo-2026") and not check_password(clerk, "wrong")
        assert clerk.password_hash.startswith("$argon2")
        cases = s.execute(select(func.count(Case.id))).scalar_one()
        # (A call waiting at the 12345 centre has no item, nor a community: its workstation
        # column names the centre.)
        items = s.execute(
            select(func.count(func.distinct(Case.item))).where(Case.item != "")
        ).scalar_one()
        workstations = s.execute(
            select(func.count(func.distinct(Case.workstation))).where(Case.workstation != "H-SN")
        ).scalar_one()
        moves = s.execute(
            select(func.count()).where(TrailEvent.action == "case.transition")
        ).scalar_one()
        assert cases > 50 and items == 44 and workstations == 50
        assert moves > cases
        # Some incidents came through the residents' app: the public Open311 list shows them.
        channels = set(s.execute(select(Case.channel)).scalars())
        assert channels == {"window", "app-shinan", "hotline"}  # hotline: the 12345 centre's calls
        assert list(differences(s)) == []
    # Run again: nothing is duplicated.
    code, out = run("init", "--demo")
    assert code == 0 and "none added" in out and "0 published" in out


def test_users_add_and_its_refusals(env: Path, sessions: sessionmaker[Session]) -> None:
    code, out = run(
        "users",
        "add",
        "wang",
        "--unit",
        "W-ZHL-02",
        "--role",
        "clerk",
        "--password-stdin",
        input="a long password\n",
    )
    assert code == 0, out
    for args, words in [
        (["wang", "--unit", "W-ZHL-02", "--role", "clerk"], "exists already"),
        (["li", "--unit", "W-NOPE", "--role", "clerk"], "no unit"),
        (["li", "--unit", "D-MZ", "--role", "clerk"], "belongs to a workstation"),
        (["li", "--unit", "D-MZ", "--role", "staff"], "at least 8"),
    ]:
        code, out = run(
            "users",
            "add",
            *args,
            "--password-stdin",
            input="short\n" if "staff" in args else "long enough pw\n",
        )
        assert code == 1 and words in out, (args, out)
    code, out = run("users", "add", "li", "--unit", "D-MZ", "--role", "pope", "--password-stdin")
    assert code == 2
    with sessions() as s:
        assert s.execute(select(func.count(User.id))).scalar_one() == 1
        ev = s.execute(select(TrailEvent).where(TrailEvent.action == "user.added")).scalar_one()
        assert ev.data == {"user": "wang", "unit": "W-ZHL-02", "role": "clerk"}


def test_apikeys_add_prints_a_key_stored_hashed(env: Path, sessions: sessionmaker[Session]) -> None:
    code, out = run("apikeys", "add", "hotline")
    key = out.strip()
    assert code == 0 and len(key) > 30
    with sessions() as s:
        stored = s.execute(
            select(TrailEvent).where(TrailEvent.action == "apikey.issued")
        ).scalar_one()
        assert key not in str(stored.data)
    assert run("apikeys", "add", "hotline")[0] == 1


def test_diagram_writes_an_svg_of_the_route(env: Path, tmp_path: Path) -> None:
    out = tmp_path / "incident.svg"
    code, text = run("definitions", "diagram", "incident", "-o", str(out))
    assert code == 0, text
    svg = out.read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    for state in ("reported", "coordinating", "closed"):
        assert f">{state}<" in svg
    assert "whistle*" in svg
    # The task state is drawn as such, with its join.
    assert "tasks per targets, join all" in svg
    code, text = run("definitions", "diagram", "nope")
    assert code == 1 and "no published route nope" in text


def test_commands_without_a_schema_say_so(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("STREETFLOW_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    code, out = run("apikeys", "add", "kiosk")
    assert code == 1 and "run 'streetflow init' first" in out


def test_the_console_script_runs(env: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "api", "definitions", "validate"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "valid" in proc.stdout


def test_init_again_keeps_what_was_published_since(
    env: Path, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    """A restart (scripts/run runs init each time) must not undo a newer published list or route."""
    import shutil

    from workflow.catalog import registry
    from workflow.config import DEFAULT_DEFINITIONS

    folder = tmp_path / "newer"
    shutil.copytree(DEFAULT_DEFINITIONS, folder)
    items = folder / "items.csv"
    items.write_text(
        items.read_text(encoding="utf-8").replace(
            "street_approval,D-MZ,3,12", "street_approval,D-MZ,3,8", 1
        ),
        encoding="utf-8",
    )
    code, out = run("definitions", "publish", str(folder))
    assert code == 0 and "items: version 2 (published)" in out
    code, out = run("init")
    assert code == 0, out
    assert "items: version 2 kept" in out
    with sessions() as s:
        assert registry.latest_version(s, "items", "items") == 2
        assert registry.item(s, "SW-01")[0].street_limit_wd == 8
    # An explicit publish of the shipped folder is the administrator's choice: it goes back.
    code, out = run("definitions", "publish")
    assert code == 0 and "items: version 3 (published)" in out


def test_init_on_a_schema_it_does_not_know_says_so(
    env: Path, sessions: sessionmaker[Session]
) -> None:
    from sqlalchemy import text

    with sessions.begin() as s:
        s.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    code, out = run("init")
    assert code == 1
    assert "cannot upgrade the schema" in out and "9999_future" in out


def test_a_malformed_database_url_is_a_clear_error(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    for url in ("not a url", "nosuchdb://x/y"):
        monkeypatch.setenv("STREETFLOW_DATABASE_URL", url)
        code, out = run("audit", "verify")
        assert code == 1, out
        assert "STREETFLOW_DATABASE_URL is not a database URL" in out
