"""Build a realistic instance of N cases quickly, on SQLite or PostgreSQL, for the city-scale benches.

    .venv/bin/python bench/build.py --cases 300000 --db sqlite:////tmp/city.db
    .venv/bin/python bench/build.py --cases 1000000 --db postgresql+psycopg://postgres@127.0.0.1/city

How: the real engine (workflow.demo.generate_cases: every item, every workstation, the routes'
moves in time order, late stages, supervisions, tasks, the residents' ratings) makes a template
of about --template cases over four weeks in a scratch SQLite file; the template is then copied
into the target, each copy shifted back by whole weeks (a working day stays a working day, an
hour of the day stays the same) so that the cases spread over --months months up to now. Case
ids follow the opening order; the trail is written in time order over all copies, every event
re-chained (a fresh prev_hash and hash), so `streetflow audit verify` passes. A copy's cases
keep the state they had at the end of its four weeks: the template's open cases stay open in
every copy (about a third), with their stage deadlines in the past (the backlog a late sweep
has to catch up on) and the lights they had then. On PostgreSQL the build ends with
`VACUUM (ANALYZE)`, as autovacuum would leave a database in service (copies made with
`createdb -T` keep the visibility map but not the statistics: analyse them before measuring).

The target must be migrated and empty of cases (a fresh database is migrated here). Exit codes:
0 built, 1 the target holds cases already."""

from __future__ import annotations

import argparse
import datetime as dt
import heapq
import math
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, func, select, update

from workflow import demo
from workflow.audit import chain
from workflow.catalog import registry
from workflow.config import DEFAULT_DEFINITIONS
from workflow.instants import utcnow
from workflow.spec.loader import load_definitions
from workflow.store.db import make_engine, make_sessionmaker
from workflow.store.migrate import upgrade
from workflow.store.models import Base, Case, TrailEvent, TrailHead

WINDOW_DAYS = 28  # the template's span: whole weeks
# Every table that belongs to a case, parents first (tasks before the supervisions of a task);
# not case_units, which the trail's trigger writes as the events are copied.
DERIVED = ("trail_events", "case_units")
_CASES = cast(Table, Case.__table__)
_EVENTS = cast(Table, TrailEvent.__table__)
_HEAD = cast(Table, TrailHead.__table__)
CASE_TABLES = [_CASES] + [
    t for t in Base.metadata.sorted_tables if "case_id" in t.c and t.name not in DERIVED
]
# Columns that name another row of a case's tables, and the table.
REFS = {"task_id": "tasks", "feedback_id": "feedback"}
# Columns that hold a trail seq (the event that began a stage, a task round).
SEQ_COLUMNS = {("cases", "stage_seq"), ("tasks", "round"), ("tasks", "stage_seq")} | {
    (t.name, "stage_seq") for t in CASE_TABLES if "stage_seq" in t.c
}
# Keys of an event's data that hold a trail seq (SEQ_COLUMNS' values, as events record them).
DATA_SEQS = {"round", "stage_seq"}
# Unique codes of a case's rows (a resident's feedback link)
UNIQUE_CODES = {("feedback", "code")}
# Keys of an event's data that name a row of a case's tables.
DATA_REFS = {
    "task": "tasks",
    "task_id": "tasks",
    "supervision": "supervisions",
    "feedback": "feedback",
    "extension": "extensions",
    "return": "returns",
}
_INSTANT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
FLUSH_EVERY = 20_000


@dataclass
class Built:
    cases: int = 0
    events: int = 0
    open_cases: int = 0
    template_cases: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


