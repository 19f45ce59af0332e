"""Many cases at once, for the search's scale test and bench/search.py: rows written by bulk SQL
(one executemany), not through the engine, with names, phones, places, items, workstations,
states, urgencies and dates varied as a district's year of cases varies. The search index is
kept by the database as for any write (SQLite's triggers; PostgreSQL's indexes)."""

from __future__ import annotations

import datetime as dt
import json
import random
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from workflow.catalog import registry
from workflow.store import search_index
from workflow.store.models import Case, UTCDateTime

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉建国志文斌波宇浩凯晨欣怡婷雪琳晶慧颖佳子轩梓涵一诺"
ROADS = (
    "海口路",
    "珠海路",
    "香港中路",
    "闽江路",
    "宁夏路",
    "福州南路",
    "延安三路",
    "山东路",
    "东海西路",
    "南京路",
)
PROBLEMS = (
    "路灯不亮",
    "井盖缺失",
    "楼道堆物",
    "噪音扰民",
    "占道经营",
    "垃圾未清运",
    "漏水",
    "违章停车",
)
STATES = ("received", "ws_review", "street_handling", "approved", "closed")


def rows(session: Session, n: int, *, seed: int = 7, start: dt.datetime) -> list[dict[str, Any]]:
    """N case rows (a dict per row) over the district's workstations and items."""
    rnd = random.Random(seed)
    items, list_version = registry.items(session)
    index = registry.units(session)
    stations = sorted(c for c, u in index.units.items() if u.kind == "workstation")
    routes = {it.route: registry.route(session, it.route)[1] for it in items.values()}
    codes = sorted(items)
    out = []
    for i in range(n):
        ws = stations[i % len(stations)]
        item = items[codes[rnd.randrange(len(codes))]]
        at = start - dt.timedelta(minutes=rnd.randrange(365 * 24 * 60))
        name = rnd.choice(SURNAMES) + "".join(
            rnd.choice(GIVEN) for _ in range(rnd.choice((1, 2, 2)))
        )
        closed = rnd.random() < 0.6
        out.append(
            {
                "item": item.code,
                "list_version": list_version,
                "route_name": item.route,
                "route_version": routes[item.route],
                "workstation": ws,
                "street": index.units[ws].parent,
                "state": "closed" if closed else rnd.choice(STATES[:4]),
                "tier": None if closed else "workstation",
                "holder": None if closed else ws,
                "version": 1,
                "channel": "window",
                "applicant_name": name,
                "applicant_phone": "1"
                + "".join(rnd.choice("3456789"))
                + f"{rnd.randrange(10**9):09d}",
                "description": f"{rnd.choice(ROADS)}{rnd.randrange(1, 400)}号 {rnd.choice(PROBLEMS)}",
                "form": {},
                "created_at": at,
                "updated_at": at,
                "closed_at": at + dt.timedelta(days=3) if closed else None,
                "stage_started_at": at,
                "stage_due_at": None if closed else at + dt.timedelta(days=rnd.randrange(1, 15)),
                "due_at": at + dt.timedelta(days=20),
                "light": "none" if closed else rnd.choice(("green", "yellow", "red")),
                "urgency": rnd.choices(("normal", "urgent", "critical"), (90, 8, 2))[0],
            }
        )
    return out


def _sqlite_value(v: Any) -> Any:
    if isinstance(v, dt.datetime):
        return UTCDateTime.sqlite_bind(v)
    if isinstance(v, dict):
        return json.dumps(v)
    return v


def seed_cases(session: Session, n: int, *, start: dt.datetime, batch: int = 50_000) -> None:
    """Insert N cases in batches of BATCH rows, in the caller's transaction.

    On SQLite the rows go in by the driver's executemany with the index's insert trigger set
    aside, and the index is filled in one INSERT ... SELECT after (as the migration fills it):
    the same index, a fifth of the time of a trigger per row."""
    conn = session.connection()
    sqlite = conn.dialect.name == "sqlite"
    if sqlite:
        conn.exec_driver_sql(f"DROP TRIGGER {search_index.FTS}_ai")
        first_id = conn.exec_driver_sql("SELECT coalesce(max(id), 0) FROM cases").scalar_one()
    for first in range(0, n, batch):
        chunk = rows(session, min(batch, n - first), seed=first, start=start)
        if not sqlite:
            session.execute(insert(Case.__table__), chunk)
            continue
        cols = list(chunk[0])
        sql = f"INSERT INTO cases ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
        conn.exec_driver_sql(sql, [tuple(_sqlite_value(r[c]) for c in cols) for r in chunk])
    if sqlite:
        conn.exec_driver_sql(search_index.SQLITE_FILL + f" WHERE id > {int(first_id)}")
        conn.exec_driver_sql(search_index.SQLITE_INSERT_TRIGGER)
