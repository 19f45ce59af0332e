"""The SLA sweep in a background thread of the server (`streetflow serve --sweep-every N`)."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from flask import Flask
from sqlalchemy import Engine

from api.db import SETTINGS
from workflow.config import Settings
from workflow.runtime import sla
from workflow.store.db import make_engine, make_sessionmaker

log = logging.getLogger(__name__)


@dataclass
class Sweeper:
    """A running background sweep; stop() ends it after the batch in hand."""

    thread: threading.Thread
    stopping: threading.Event
    every: float
    engine: Engine

    def stop(self, timeout: float = 30) -> None:
        self.stopping.set()
        self.thread.join(timeout)
        self.engine.dispose()


def start_sweeper(app: Flask) -> Sweeper | None:
    """Start sweeping every SWEEP_EVERY seconds (0 or unset: off, as in tests), once per app.

    The database is the app's (its settings, DATABASE_URL as the config says). A failed
    sweep is logged and tried again next time: a sweep is idempotent."""
    every = float(app.config.get("SWEEP_EVERY") or 0)
    if every <= 0:
        return None
    running: Sweeper | None = app.extensions.get("streetflow_sweeper")
    if running is not None:
        return running
    own: Settings = app.extensions[SETTINGS]
    db = make_engine(own.database_url)
    sessions = make_sessionmaker(db, own)
    stopping = threading.Event()
    secret = app.config["SECRET_KEY"]  # signs the periodic checkpoints of the trail

    def run() -> None:
        while not stopping.is_set():
            try:
                result = sla.sweep(sessions, checkpoint_secret=secret)
                if result.checked:
                    log.info(
                        "sweep: %s cases, %s supervisions, %s timeouts",
                        result.checked,
                        result.supervisions,
                        result.timeouts,
                    )
                for problem in result.problems:
                    log.warning("sweep: %s", problem)
            except Exception:  # the next sweep tries again; the server must keep serving
                log.exception("sweep failed")
            stopping.wait(every)

    thread = threading.Thread(target=run, name="streetflow-sweeper", daemon=True)
    sweeper = Sweeper(thread, stopping, every, db)
    app.extensions["streetflow_sweeper"] = sweeper
    thread.start()
    return sweeper


def start_notifier(app: Flask) -> Sweeper | None:
    """Deliver notifications every NOTIFY_EVERY seconds (0 or unset: off), once per app: for a
    one-machine install; elsewhere `streetflow notify run`. Rounds that fail are logged and
    tried again (nothing leaves the outbox unless delivered)."""
    every = float(app.config.get("NOTIFY_EVERY") or 0)
    if every <= 0:
        return None
    running: Sweeper | None = app.extensions.get("streetflow_notifier")
    if running is not None:
        return running
    from workflow.notify import worker

    own: Settings = app.extensions[SETTINGS]
    db = make_engine(own.database_url)
    sessions = make_sessionmaker(db, own)
    stopping = threading.Event()
    thread = threading.Thread(
        target=worker.run,
        args=(sessions, own),
        kwargs={"every": every, "stopping": stopping},
        name="streetflow-notifier",
        daemon=True,
    )
    notifier = Sweeper(thread, stopping, every, db)
    app.extensions["streetflow_notifier"] = notifier
    thread.start()
    return notifier
