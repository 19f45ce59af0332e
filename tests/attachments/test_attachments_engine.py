"""Attachments in the engine: a task's files by its unit (and the street in command), seen by
that unit and not by the other departments called; purposes and materials checked; an ended
case takes no files; replay rebuilds the rows."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.attachments.helpers import PDF, png
from tests.conftest import T0, staff_of, trail_intact
from tests.tasks.helpers import CLERK, STREET, at_street
from workflow.actors import Actor
from workflow.attachments import records
from workflow.attachments.records import Upload
from workflow.attachments.storage import FolderStore
from workflow.audit import replay
from workflow.errors import InvalidInput, NotAllowed, NotFound, NotHolder
from workflow.runtime import engine, tasks


def test_task_files_stay_with_their_task(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    store = FolderStore(tmp_path / "files")
    with sessions.begin() as s:
        cid = at_street(s, "PS-06")  # lead D-GA, assisting D-ZJ and D-ZF
        engine.fire(s, cid, "whistle", STREET, reason="联合处置", now=T0)
        by_unit = {t.unit: t for t in tasks.round_tasks(s, cid, engine.get_case(s, cid).stage_seq)}
        ga, zj = by_unit["D-GA"], by_unit["D-ZJ"]
        mine = records.add(
            s,
            cid,
            staff_of("D-GA"),
            Upload(png(), "现场.png"),
            purpose="task",
            task_id=ga.id,
            store=store,
            now=T0,
        )
        # The street in command adds an after photo to D-ZJ's task.
        records.add(
            s,
            cid,
            STREET,
            Upload(png((30, 30)), "after.png"),
            purpose="after",
            task_id=zj.id,
            store=store,
            now=T0,
        )
        # Another department may not add to D-GA's task.
        with pytest.raises(NotHolder):
            records.add(
                s,
                cid,
                staff_of("D-ZJ"),
                Upload(png(), "x.png"),
                purpose="task",
                task_id=ga.id,
                store=store,
                now=T0,
            )
    with sessions() as s:
        assert [a.name for a in records.of_case(s, staff_of("D-GA"), cid)] == ["现场.png"]
        assert [a.name for a in records.of_case(s, staff_of("D-ZJ"), cid)] == ["after.png"]
        assert len(records.of_case(s, STREET, cid)) == 2
        with pytest.raises(NotFound):
            records.visible(s, staff_of("D-ZJ"), mine.id)
        assert trail_intact(s)
        assert list(replay.differences(s)) == []


def test_purposes_materials_and_ended_cases(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    store = FolderStore(tmp_path / "files")
    with sessions.begin() as s:
        cid = at_street(s)
        with pytest.raises(InvalidInput):
            records.add(s, cid, CLERK, Upload(PDF, "a.pdf"), purpose="material", store=store)
        with pytest.raises(InvalidInput):
            records.add(
                s,
                cid,
                CLERK,
                Upload(PDF, "a.pdf"),
                purpose="material",
                material="护照",
                store=store,
            )
        with pytest.raises(InvalidInput):
            records.add(
                s, cid, CLERK, Upload(PDF, "a.pdf"), purpose="intake", task_id=1, store=store
            )
        row = records.add(
            s,
            cid,
            CLERK,
            Upload(PDF, "C:\\scans\\位置.pdf"),
            purpose="material",
            material="位置",
            store=store,
        )
        assert row.name == "位置.pdf" and row.content_type == "application/pdf"
        with pytest.raises(NotHolder):
            records.add(
                s,
                cid,
                Actor("auditor", "X-SN", "auditor"),
                Upload(PDF, "a.pdf"),
                store=store,
            )
    with sessions.begin() as s:
        engine.fire(s, cid, "resolve", STREET, now=T0)
        engine.fire(s, cid, "confirm", CLERK, now=T0)
    with sessions.begin() as s, pytest.raises(NotAllowed):
        records.add(s, cid, CLERK, Upload(png(), "late.png"), purpose="after", store=store)
    with sessions() as s:
        assert [a.name for a in records.of_case(s, CLERK, cid)] == ["位置.pdf"]
