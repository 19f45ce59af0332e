"""Where a gunicorn worker's request goes: a gunicorn config file for bench/http.py --where.

    gunicorn -c bench/http_where.py ...   (with STREETFLOW_BENCH_WHERE=DIR: each worker writes
                                           DIR/PID.json when it exits)

In each worker (post_worker_init) it wraps, without changing what they do:
- the sync worker's `handle` (from the accepted connection to its close), and in it gunicorn's
  `close_graceful` (a half-close, then the wait for the client's FIN);
- the WSGI app (what gunicorn's parse, write and close leave out);
- the Flask views, and in the API the token check (`current_caller`), the firing's plan
  (`engine.plan_fire`), its write (`engine.commit_fire`) and the answer (`case_json`);
- every SQLite statement (a `sqlite3.Connection` subclass through `sqlite3.connect`): the
  `BEGIN` (SQLite's write lock), the `COMMIT` (the WAL's write and fsync), the rest;
- `fcntl.flock` (the writer lock's files).
Each part's wall time (`perf_counter`) and CPU time (`thread_time`: a sync worker has one
thread), inclusive of the parts inside it, summed from the request after the bench makes the
file DIR/measure (its warm-up over) to the worker's exit. Bench only: nothing of it is loaded
by the app."""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

_OUT = os.environ.get("STREETFLOW_BENCH_WHERE", "")
_wall = time.perf_counter
_cpu = time.thread_time

# per part: [calls, wall seconds, cpu seconds]; reset by reset()
_parts: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
_measuring = [False]


def _add(part: str, w0: float, c0: float) -> None:
    p = _parts[part]
    p[0] += 1
    p[1] += _wall() - w0
    p[2] += _cpu() - c0


def _timed(part: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def timed(*args: Any, **kwargs: Any) -> Any:
        w0, c0 = _wall(), _cpu()
        try:
            return fn(*args, **kwargs)
        finally:
            _add(part, w0, c0)

    timed.__wrapped__ = fn  # type: ignore[attr-defined]
    return timed


def _kind(sql: str) -> str:
    head = sql.lstrip()[:6].upper()
    if head.startswith("BEGIN"):
        return "sql BEGIN"
    if head.startswith("COMMIT"):
        return "sql COMMIT"
    if head.startswith("SELECT"):
        return "sql SELECT"
    if head.startswith("ROLLBA"):
        return "sql ROLLBACK"
    return "sql write"


class _Cursor(sqlite3.Cursor):
    def execute(self, sql: str, *args: Any) -> Any:  # type: ignore[override]
        w0, c0 = _wall(), _cpu()
        try:
            return super().execute(sql, *args)
        finally:
            _add(_kind(sql), w0, c0)

    def executemany(self, sql: str, *args: Any) -> Any:  # type: ignore[override]
        w0, c0 = _wall(), _cpu()
        try:
            return super().executemany(sql, *args)
        finally:
            _add(_kind(sql), w0, c0)


class _Connection(sqlite3.Connection):
    def cursor(self, factory: Any = _Cursor) -> Any:  # type: ignore[override]
        return super().cursor(factory)

    def execute(self, sql: str, *args: Any) -> Any:  # type: ignore[override]
        return self.cursor().execute(sql, *args)

    def commit(self) -> None:
        w0, c0 = _wall(), _cpu()
        try:
            super().commit()
        finally:
            _add("sql COMMIT", w0, c0)

    def rollback(self) -> None:
        w0, c0 = _wall(), _cpu()
        try:
            super().rollback()
        finally:
            _add("sql ROLLBACK", w0, c0)


def _patch_sqlite() -> None:
    connect = sqlite3.connect

    def timed_connect(*args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("factory", _Connection)
        return connect(*args, **kwargs)

    sqlite3.connect = timed_connect  # type: ignore[assignment]
    sqlite3.dbapi2.connect = timed_connect  # SQLAlchemy's pysqlite dialect calls this one


def post_worker_init(worker: Any) -> None:
    if not _OUT:
        return
    if os.environ.get("STREETFLOW_BENCH_PROFILE") != "only":
        _time_parts(worker)
    handle = worker.handle

    def timed_handle(*args: Any) -> Any:
        w0, c0 = _wall(), _cpu()
        try:
            return handle(*args)
        finally:
            _add("handle", w0, c0)
            if not _measuring[0] and os.path.exists(os.path.join(_OUT, "measure")):
                # The bench's warm-up is over (it made the file): count from the next request.
                _parts.clear()
                _measuring[0] = True

    worker.handle = timed_handle
    if os.environ.get("STREETFLOW_BENCH_PROFILE"):
        import cProfile

        profile = cProfile.Profile()
        _profile[:] = [profile]

        def profiled(*args: Any) -> Any:
            if not _measuring[0]:
                return timed_handle(*args)
            profile.enable()
            try:
                return timed_handle(*args)
            finally:
                profile.disable()

        worker.handle = profiled


def _time_parts(worker: Any) -> None:
    from gunicorn import util

    util.close_graceful = _timed("close (client's FIN)", util.close_graceful)
    _patch_sqlite()
    fcntl.flock = _timed("flock", fcntl.flock)
    wsgi = worker.wsgi
    app = getattr(wsgi, "wsgi_app", None) and wsgi
    if app is not None:
        for endpoint, view in list(app.view_functions.items()):
            app.view_functions[endpoint] = _timed("view", view)
        app.extensions.get("streetflow.engine") and app.extensions["streetflow.engine"].dispose()
    try:
        from api import auth
        from api.resources import cases
        from workflow.runtime import engine

        cases.current_caller = _timed("auth", cases.current_caller)
        auth.current_caller = cases.current_caller
        engine.plan_fire = _timed("plan_fire", engine.plan_fire)
        engine.commit_fire = _timed("commit_fire", engine.commit_fire)
        cases.case_json = _timed("answer (case_json)", cases.case_json)
        cases.with_etag = _timed("answer (with_etag)", cases.with_etag)
    except ImportError:
        pass
    worker.wsgi = _timed("wsgi", wsgi)


_profile: list[Any] = []


def worker_exit(server: Any, worker: Any) -> None:
    if not _OUT or not _measuring[0]:
        return  # nothing measured here (a worker that served only the warm-up)
    with open(os.path.join(_OUT, f"{os.getpid()}.json"), "w") as f:
        json.dump({k: v for k, v in _parts.items()}, f)
    if _profile:
        _profile[0].dump_stats(os.path.join(_OUT, f"{os.getpid()}.prof"))
