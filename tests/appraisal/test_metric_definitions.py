"""The metrics whose queries read several metrics in one pass (the response and on-time rates, the
resident's answers) or read open overdue by another path on PostgreSQL, checked against their
plain definitions (docs/auditors/appraisal.md) worked out in Python from the trail's events, on a
small instance built by bench/build.py: every unit, every case id, on both databases."""

from __future__ import annotations

import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from tests.deploy.conftest import new_database  # noqa: F401  (a fixture: a new, empty database)
from workflow.appraisal import metrics, records
from workflow.appraisal.metrics import CLOCK_ACTIONS, LEAVING, SATISFIED, Window
from workflow.audit.chain import format_at
from workflow.config import REPO
from workflow.instants import parse_iso
from workflow.store.db import make_engine, make_sessionmaker
from workflow.store.models import TrailEvent

Rates = dict[str, tuple[list[int], list[int]]]  # unit -> (denominator ids, numerator ids)


def _stage_exits(events: list[TrailEvent], w: Window, limit: str) -> Rates:
    out: dict[str, tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
    for e in events:
        if e.action not in LEAVING or not w.start <= e.at < w.end:
            continue
        left = e.data.get("left") or {}
        if left.get("limit") != limit or left.get("due_at") is None:
            continue
        if e.data.get("paused") is not None:
            continue
        den, num = out[left.get("holder")]
        den.append(e.case_id)
        if left.get("late") is False:
            num.append(e.case_id)
    return dict(out)


def _answers(events: list[TrailEvent], w: Window, credit: str) -> list[tuple[str, int, Any]]:
    """(unit, matter, data) of each matter's last answer in the window, not taken out by an
    upheld appeal; for the handler, and the commander where CREDIT says so."""
    upheld = {
        e.data.get("rating")
        for e in events
        if e.action == "feedback.appeal_decided" and e.data.get("uphold") is True
    }
    last: dict[Any, TrailEvent] = {}
    alone: list[TrailEvent] = []
    for e in events:
        if e.action != "feedback.given" or not w.start <= e.at < w.end:
            continue
        if e.data.get("feedback") is not None and e.data["feedback"] in upheld:
            continue
        matter = e.data.get("merged_into") or e.case_id
        if matter is None:
            alone.append(e)
        elif matter not in last or last[matter].seq < e.seq:
            last[matter] = e
    rows = []
    for e in [*last.values(), *alone]:
        matter = e.data.get("merged_into") or e.case_id
        units = ["handler"] + (["commander"] if credit == "handler_and_commander" else [])
        rows += [(e.data[u], matter, e.data) for u in units if e.data.get(u) is not None]
    return rows


def _answered(events: list[TrailEvent], w: Window, credit: str, satisfaction: bool) -> Rates:
    out: dict[str, tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
    for unit, matter, data in _answers(events, w, credit):
        den, num = out[unit]
        den.append(matter)
        level = data.get("level")
        ok = level is not None and level >= SATISFIED if satisfaction else data.get("resolved")
        if ok is True:
            num.append(matter)
    return dict(out)


def _open_overdue(events: list[TrailEvent], w: Window) -> dict[str, list[int]]:
    last: dict[int, TrailEvent] = {}
    for e in events:
        if e.action in CLOCK_ACTIONS and e.at < w.end:
            last[e.case_id] = e  # events in seq order: the last one stays
    out: dict[str, set[int]] = defaultdict(set)
    for case_id, e in last.items():
        due = e.data.get("stage_due_at")
        if e.to_holder is None or due is None or e.data.get("paused") is not None:
            continue
        if due < format_at(w.end):
            out[e.to_holder].add(case_id)
    return {unit: sorted(ids) for unit, ids in out.items()}


def test_the_joint_and_postgresql_queries_give_the_plain_definitions(
    new_database: Callable[[], str],  # noqa: F811
) -> None:
    url = new_database()
    built = subprocess.run(
        [
            sys.executable,
            "bench/build.py",
            "--cases=150",
            "--template=60",
            "--months=2",
            "--db",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
    )
    assert built.returncode == 0, built.stderr
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    with sessions() as s:
        events = list(s.execute(select(TrailEvent).order_by(TrailEvent.seq)).scalars())
        periods = sorted({format_at(e.at)[:7] for e in events if e.case_id is not None})
        checked = 0
        for period in periods:
            inputs = records.gather_inputs(s, period)
            w = Window(
                period, parse_iso(inputs["from"]), parse_iso(inputs["to"]), inputs["last_seq"]
            )
            scheme = records._definition(s, "appraisal", inputs["definitions"]["appraisal"])
            credit = scheme["credit"]
            # a unit's (denominator, numerator) case ids, as the records carry them
            want: dict[str, Rates] = {
                "response_rate": _stage_exits(events, w, "response"),
                "on_time_rate": _stage_exits(events, w, "days"),
                "resolution_rate": _answered(events, w, credit["resolution_rate"], False),
                "satisfaction_rate": _answered(events, w, credit["satisfaction_rate"], True),
            }
            overdue = _open_overdue(events, w)
            units = {e.to_holder for e in events} | set(overdue)
            units |= {u for per_unit in want.values() for u in per_unit}
            got = metrics.measure(s, w, units - {None}, credit)
            for name, per_unit in want.items():
                for unit, m in got.items():
                    den, num = per_unit.get(unit, ([], []))
                    assert (m[name]["denominator_cases"], m[name]["numerator_cases"]) == (
                        sorted(den),
                        sorted(num),
                    ), (period, name, unit)
                    checked += len(den)
            for unit, m in got.items():
                assert m["open_overdue"]["numerator_cases"] == overdue.get(unit, []), unit
                checked += len(overdue.get(unit, []))
            s.rollback()
    engine.dispose()
    # The built instance has exits, answers and overdue cases to check (not an empty month).
    assert len(periods) >= 2 and checked > 200
