"""`streetflow audit replay` rebuilds every column the trail determines and names each field
that a hand-edited row no longer matches (cases, supervisions, extensions)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from api.cli import main
from tests.conftest import T0
from tests.time.conftest import open_at, sh, sweep
from workflow.actors import Actor
from workflow.audit.chain import format_at
from workflow.runtime import engine as wf
from workflow.runtime import sla
from workflow.store.models import Case, Supervision

CLERK = Actor("clerk", "W-ZHL-01", "clerk")
STREET = Actor("street", "S-ZHL", "staff")


def run(*args: str) -> tuple[int, list[str], str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout.splitlines(), result.stderr


@pytest.fixture
def world(env: Path, sessions: sessionmaker[Session]) -> dict[str, int]:
    """Two cases accepted at T0 (SW-11: due Tuesday 1 December 17:30): one with an extension
    asked and approved, one late and supervised; the ids, and the row of each kind."""
    with sessions.begin() as s:
        late = open_at(s, CLERK, "SW-11", T0)
        wf.fire(s, late.id, "accept", CLERK, now=T0)
        extended = open_at(s, CLERK, "SW-11", T0)
        wf.fire(s, extended.id, "accept", CLERK, now=T0)
    with sessions.begin() as s:
        ext = sla.request_extension(
            s,
            case_id=extended.id,
            actor=CLERK,
            reason="需上门核实",
            days=2,
            now=sh(2026, 11, 27, 9),
        )
    with sessions.begin() as s:
        sla.decide_extension(
            s, extension_id=ext.id, actor=STREET, approve=True, now=sh(2026, 11, 27, 11)
        )
    with sessions.begin() as s:
        asked = sla.request_extension(
            s, case_id=late.id, actor=CLERK, reason="再等等", days=1, now=sh(2026, 11, 27, 9)
        )
    sweep(sessions, sh(2026, 12, 2, 9))
    with sessions() as s:
        [sup] = s.execute(select(Supervision.id)).scalars()
    code, out, _ = run("audit", "replay")
    assert code == 0, out
    return {"case": late.id, "other": extended.id, "ext": ext.id, "asked": asked.id, "sup": sup}


def edit(engine: Engine, sql: str, **params: object) -> None:
    with engine.begin() as conn:  # the trail is untouched: only the row is edited
        conn.execute(text(sql), params)


def replay_lines() -> list[str]:
    code, out, err = run("audit", "replay")
    assert code == 1 and "differ from their trail" in err
    return out


def test_a_case_moved_to_another_workstation_and_street(
    engine: Engine, world: dict[str, int]
) -> None:
    c = world["case"]
    edit(engine, "UPDATE cases SET workstation = 'W-ZHL-02', street = 'S-BDG' WHERE id = :c", c=c)
    assert replay_lines() == [
        f"case {c}: workstation: stored 'W-ZHL-02', trail 'W-ZHL-01'",
        f"case {c}: street: stored 'S-BDG', trail 'S-ZHL'",
    ]


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("item", "'UD-01'", "item: stored 'UD-01', trail 'SW-11'"),
        ("list_version", "7", "list_version: stored 7, trail 1"),
        ("route_version", "9", "route_version: stored 9, trail 1"),
        ("route_name", "'elsewhere'", "route_name: stored 'elsewhere', trail {route}"),
        ("rating_score", "5", "rating_score: stored 5, trail None"),
    ],
)
def test_a_case_field_changed_by_hand(
    engine: Engine,
    sessions: sessionmaker[Session],
    world: dict[str, int],
    column: str,
    value: str,
    expected: str,
) -> None:
    c = world["case"]
    with sessions() as s:
        case = s.get(Case, c)
        assert case is not None
        route = case.route_name
    edit(engine, f"UPDATE cases SET {column} = {value} WHERE id = :c", c=c)
    assert replay_lines() == [f"case {c}: " + expected.format(route=repr(route))]


def test_limits_changed_by_hand(
    engine: Engine, sessions: sessionmaker[Session], world: dict[str, int]
) -> None:
    c = world["other"]
    with sessions() as s:
        case = s.get(Case, c)
        assert case is not None and case.stage_due_at is not None and case.due_at is not None
        stage_due, due = format_at(case.stage_due_at), format_at(case.due_at)
    with sessions.begin() as s:
        s.execute(
            update(Case)
            .where(Case.id == c)
            .values(stage_due_at=sh(2027, 1, 1), due_at=sh(2027, 2, 1))
        )
    assert replay_lines() == [
        f"case {c}: stage_due_at: stored '{format_at(sh(2027, 1, 1))}', trail '{stage_due}'",
        f"case {c}: due_at: stored '{format_at(sh(2027, 2, 1))}', trail '{due}'",
    ]


def test_a_supervision_deleted(engine: Engine, world: dict[str, int]) -> None:
    edit(engine, "DELETE FROM supervisions WHERE id = :i", i=world["sup"])
    assert replay_lines() == [
        f"supervision {world['sup']}: row: stored '(no row)', trail 'present'"
    ]


def test_an_extension_flipped_to_approved(engine: Engine, world: dict[str, int]) -> None:
    e = world["asked"]
    edit(
        engine,
        "UPDATE extensions SET status = 'approved', decided_by = 'street' WHERE id = :e",
        e=e,
    )
    assert replay_lines() == [
        f"extension {e}: status: stored 'approved', trail 'pending'",
        f"extension {e}: decided_by: stored 'street', trail None",
    ]


def test_an_approved_extensions_days_changed(engine: Engine, world: dict[str, int]) -> None:
    e = world["ext"]
    edit(engine, "UPDATE extensions SET days = 10 WHERE id = :e", e=e)
    assert replay_lines() == [f"extension {e}: days: stored 10, trail 2"]


def test_a_supervision_acknowledged_by_hand(engine: Engine, world: dict[str, int]) -> None:
    i = world["sup"]
    edit(engine, "UPDATE supervisions SET acknowledged_by = 'someone' WHERE id = :i", i=i)
    assert replay_lines() == [f"supervision {i}: acknowledged_by: stored 'someone', trail None"]
