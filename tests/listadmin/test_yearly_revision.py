"""A yearly revision of the list, as the district office does it: a spreadsheet imported, its
diff read, published, and the running cases of a changed item moved to their new route."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import T0, staff_of
from tests.listadmin.helpers import (
    CLERK,
    STREET,
    open_case,
    published,
    rows_of,
    run,
    trail_is_intact,
    walk,
    write_xlsx,
)
from workflow.audit.replay import differences
from workflow.catalog import registry
from workflow.runtime import engine
from workflow.spec.model import ItemSpec
from workflow.store.models import Case, TrailEvent


def revision(items: list[ItemSpec]) -> list[ItemSpec]:
    """Next year's list: two items added, SW-01's street limit shortened from 12 to 8 working
    days, SW-02 moved from three-tier to street approval (no department stage any more)."""
    out = []
    for i in items:
        if i.code == "SW-01":
            i = dataclasses.replace(i, street_limit_wd=8)
        if i.code == "SW-02":
            i = dataclasses.replace(i, route="street_approval", dept_limit_wd=None)
        out.append(i)
    ps = next(i for i in items if i.code == "PS-03")
    out.append(dataclasses.replace(ps, code="PS-07", name_zh="夜间施工噪音投诉", name_en="x"))
    local = next(i for i in items if i.code == "SW-10")
    out.append(dataclasses.replace(local, code="SW-18", name_zh="独生子女父母光荣证补办"))
    return out


def events(s: Session, action: str) -> list[TrailEvent]:
    return list(
        s.execute(
            select(TrailEvent).where(TrailEvent.action == action).order_by(TrailEvent.seq)
        ).scalars()
    )


def test_a_yearly_revision_is_imported_diffed_published_and_its_cases_moved(
    env: Path, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    dept = staff_of("D-MZ")
    with sessions.begin() as s:
        in_ws = open_case(s, "SW-02")
        walk(s, in_ws, ("accept", CLERK))
        at_street = open_case(s, "SW-02")
        walk(s, at_street, ("accept", CLERK), ("forward", CLERK))
        at_dept = open_case(s, "SW-02")
        walk(s, at_dept, ("accept", CLERK), ("forward", CLERK), ("forward", STREET))
        done = open_case(s, "SW-02")
        walk(s, done, ("accept", CLERK), ("forward", CLERK), ("forward", STREET), ("approve", dept))
        sw01 = open_case(s, "SW-01")
        old_due = walk(s, sw01, ("accept", CLERK), ("forward", CLERK)).stage_due_at
        sheet = write_xlsx(
            tmp_path / "权责清单-2027.xlsx",
            rows_of(revision(published(s)), chinese=True, english_names=False),
        )

    # 1. The dry run: the diff, the running cases each change touches, nothing published.
    code, out = run("list", "import", str(sheet), "--dry-run")
    assert code == 0, out
    assert "against list version 1: 2 added, 0 removed, 2 changed" in out
    assert "+ PS-07 夜间施工噪音投诉" in out and "+ SW-18 独生子女父母光荣证补办" in out
    sw01_part = out.split("~ SW-01")[1].split("~ SW-02")[0]
    assert "street_limit_wd: 12 -> 8" in sw01_part
    assert f"running cases touched: 1 ({sw01})" in sw01_part
    sw02_part = out.split("~ SW-02")[1]
    assert "route: three_tier -> street_approval" in sw02_part
    assert "dept_limit_wd: 10 -> (empty)" in sw02_part
    # The approved case is not running: it is not touched.
    assert f"running cases touched: 3 ({in_ws}, {at_street}, {at_dept})" in sw02_part
    assert "dry run: nothing published" in out
    with sessions() as s:
        assert registry.latest_version(s, "items", "items") == 1

    # 2. Published: list version 2, in the trail; running cases keep their list version.
    code, out = run("list", "import", str(sheet), "--by", "district-admin")
    assert code == 0, out
    assert "items: version 2 (published)" in out
    with sessions() as s:
        last = events(s, "definitions.published")[-1]
        assert last.actor == "district-admin"
        assert last.data["kind"] == "items" and last.data["version"] == 2
        items, v = registry.items(s)
        assert (
            v == 2 and items["PS-07"].name_en == "夜间施工噪音投诉"
        )  # a new item: its Chinese name
        assert items["SW-01"].name_en == "Old-age allowance application"  # kept from version 1
        case = s.get(Case, sw01)
        assert case is not None and case.list_version == 1 and case.stage_due_at == old_due
    # A case opened now has the shorter limit.
    with sessions.begin() as s:
        new = open_case(s, "SW-01")
        due = walk(s, new, ("accept", CLERK), ("forward", CLERK)).stage_due_at
        assert due == engine.work_calendar(s).add_working_days(T0, 8) and due != old_due

    # 3. Moving SW-02's running cases to street approval: the dry run says who cannot, and why.
    move = ["routes", "migrate", "three_tier", "--from", "1", "--to", "1"]
    move += ["--to-route", "street_approval", "--item", "SW-02"]
    code, out = run(*move, "--dry-run")
    assert code == 1
    assert f"case {at_dept} (SW-02) in dept_review: cannot move: state 'dept_review'" in out
    assert f"case {in_ws} (SW-02): ws_review @ W-ZHL-01 -> ws_review @ W-ZHL-01" in out
    assert "2 can move, 1 cannot; dry run: nothing moved" in out
    with sessions() as s:
        assert not events(s, "case.migrated")

    # 4. With the department's review mapped to the street's, all three move.
    versions = {}
    with sessions() as s:
        for cid in (in_ws, at_street, at_dept):
            c = s.get(Case, cid)
            assert c is not None
            versions[cid] = c.version
    code, out = run(*move, "--map", "dept_review=street_review", "--reason", "2027年清单调整")
    assert code == 0, out
    assert f"case {at_dept} (SW-02): dept_review @ D-MZ -> street_review @ S-ZHL" in out
    assert "3 moved, 0 cannot" in out
    with sessions() as s:
        moved = events(s, "case.migrated")
        assert [e.case_id for e in moved] == [in_ws, at_street, at_dept]
        for e in moved:
            assert e.data["route"] == "three_tier" and e.data["to_route"] == "street_approval"
            assert (e.data["from_version"], e.data["to_version"]) == (1, 1)
            assert (e.data["from_list_version"], e.data["to_list_version"]) == (1, 2)
            assert e.reason == "2027年清单调整"
            c = s.get(Case, e.case_id)
            assert c is not None
            assert (c.route_name, c.list_version) == ("street_approval", 2)
            assert c.version == versions[e.case_id] + 1
        assert (moved[2].from_state, moved[2].from_holder) == ("dept_review", "D-MZ")
        assert (moved[2].to_state, moved[2].to_holder) == ("street_review", "S-ZHL")
        assert list(differences(s)) == [] and trail_is_intact(s)
    # The street office now decides what the department used to.
    with sessions.begin() as s:
        assert walk(s, at_dept, ("approve", STREET)).state == "approved"

    # 5. A moved case can be moved back (to the list version that had SW-02 on three_tier).
    back = ["routes", "migrate", "street_approval", "--from", "1", "--to", "1"]
    back += ["--to-route", "three_tier", "--item", "SW-02", "--list-version", "1"]
    code, out = run(*back)
    assert code == 0, out
    assert "2 moved, 0 cannot" in out
    with sessions.begin() as s:
        c = s.get(Case, at_street)
        assert c is not None
        assert (c.route_name, c.list_version, c.version) == (
            "three_tier",
            1,
            versions[at_street] + 2,
        )
        assert walk(s, at_street, ("forward", STREET)).holder == "D-MZ"
    with sessions() as s:
        assert list(differences(s)) == [] and trail_is_intact(s)
        trail = [
            (e.action, e.from_state, e.to_state)
            for e in s.execute(
                select(TrailEvent).where(TrailEvent.case_id == at_street).order_by(TrailEvent.seq)
            ).scalars()
        ]
    assert trail == [
        ("case.opened", None, "submitted"),
        ("case.transition", "submitted", "ws_review"),
        ("case.transition", "ws_review", "street_review"),
        ("case.migrated", "street_review", "street_review"),
        ("case.migrated", "street_review", "street_review"),
        ("case.transition", "street_review", "dept_review"),
    ]
