"""What the resident of a hotline call is told (the receipt when the call is dispatched, the
result when it is answered on the spot), and what the resident of a merged case (合并) is told:
the merge at once, the master's outcome with a rating link when the master ends."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import open_case_as, walk
from workflow.actors import Actor
from workflow.config import Settings
from workflow.dispatch import centre, duplicates
from workflow.notify import worker
from workflow.places import hotspots
from workflow.store.db import make_sessionmaker

CLERK = Actor("clerk", "W-ZHL-01", "clerk")
DISPATCHER = Actor("dispatcher", "H-SN", "dispatcher")


def sent(instance: Path) -> list[dict[str, str]]:
    path = instance / "sms.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def own(engine, tmp_path: Path) -> tuple[sessionmaker[Session], Settings]:  # type: ignore[no-untyped-def]
    settings = Settings(instance=tmp_path / "inst", public_url="https://sf.example.cn")
    return make_sessionmaker(engine, settings), settings


def test_a_call_gets_its_receipt_when_dispatched(own) -> None:  # type: ignore[no-untyped-def]
    sessions, settings = own
    with sessions.begin() as s:
        cid = centre.open_at_dispatch(
            s,
            actor=DISPATCHER,
            applicant_name="王芳",
            applicant_phone="13800001111",
            description="路灯不亮",
        ).id
    worker.run_once(sessions, settings)
    assert sent(settings.instance) == []  # no item, no limit yet: nothing worth a receipt
    with sessions.begin() as s:
        centre.dispatch(s, cid, DISPATCHER, "W-ZHL-01", item="UD-04", workstation="W-ZHL-01")
    worker.run_once(sessions, settings)
    texts = [m["text"] for m in sent(settings.instance)]
    assert len(texts) == 1
    assert f"受理编号{cid}" in texts[0] and "前办结" in texts[0] and "—" not in texts[0]


def test_a_call_answered_on_the_spot_gets_the_result_and_its_rating_link(own) -> None:  # type: ignore[no-untyped-def]
    sessions, settings = own
    with sessions.begin() as s:
        cid = centre.open_at_dispatch(
            s, actor=DISPATCHER, applicant_name="王芳", applicant_phone="13800001111"
        ).id
        centre.answer(s, cid, DISPATCHER, "带身份证到社区工作站申请", item="GA-08")
    worker.run_once(sessions, settings)
    texts = [m["text"] for m in sent(settings.instance)]
    assert len(texts) == 1
    assert (
        f"编号{cid}" in texts[0] and "已办结" in texts[0] and "https://sf.example.cn/f/" in texts[0]
    )


def test_the_merged_case_s_resident_is_told_then_rates_the_master(own) -> None:  # type: ignore[no-untyped-def]
    sessions, settings = own
    with sessions.begin() as s:
        master = open_case_as(s, "UD-03", applicant_phone="13900002222").id
        dup = open_case_as(s, "UD-03", applicant_phone="13700003333").id
    worker.run_once(sessions, settings)
    assert len(sent(settings.instance)) == 2  # both receipts
    with sessions.begin() as s:
        duplicates.merge(s, dup, CLERK, master, reason="同一处垃圾")
    worker.run_once(sessions, settings)
    merged = sent(settings.instance)[2:]
    assert [m["to"] for m in merged] == ["137****3333"]
    assert f"编号{dup}" in merged[0]["text"] and f"与编号{master}的案件" in merged[0]["text"]
    assert "评价" in merged[0]["text"]
    with sessions.begin() as s:
        walk(s, master, ("accept", CLERK), ("resolve", CLERK), ("confirm", CLERK))
    worker.run_once(sessions, settings)
    ended = sent(settings.instance)[3:]
    assert sorted(m["to"] for m in ended) == ["137****3333", "139****2222"]
    assert all("已办结" in m["text"] and "https://sf.example.cn/f/" in m["text"] for m in ended)
    links = {m["to"]: m["text"].rsplit("/f/", 1)[1] for m in ended}
    assert links["137****3333"] != links["139****2222"]  # each resident's own link
    # A re-run sends nothing twice.
    worker.run_once(sessions, settings)
    assert len(sent(settings.instance)) == 5


def test_hot_spots_count_a_merged_case_once(sessions: sessionmaker[Session]) -> None:
    now = dt.datetime.now(dt.UTC)
    with sessions.begin() as s:
        master = open_case_as(s, "UD-03").id
        dup = open_case_as(s, "UD-03").id
        open_case_as(s, "UD-03")
        duplicates.merge(s, dup, CLERK, master, reason="同一处垃圾")
    with sessions() as s:
        got = hotspots.hotspots(s, start=now - dt.timedelta(days=1), end=now + dt.timedelta(days=1))
    assert got.cells[("W-ZHL-01", "UD-03")] == 2
