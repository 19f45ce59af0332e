"""A sweep's batches and users' writes to one SQLite file, taking turns.

SQLite keeps no queue of waiting writers: a writer that finds the lock taken sleeps in its busy
handler (1, 2, 5, 10, 15, 20, 25 ... 100 ms between tries) and cannot be handed the lock. So a
catch-up sweep paused after every batch as long as the batch held the lock, writing half the
time at most, for a user's firing to find the lock free at one of its tries.

Here two files beside the database let the two know of each other, across threads and processes
(flock(), as api.db's WriterLock):

- FILE.sweeping: a sweep's batch holds it (exclusive) from before it takes SQLite's lock until
  after its commit. A writer that comes meanwhile blocks on it (shared) and the kernel wakes it
  at the release: no busy-handler sleep.
- FILE.waiting: a writer holds it (shared) from before it looks at FILE.sweeping until its
  transaction ends. Before its next batch the sweep looks (an exclusive lock tried and let go):
  while someone holds it, the sweep waits (up to a batch's budget), so a waiting user writes
  first; with nobody waiting it goes on at once.

Writers that take the trail's lock (chain.lock_head: every firing, every API write) take part;
others (the notifier's rounds, the CLI's setup) still wait in SQLite's busy handler, so a sweep
still pauses as long as a batch now and then (Sweeper). Only for a SQLite file on a system with
flock(); elsewhere (PostgreSQL: row locks queue their waiters) nothing changes."""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import IO, Any

from sqlalchemy import event
from sqlalchemy.orm import Session

try:
    import fcntl
except ImportError:  # not POSIX: SQLite's own waiting only
    fcntl = None  # type: ignore[assignment]


log = logging.getLogger(__name__)


class Turns:
    """The two files of one database file PATH (absolute), each opened once per thread: flock()
    locks belong to an open file, so two threads of one process must not share one."""

    def __init__(self, path: str) -> None:
        self.sweeping_path = path + ".sweeping"
        self.waiting_path = path + ".waiting"
        self.local = threading.local()
        self.opened: list[IO[str]] = []  # every thread's, closed with the engine
        # The files cannot be opened or locked (permissions, a file system without flock()):
        # SQLite's own waiting, as without turns.
        self.broken = False

    def _failed(self, exc: OSError) -> None:
        if not self.broken:
            self.broken = True
            log.warning("%s: a sweep and writers cannot take turns (%s)", self.sweeping_path, exc)

    def _file(self, which: str) -> IO[str]:
        f: IO[str] | None = getattr(self.local, which, None)
        if f is None:
            path = self.sweeping_path if which == "sweeping" else self.waiting_path
            f = open(path, "a+")  # noqa: SIM115 (kept open for the thread; closed by close())
            self.opened.append(f)
            setattr(self.local, which, f)
        return f

    def close(self) -> None:
        """Close every thread's files (the engine is gone: nobody uses them)."""
        for f in self.opened:
            f.close()
        self.opened.clear()

    def holding(self) -> bool:
        """Whether this thread holds the sweep's turn (a batch in hand)."""
        return bool(getattr(self.local, "holding", False))

    @contextmanager
    def writer(self, session: Session) -> Iterator[None]:
        """Around the first statement of SESSION's write transaction (the one that takes
        SQLite's lock): waits while a sweep's batch is in hand, and tells the sweep that someone
        writes until the transaction ends (so that the sweep's next batch begins after its
        commit instead of waiting in SQLite's busy handler)."""
        if self.holding() or self.broken:  # the sweep's own writes (a timeout in its batch)
            yield
            return
        assert fcntl is not None
        self.release()  # a transaction whose end was not seen (none should be)
        try:
            waiting = self._file("waiting")
            fcntl.flock(waiting, fcntl.LOCK_SH)
            self.local.writing = True
            sweeping = self._file("sweeping")
            fcntl.flock(sweeping, fcntl.LOCK_SH)  # a batch in hand: woken at its release
            fcntl.flock(sweeping, fcntl.LOCK_UN)
        except OSError as exc:
            self.release()
            self._failed(exc)
        try:
            yield
        except BaseException:
            self.release()
            raise
        session.info[_WRITING] = self

    def release(self) -> None:
        """This thread's writer is done: the sweep may go on."""
        if getattr(self.local, "writing", False):
            assert fcntl is not None
            self.local.writing = False
            with suppress(OSError):
                fcntl.flock(self._file("waiting"), fcntl.LOCK_UN)

    def someone_waiting(self) -> bool:
        """Whether a writer waits for SQLite's lock (or for the sweep's turn)."""
        assert fcntl is not None
        if self.broken:
            return False
        try:
            waiting = self._file("waiting")
            fcntl.flock(waiting, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        except OSError as exc:
            self._failed(exc)
            return False
        fcntl.flock(waiting, fcntl.LOCK_UN)
        return False

    def give_way(self, longest: float) -> float:
        """Before a sweep's batch: wait while writers wait (at most LONGEST seconds); how long
        it waited."""
        began = time.perf_counter()
        while self.someone_waiting():
            waited = time.perf_counter() - began
            if waited >= longest:
                return waited
            time.sleep(0.0005)
        return time.perf_counter() - began

    @contextmanager
    def sweeping(self) -> Iterator[None]:
        """A sweep's batch: hold the turn around the write transaction (lock to commit)."""
        assert fcntl is not None
        try:
            sweeping = self._file("sweeping")
            fcntl.flock(sweeping, fcntl.LOCK_EX)
        except OSError as exc:
            self._failed(exc)
            yield
            return
        self.local.holding = True
        try:
            yield
        finally:
            self.local.holding = False
            fcntl.flock(sweeping, fcntl.LOCK_UN)


_WRITING = "streetflow.turns_writing"


@event.listens_for(Session, "after_transaction_end")
def _written(session: Session, transaction: Any) -> None:
    """A writer's transaction has ended (committed or rolled back): the sweep may go on."""
    if transaction.parent is None and session.info:
        turns = session.info.pop(_WRITING, None)
        if turns is not None:
            turns.release()


# Each engine's (an engine's URL never changes): its threads' files closed when it is freed.
# Two engines on one file each open their own, which lock against each other as two processes'.
_BY_ENGINE: weakref.WeakKeyDictionary[Any, Turns | None] = weakref.WeakKeyDictionary()
_BY_ENGINE_LOCK = threading.Lock()


def for_engine(engine: Any) -> Turns | None:
    """The turns of ENGINE's database file; None where they do not apply (not SQLite, a memory
    or URI database, no flock())."""
    try:
        return _BY_ENGINE[engine]
    except KeyError:
        pass
    turns = None
    url = engine.url
    database = url.database
    if (
        fcntl is not None
        and url.get_backend_name() == "sqlite"
        and database
        and database != ":memory:"
        and not database.startswith("file:")
        and not url.query.get("mode")
    ):
        turns = Turns(os.path.abspath(database))
    with _BY_ENGINE_LOCK:
        if engine in _BY_ENGINE:
            return _BY_ENGINE[engine]
        _BY_ENGINE[engine] = turns
    if turns is not None:
        weakref.finalize(engine, turns.close)
    return turns