@dataclass
class _Template:
    events: list[dict[str, Any]]  # the case events, in time order
    prefix: list[dict[str, Any]]  # the events before the first case (definitions published)
    cases: dict[int, dict[str, Any]]  # template case id -> row, in opening order
    rows: dict[str, dict[int, list[dict[str, Any]]]]  # table -> case id -> rows
    n_events: dict[int, int]  # case id -> how many events
    # The rows of every other table (units, definitions, users), copied as they are
    other: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def make_template(
    cases: int, *, now: dt.datetime, published: dt.datetime, seed: int, folder: Path
) -> _Template:
    """About CASES cases made by the real engine over the WINDOW_DAYS before NOW."""
    db = make_engine(f"sqlite:///{folder / 'template.db'}", synchronous="OFF")
    upgrade(db)
    sessions = make_sessionmaker(db)
    with sessions.begin() as s:
        registry.publish(s, load_definitions(DEFAULT_DEFINITIONS), actor="bench", now=published)
    with sessions() as s:
        units = registry.units(s)
    workstations = sum(1 for u in units.units.values() if u.kind == "workstation")
    demo.generate_cases(
        sessions,
        now=now,
        days=WINDOW_DAYS,
        per_workstation=max(1, math.ceil(cases / workstations)),
        seed=seed,
    )
    with db.connect() as conn:
        events = [dict(r._mapping) for r in conn.execute(select(_EVENTS).order_by(_EVENTS.c.seq))]
        case_rows = {
            r.id: dict(r._mapping) for r in conn.execute(select(_CASES).order_by(_CASES.c.id))
        }
        rows: dict[str, dict[int, list[dict[str, Any]]]] = {}
        for table in CASE_TABLES:
            if table.name == "cases":
                continue
            by_case: dict[int, list[dict[str, Any]]] = {}
            for r in conn.execute(select(table).order_by(table.c.id)):
                by_case.setdefault(r.case_id, []).append(dict(r._mapping))
            rows[table.name] = by_case
        other = {
            t.name: [dict(r._mapping) for r in conn.execute(select(t))]
            for t in Base.metadata.sorted_tables
            if t not in CASE_TABLES and t.name not in (*DERIVED, "trail_head")
        }
    db.dispose()
    first = next(i for i, e in enumerate(events) if e["case_id"] is not None)
    prefix, rest = events[:first], [e for e in events[first:] if e["case_id"] is not None]
    rest.sort(key=lambda e: (e["at"], e["seq"]))
    n_events: dict[int, int] = {}
    for e in rest:
        n_events[e["case_id"]] = n_events.get(e["case_id"], 0) + 1
    return _Template(rest, prefix, case_rows, rows, n_events, other)


@dataclass
class _Copy:
    """One case of one copy on its way: its new ids and the seqs its events got."""

    case_id: int
    shift: dt.timedelta
    ids: dict[tuple[str, int], int]
    seqs: dict[int, int] = field(default_factory=dict)
    left: int = 0


class _Writer:
    """Rows buffered and written in large batches, one transaction per flush: executemany on
    SQLite, COPY on PostgreSQL (five times fewer round trips' worth of work per row)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.rows: dict[str, list[dict[str, Any]]] = {t.name: [] for t in CASE_TABLES}
        self.events: list[dict[str, Any]] = []
        self.copy = conn.dialect.name == "postgresql"

    def _write(self, table: Table, rows: list[dict[str, Any]]) -> None:
        if not self.copy:
            self.conn.execute(table.insert(), rows)
            return
        # The values as SQLAlchemy would bind them (canonical JSON text, UTC instants), so the
        # stored text is what the engine writes; the server parses each column's text.
        cols = [c for c in table.c if any(c.name in r for r in rows[:1])]
        procs = [c.type.bind_processor(self.conn.dialect) for c in cols]
        names = ", ".join(f'"{c.name}"' for c in cols)
        dbapi = self.conn.connection.driver_connection
        assert dbapi is not None
        with dbapi.cursor() as cur, cur.copy(f"COPY {table.name} ({names}) FROM STDIN") as cp:
            for r in rows:
                cp.write_row(
                    [
                        p(r.get(c.name)) if p and r.get(c.name) is not None else r.get(c.name)
                        for c, p in zip(cols, procs, strict=True)
                    ]
                )

    def flush(self) -> None:
        if self.events:
            self._write(_EVENTS, self.events)
            self.events = []
        for table in CASE_TABLES:  # parents first
            rows = self.rows[table.name]
            if rows:
                self._write(table, rows)
                self.rows[table.name] = []
        self.conn.commit()


def _shifted(
    value: Any, shift: dt.timedelta, ids: dict[tuple[str, int], int], seqs: dict[int, int]
) -> Any:
    """An event's data with its instants moved by SHIFT, its rows' ids as copied and the seqs it
    names (a task's round, a stage's first event) as re-chained: replay reads them there."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            table = DATA_REFS.get(k)
            if table is not None and isinstance(v, int) and (table, v) in ids:
                out[k] = ids[(table, v)]
            elif k in DATA_SEQS and isinstance(v, int) and v in seqs:
                out[k] = seqs[v]
            else:
                out[k] = _shifted(v, shift, ids, seqs)
        return out
    if isinstance(value, list):
        return [_shifted(v, shift, ids, seqs) for v in value]
    if isinstance(value, str) and _INSTANT.match(value):
        return chain.format_at(dt.datetime.fromisoformat(value) + shift)
    return value


