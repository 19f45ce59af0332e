"""A list's page is rendered once for all its cases (their triggers, the join's tasks, the
routes), and its answer dumped by the response schema compiled (api/dumping): what each case
shows on a page is what its own read shows, and a compiled dump is marshmallow's dump."""

from __future__ import annotations

import datetime as dt
import types
from collections.abc import Callable
from typing import Any

import marshmallow as ma
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api import dumping
from api.resources import audit, cases, dispatch, notifications, supervision, tasks
from api.schemas import At
from tests.api.conftest import Client
from tests.conftest import T0, staff_of
from tests.tasks.helpers import STREET, at_street
from workflow.runtime import engine
from workflow.runtime import tasks as task_steps
from workflow.store.models import Task

HOUR = dt.timedelta(hours=1)
REASON = "多部门职责交叉，需联合处置"


def street_page(sessions: sessionmaker[Session]) -> dict[str, int]:
    """Cases at the street: two whistled to D-ZF and D-ZJ (one with both parts done, so the
    join holds; one waiting on D-ZJ), and one not whistled."""
    out = {}
    with sessions.begin() as s:
        for name in ("joined", "waiting", "plain"):
            out[name] = at_street(s, "UD-01")
        for name in ("joined", "waiting"):
            engine.fire(
                s, out[name], "whistle", STREET, reason=REASON, targets=["D-ZF", "D-ZJ"], now=T0
            )
        parts = {
            (t.case_id, t.unit): t
            for t in s.scalars(
                select(Task).where(Task.case_id.in_([out["joined"], out["waiting"]]))
            )
        }
        for (cid, unit), t in parts.items():
            task_steps.step(s, t.id, "report", staff_of(unit), now=T0 + HOUR)
            if cid == out["joined"] or unit == "D-ZF":
                task_steps.step(s, t.id, "done", staff_of(unit), result="已处置", now=T0 + HOUR)
    return out


def test_a_pages_triggers_are_each_cases_own(sessions: sessionmaker[Session]) -> None:
    ids = street_page(sessions)
    with sessions() as s:
        page = [engine.get_case(s, cid) for cid in ids.values()]
        for actor in (STREET, staff_of("D-ZF")):
            each = {c.id: engine.available_triggers(s, c, actor) for c in page}
            assert engine.available_triggers_of(s, page, actor) == each
        joined = engine.available_triggers_of(s, page, STREET)[ids["joined"]]
        waiting = engine.available_triggers_of(s, page, STREET)[ids["waiting"]]
    # The join holds for one: the street may resolve it, not the other.
    assert "resolve" in joined and "resolve" not in waiting


def test_a_case_on_a_page_reads_as_its_own_record(
    sessions: sessionmaker[Session], login: Callable[..., Client]
) -> None:
    ids = street_page(sessions)
    for client in (login("S-ZHL", "staff"), login("D-ZJ", "staff"), login("X-SN", "auditor")):
        listed = client.get("/cases?per_page=100")
        assert listed.status_code == 200, listed.text
        on_page = {c["id"]: c for c in listed.json()["items"]}
        assert set(ids.values()) & set(on_page)
        for cid in set(ids.values()) & set(on_page):
            listed_case = on_page[cid]
            own = client.get(f"/cases/{cid}").json()
            # (A full read shows the holder the phone; a list masks it.)
            for key in set(listed_case) - {"applicant", "tasks"}:
                assert own[key] == listed_case[key], key
            assert [
                {k: t[k] for k in mine}
                for t, mine in zip(own["tasks"], listed_case["tasks"], strict=True)
            ] == listed_case["tasks"]


# ---------------------------------------------------------------- the compiled dump


