"""两委一站 in the definitions: party items stay on the party line, mediation items start at the
residents' committee's mediation committee, item types come from the list's closed set, limits
count in the unit the item's basis uses, and a list without the new columns still loads."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.orm import Session, sessionmaker

from api.cli import main
from tests.conftest import T0
from workflow.actors import Actor
from workflow.config import DEFAULT_DEFINITIONS
from workflow.runtime import engine
from workflow.spec.loader import read_definitions


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    dest = tmp_path / "definitions"
    shutil.copytree(DEFAULT_DEFINITIONS, dest)
    return dest


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def drop_lines(path: Path, *starts: str) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(x for x in lines if not x.startswith(starts)), encoding="utf-8")


def validate(folder: Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["definitions", "validate", str(folder)])
    return result.exit_code, result.output


def test_a_party_item_routed_to_a_workstation_clerk_is_refused(folder: Path) -> None:
    edit(folder / "items.csv", "党内事务,party_local,D-ZZB,3", "党内事务,local,D-ZZB,3")
    code, out = validate(folder)
    assert code == 1
    assert "items.csv:27: row 27, column route: a party item is received and decided" in out
    assert "in a workstation clerk's hands" in out


def test_a_party_item_under_a_government_department_is_refused(folder: Path) -> None:
    edit(folder / "items.csv", "党内事务,party_local,D-ZZB", "党内事务,party_local,D-MZ")
    code, out = validate(folder)
    assert code == 1
    assert "a party item's department is a party body, not 'D-MZ'" in out


def test_the_organisation_department_is_not_under_the_district_government(folder: Path) -> None:
    edit(folder / "units.csv", "party_department,,", "party_department,X-SN,")
    code, out = validate(folder)
    assert code == 1
    assert "a party department is not under the district government" in out


def test_a_mediation_item_without_a_mediation_committee_is_refused(folder: Path) -> None:
    drop_lines(folder / "units.csv", "M-ZHL-01,")
    code, out = validate(folder)
    assert code == 1
    assert "no people's mediation committee for W-ZHL-01" in out


def test_a_mediation_item_starting_at_the_workstation_is_refused(folder: Path) -> None:
    edit(folder / "items.csv", "人民调解,mediation,D-SF", "人民调解,incident,D-SF")
    code, out = validate(folder)
    assert code == 1
    assert "a people's mediation item starts at the residents' committee's mediation" in out


def test_a_party_route_without_a_street_party_committee_is_refused(folder: Path) -> None:
    drop_lines(folder / "units.csv", "P-ZHL,")
    code, out = validate(folder)
    assert code == 1
    assert "no street party working committee for S-ZHL" in out


def test_a_community_has_one_party_committee(folder: Path) -> None:
    text = (folder / "units.csv").read_text(encoding="utf-8")
    (folder / "units.csv").write_text(
        text + "P-ZHL-01-B,又一个党委,Another,party_committee,W-ZHL-01,\n", encoding="utf-8"
    )
    code, out = validate(folder)
    assert code == 1
    assert "W-ZHL-01 has a party_committee already: P-ZHL-01" in out


def test_an_unknown_item_type_is_refused(folder: Path) -> None:
    edit(
        folder / "items.csv",
        "社会福利,行政给付,street_approval",
        "社会福利,行政福利,street_approval",
    )
    code, out = validate(folder)
    assert code == 1
    assert "items.csv:2: row 2, column kind: Must be one of: 行政许可" in out


def test_an_unknown_limit_unit_is_refused(folder: Path) -> None:
    edit(folder / "items.csv", ",months,", ",weeks,")
    code, out = validate(folder)
    assert code == 1
    assert "column limit_unit: Must be one of: working_days, calendar_days, months" in out


def test_lead_and_assisting_units_are_departments_of_the_whistle(folder: Path) -> None:
    edit(folder / "items.csv", "yes,D-ZF,D-ZJ", "yes,D-ZF,D-MZ")
    code, out = validate(folder)
    assert code == 1
    assert "column assist_units: 'D-MZ' is not among the item's whistle_to" in out


def test_a_list_without_the_new_columns_still_loads(folder: Path) -> None:
    import csv
    import io

    path = folder / "items.csv"
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    old = [c for c in rows[0] if c not in ("limit_unit", "public", "lead_unit", "assist_units")]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=old, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")
    defs, problems = read_definitions(folder)
    assert problems == []
    assert defs is not None
    item = defs.item("PB-03")
    assert (item.limit_unit, item.public, item.lead_unit, item.assist_units) == (
        "working_days",
        False,
        None,
        (),
    )


def test_the_shipped_list_has_party_mediation_public_and_shared_duties() -> None:
    defs, _ = read_definitions(DEFAULT_DEFINITIONS)
    assert defs is not None
    assert defs.unit("D-ZZB").kind == "party_department"
    assert {i.code for i in defs.items if i.kind == "党内事务"} == {f"PB-0{n}" for n in range(1, 6)}
    assert defs.item("PB-03").limit_unit == "months"
    assert not defs.item("SW-02").public and not defs.item("PB-03").public
    assert defs.item("UD-01").public
    assert (defs.item("PS-06").lead_unit, defs.item("PS-06").assist_units) == (
        "D-GA",
        ("D-ZJ", "D-ZF"),
    )


def _open(s: Session, item: str, actor: Actor) -> int:
    return engine.open_case(
        s,
        item=item,
        workstation="W-ZHL-01",
        actor=actor,
        applicant_name="王芳",
        applicant_phone="13800000000",
        now=T0,
    ).id


def test_a_one_month_limit_is_a_month_not_thirty_working_days(
    sessions: sessionmaker[Session],
) -> None:
    # Opened Thursday 26 November 2026; one month on is Saturday 26 December: the limit ends on
    # the next working day, Monday 28 December, at the end of its working hours (17:30 local).
    with sessions.begin() as s:
        case_id = _open(s, "PB-03", Actor("party", "P-ZHL-01", "staff"))
        engine.fire(s, case_id, "accept", Actor("party", "P-ZHL-01", "staff"), now=T0)
    with sessions() as s:
        case = engine.get_case(s, case_id)
        assert case.holder == "P-ZHL-01"
        expected = dt.datetime(2026, 12, 28, 9, 30, tzinfo=dt.UTC)
        assert case.stage_due_at == expected
        assert case.due_at == expected


def test_calendar_days_count_every_day(sessions: sessionmaker[Session]) -> None:
    # Legal aid: 1 calendar day at the workstation, 7 at the department, 8 for the whole case:
    # Thursday 26 November + 8 days is Friday 4 December.
    with sessions.begin() as s:
        case_id = _open(s, "PS-02", Actor("c", "W-ZHL-01", "clerk"))
        engine.fire(s, case_id, "accept", Actor("c", "W-ZHL-01", "clerk"), now=T0)
    with sessions() as s:
        case = engine.get_case(s, case_id)
        assert case.stage_due_at == dt.datetime(2026, 11, 27, 9, 30, tzinfo=dt.UTC)
        assert case.due_at == dt.datetime(2026, 12, 4, 9, 30, tzinfo=dt.UTC)


def test_a_workstation_clerk_cannot_refuse_a_party_application(
    sessions: sessionmaker[Session],
) -> None:
    from workflow.errors import NotHolder

    with sessions.begin() as s:
        case_id = _open(s, "PB-03", Actor("c", "W-ZHL-01", "clerk"))
    with sessions.begin() as s, pytest.raises(NotHolder):
        engine.fire(s, case_id, "refuse", Actor("c", "W-ZHL-01", "clerk"), reason="不办", now=T0)