def _copy_row(table: str, row: dict[str, Any], c: _Copy, new_id: int | None) -> dict[str, Any]:
    out = {}
    for k, v in row.items():
        if isinstance(v, dt.datetime):
            v = v + c.shift
        elif k == "case_id":
            v = c.case_id
        elif k == "id" and new_id is not None:
            v = new_id
        elif k in REFS and v is not None:
            v = c.ids.get((REFS[k], v), v)
        elif (table, k) in UNIQUE_CODES and v is not None and new_id is not None:
            v = f"{new_id:08X}"  # a feedback link's code: unique, as long as the real ones
        elif (table, k) in SEQ_COLUMNS and v is not None:
            v = c.seqs.get(v, v)
        out[k] = v
    return out


def build(
    url: str,
    n: int,
    *,
    months: int = 6,
    template: int = 3000,
    seed: int = 2026,
    now: dt.datetime | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> Built:
    """Build N cases into the database at URL (migrated here); see the module's text."""
    now = (now or utcnow()).replace(second=0, microsecond=0)
    template = min(template, n)
    weeks = max(0, round(months * 30 / 7) - WINDOW_DAYS // 7)
    done = Built()
    target = make_engine(url, synchronous="OFF")
    upgrade(target)
    with target.connect() as conn:
        if conn.execute(select(func.count()).select_from(_CASES)).scalar_one():
            raise SystemExit("the target holds cases already: build into an empty database")
    t = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        tpl = make_template(
            template,
            now=now,
            published=now - dt.timedelta(days=WINDOW_DAYS + 7 * weeks + 1),
            seed=seed,
            folder=Path(tmp),
        )
    done.seconds["template"] = time.perf_counter() - t
    done.template_cases = len(tpl.cases)
    t = time.perf_counter()
    _copy(target, tpl, n, weeks, done, progress)
    done.seconds["copies"] = time.perf_counter() - t
    if target.dialect.name == "postgresql":
        # A database in service is vacuumed and analysed by autovacuum; a fresh build is not
        # until autovacuum comes round, and its plans meanwhile read every row the visibility
        # map does not yet vouch for (sql8: a street's whistles counted in 45-53 ms unvacuumed,
        # 4-8 vacuumed). The benches measure the settled instance.
        t = time.perf_counter()
        with target.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM (ANALYZE)")
        done.seconds["vacuum"] = time.perf_counter() - t
    target.dispose()
    return done


def _streams(
    tpl: _Template, copies: int, weeks: int, last: int
) -> Iterator[tuple[dt.datetime, int, int, int]]:
    """(instant, shift index, template event index, copy) over all copies in time order: the
    copies that share a shift go event by event together; the shifts are merged."""
    shifts: dict[int, list[int]] = {}
    for c in range(copies):
        back = weeks - (round(c * weeks / (copies - 1)) if copies > 1 else weeks)
        shifts.setdefault(back, []).append(c)
    order = sorted(tpl.cases)
    cut = order[last - 1] if last < len(order) else order[-1]  # the partial last copy's cases

    def stream(back: int, group: list[int]) -> Iterator[tuple[dt.datetime, int, int, int]]:
        delta = dt.timedelta(days=-7 * back)
        for i, e in enumerate(tpl.events):
            at = e["at"] + delta
            for c in group:
                if c == copies - 1 and e["case_id"] > cut:
                    continue
                yield at, back, i, c

    return heapq.merge(
        *(stream(back, group) for back, group in shifts.items()), key=lambda x: (x[0], -x[1])
    )


def _copy(
    target: Engine,
    tpl: _Template,
    n: int,
    weeks: int,
    done: Built,
    progress: Callable[[str, int, int], None] | None,
) -> None:
    per = len(tpl.cases)
    copies = math.ceil(n / per)
    last = n - (copies - 1) * per
    total_events = sum(tpl.n_events.values()) * (copies - 1) + sum(
        tpl.n_events[c] for c in sorted(tpl.cases)[:last]
    )
    ids = {t.name: 0 for t in CASE_TABLES}
    inflight: dict[tuple[int, int], _Copy] = {}
    prev, seq = chain.GENESIS, 0
    with target.connect() as conn:
        for table in Base.metadata.sorted_tables:
            if tpl.other.get(table.name):
                conn.execute(table.insert(), tpl.other[table.name])
        conn.commit()
        out = _Writer(conn)

        def append(e: dict[str, Any], at: dt.datetime, case_id: int | None, data: Any) -> None:
            nonlocal prev, seq
            seq += 1
            row = {k: e[k] for k in (f.column for f in chain.FIELDS)}
            row.update(seq=seq, at=at, case_id=case_id, data=data, prev_hash=prev)
            body = {f.key: row[f.column] for f in chain.FIELDS}
            body["at"] = chain.format_at(at)
            prev = row["hash"] = chain.link_hash(
                prev, chain.body_json(body, chain.canonical_text(data)).encode("utf-8")
            )
            out.events.append(row)

        for e in tpl.prefix:
            append(e, e["at"], None, e["data"] or {})
        for at, back, i, c in _streams(tpl, copies, weeks, last):
            e = tpl.events[i]
            key = (c, e["case_id"])
            cc = inflight.get(key)
            if cc is None:  # its opening: the case and its rows get their ids now
                ids["cases"] += 1
                cc = inflight[key] = _Copy(ids["cases"], dt.timedelta(days=-7 * back), {})
                cc.left = tpl.n_events[e["case_id"]]
                for table, by_case in tpl.rows.items():
                    for r in by_case.get(e["case_id"], ()):
                        ids[table] += 1
                        cc.ids[(table, r["id"])] = ids[table]
            cc.seqs[e["seq"]] = seq + 1
            append(e, at, cc.case_id, _shifted(e["data"] or {}, cc.shift, cc.ids, cc.seqs))
            cc.left -= 1
            if cc.left == 0:
                _case_rows(out, tpl, e["case_id"], cc, done)
                del inflight[key]
            if len(out.events) >= FLUSH_EVERY:
                out.flush()
                if progress:
                    progress("events", seq, total_events + len(tpl.prefix))
        out.flush()
        conn.execute(update(_HEAD).where(_HEAD.c.id == 1).values(seq=seq, hash=prev))
        if conn.dialect.name == "postgresql":
            # Rows written with their ids: the sequences go on after them.
            for table in Base.metadata.sorted_tables:
                if (
                    "id" in table.c
                    and table.c.id.autoincrement is not False
                    and tpl.other.get(table.name, True)
                ):
                    conn.exec_driver_sql(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'),"
                        f" (SELECT coalesce(max(id), 0) + 1 FROM {table.name}), false)"
                        f" WHERE pg_get_serial_sequence('{table.name}', 'id') IS NOT NULL"
                    )
        conn.commit()
    if progress:
        progress("events", seq, total_events + len(tpl.prefix))
    done.events = seq


def _case_rows(out: _Writer, tpl: _Template, tcase: int, cc: _Copy, done: Built) -> None:
    """The case's row and its rows in the other tables, as its template left them."""
    out.rows["cases"].append(_copy_row("cases", tpl.cases[tcase], cc, cc.case_id))
    done.cases += 1
    done.open_cases += tpl.cases[tcase]["closed_at"] is None
    for table, by_case in tpl.rows.items():
        for r in by_case.get(tcase, ()):
            out.rows[table].append(_copy_row(table, r, cc, cc.ids[(table, r["id"])]))


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--cases", type=int, required=True, help="how many cases (e.g. 1000000)")
    ap.add_argument("--db", required=True, help="SQLAlchemy URL of an empty (or new) database")
    ap.add_argument("--months", type=int, default=6, help="the months the cases spread over")
    ap.add_argument("--template", type=int, default=3000, help="cases the real engine makes")
    ap.add_argument("--seed", type=int, default=2026)
    args = ap.parse_args()
    started = time.perf_counter()
    phase = {"at": 0.0, "first": 0}

    def show(what: str, k: int, total: int) -> None:
        # The rate counts from the first report (its own batch is not timed): no rate on it.
        now = time.perf_counter()
        if not phase["at"]:
            phase.update(at=now, first=k)
            print(f"\r  {what} {k}/{total}", end="", file=sys.stderr, flush=True)
            return
        rate = (k - phase["first"]) / max(now - phase["at"], 1e-9)
        print(f"\r  {what} {k}/{total} ({rate:,.0f}/s)", end="", file=sys.stderr, flush=True)

    print(f"building {args.cases} cases into {args.db}", file=sys.stderr)
    b = build(
        args.db,
        args.cases,
        months=args.months,
        template=args.template,
        seed=args.seed,
        progress=show,
    )
    print(file=sys.stderr)
    vacuum = f" vacuum {b.seconds['vacuum']:.1f} s," if "vacuum" in b.seconds else ""
    print(
        f"{b.cases} cases ({b.open_cases} open), {b.events} trail events, from a template of"
        f" {b.template_cases} cases: template {b.seconds['template']:.1f} s, copies"
        f" {b.seconds['copies']:.1f} s,{vacuum} total {time.perf_counter() - started:.1f} s"
        f" (CPU {time.process_time():.1f} s)"
    )


if __name__ == "__main__":
    main()