RESPONSE_SCHEMAS = [
    cases.CasePage(),
    cases.CaseSchema(),
    cases.CaseDetailSchema(),
    cases.TrailEventSchema(many=True),
    audit.EventPageSchema(),
    audit.TrailVerifySchema(),
    tasks.TaskPageSchema(),
    dispatch.QueuePage(),
    supervision.SupervisionPage(),
    supervision.ExtensionPage(),
    notifications.NotificationListSchema(),
    notifications.DeliveryPageSchema(),
    notifications.WebhookSchema(many=True),
]


def sample(schema: ma.Schema, k: int) -> Any:
    """An object for SCHEMA, the K-th variety: a dict or an object with attributes, some
    fields missing, some None, some values of another type than the field's."""
    values: dict[str, Any] = {}
    for n, (name, field) in enumerate(schema.dump_fields.items()):
        if (n + k) % 5 == 0:
            continue  # missing
        if (n + k) % 7 == 0:
            values[field.attribute or name] = None
            continue
        values[field.attribute or name] = value_for(field, k + n)
    return values if k % 2 else types.SimpleNamespace(**values)


def value_for(field: ma.fields.Field, k: int) -> Any:
    if isinstance(field, ma.fields.Nested):
        many = field.schema.many or field.many
        one = sample(field.schema, k + 1)
        return [one, sample(field.schema, k + 2)] if many else one
    if isinstance(field, ma.fields.List):
        return [value_for(field.inner, k), value_for(field.inner, k + 1)]
    if isinstance(field, ma.fields.Integer):
        return [7, "8", 9.0, True][k % 4]
    if isinstance(field, ma.fields.Float):
        return [1, "2.5", 3.25][k % 3]
    if isinstance(field, ma.fields.Boolean):
        return [True, 0, "yes"][k % 3]
    if isinstance(field, ma.fields.Dict):
        return {"a": 1, "b": [2]}
    if isinstance(field, At):
        return dt.datetime(2026, 11, 30, 8, 0, k % 60, tzinfo=dt.UTC)
    if isinstance(field, ma.fields.String):
        return ["文本", 12, b"bytes"][k % 3]
    return {"raw": k}


@pytest.mark.parametrize("schema", RESPONSE_SCHEMAS, ids=lambda s: type(s).__name__)
def test_a_compiled_dump_is_marshmallows(schema: ma.Schema) -> None:
    fast = dumping.compiled(schema)
    assert fast is not None
    dumped = 0
    for k in range(12):
        obj = [sample(schema, k), sample(schema, k + 1)] if schema.many else sample(schema, k)
        try:
            slow = ma.Schema.dump(schema, obj)
        except Exception as exc:
            # (A dict without `items` gives marshmallow the dict's own items method.)
            with pytest.raises(type(exc)):
                fast(obj)
            continue
        assert fast(obj) == slow
        assert list(fast(obj)) == list(slow)  # the same key order
        dumped += 1
    assert dumped >= 3


def test_what_is_not_compiled_dumps_as_marshmallow_does() -> None:
    class Hooked(ma.Schema):
        n = ma.fields.Integer()

        @ma.post_dump
        def double(self, data: dict[str, Any], **kw: Any) -> dict[str, Any]:
            return {"n": data["n"] * 2}

    class Own(ma.Schema):
        n = ma.fields.Integer(dump_default=5)
        m = ma.fields.Method("twice")
        when = At()
        inner = ma.fields.Nested(Hooked)
        dotted = ma.fields.String(attribute="a.b")

        def twice(self, obj: Any) -> int:
            return 2 * obj["k"]

    assert dumping.compiled(Hooked()) is None
    own = Own()
    fast = dumping.compiled(own)
    assert fast is not None
    obj = {"k": 3, "when": dt.datetime(2026, 11, 30, tzinfo=dt.UTC), "inner": {"n": 4}}
    obj["a"] = {"b": "c"}
    assert (
        fast(obj)
        == ma.Schema.dump(own, obj)
        == {
            "n": 5,
            "m": 6,
            "when": "2026-11-30T00:00:00.000000Z",
            "inner": {"n": 8},
            "dotted": "c",
        }
    )
