"""One writer at a time to a SQLite file, queued by the kernel: the API's writers, every firing,
and a sweep's batches, across threads and processes (gunicorn's workers, the sweeper's).

SQLite keeps no queue of waiting writers: a writer that finds the lock taken sleeps in its busy
handler (1, 2, 5, 10, 15, 20, 25 ... 100 ms between tries) and cannot be handed the lock. Under
gunicorn with two workers that polling alone halved the API's throughput; and a catch-up sweep
paused after every batch as long as the batch held the lock, writing half the time at most, for
a user's firing to find the lock free at one of its tries.

Three files beside the database (flock(): the kernel wakes the next waiter at the release):

- FILE.writers: held (exclusive) from before SQLite's write lock is taken until the transaction
  ends: by every writer that takes the trail's lock (chain.lock_head: every firing, every API
  write) and by a sweep's batch, which then writes without waiting in between.
- FILE.sweeping: a sweep holds it (exclusive) from before it queues for FILE.writers until its
  batch's commit; a writer passes it (shared, let go at once) before it queues, so a writer
  that lets the lock go and takes it again at once does not win it over the sweep every time.
- FILE.waiting: a writer that finds either taken holds it (shared) until it has it. Before its
  next batch the sweep looks (an exclusive lock tried and let go): while someone waits, the
  sweep waits (up to a batch's budget), so a waiting user writes first; with nobody waiting it
  goes on at once. A batch ends early (after its chunk in hand) when someone waits, too.

Writers that do not take the trail's lock (the notifier's rounds, the CLI's setup) still wait in
SQLite's busy handler, so a sweep still pauses as long as a batch now and then (Sweeper): this
changes speed, not safety. Only for a SQLite file on a system with flock(); where the files
cannot be opened or locked, SQLite's own waiting, with a warning; PostgreSQL queues its row
locks' waiters itself."""

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


class WriterLock:
    """The three files of one database file PATH (absolute), each opened once per thread: flock()
    locks belong to an open file, so two threads (or a forked worker and its parent) must not
    share one."""

    def __init__(self, path: str) -> None:
        self.paths = {
            "writers": path + ".writers",
            "waiting": path + ".waiting",
            "sweeping": path + ".sweeping",
        }
        self.writers_path = self.paths["writers"]
        self.local = threading.local()
        self.opened: list[IO[str]] = []  # every thread's, closed with the engine
        # The files cannot be opened or locked (permissions, a file system without flock()):
        # SQLite's own waiting.
        self.broken = False
        _ALL.add(self)

    def _failed(self, exc: OSError) -> None:
        if not self.broken:
            self.broken = True
            log.warning(
                "%s: writers cannot queue (SQLite's busy handler instead): %s",
                self.writers_path,
                exc,
            )

    def _file(self, which: str) -> IO[str]:
        f: IO[str] | None = getattr(self.local, which, None)
        if f is None:
            # Kept open for the thread; closed by close().
            f = open(self.paths[which], "a+")  # noqa: SIM115
            self.opened.append(f)
            setattr(self.local, which, f)
        return f

    def close(self) -> None:
        """Close every thread's files (the engine is gone: nobody uses them)."""
        for f in self.opened:
            f.close()
        self.opened.clear()

    def _forked(self) -> None:
        """In a forked child: the parent's open files lock for the parent (and for every other
        child): this process opens its own."""
        for f in self.opened:
            with suppress(OSError):
                f.close()  # this process's copy only: the parent's lock stays the parent's
        self.local = threading.local()
        self.opened = []

    def holding(self) -> bool:
        """Whether this thread holds the lock (a writer's transaction, or a sweep's batch)."""
        return bool(getattr(self.local, "holding", False))

    @contextmanager
    def writer(self, session: Session) -> Iterator[None]:
        """Around the first statement of SESSION's write transaction (the one that takes
        SQLite's lock): the lock, held until the transaction ends (committed or rolled back),
        after a sweep's batch queued or in hand. A writer that waits says so (FILE.waiting)."""
        if self.broken:
            yield
            return
        if self.holding():
            owner = self.local.owner
            if owner is None:  # a sweep's own writes within its batch
                yield
                return
            held = owner()
            if held is not None and held.is_active:  # another session's, in this thread
                yield
                return
            self.release()  # a transaction whose end was not seen (none should be)
        assert fcntl is not None
        try:
            writers = self._file("writers")
            sweeping = self._file("sweeping")
            # A sweep's batch queued or in hand goes first: without this a writer that lets
            # the lock go and takes it again at once would win it over the sweep every time.
            try:
                fcntl.flock(sweeping, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                self._wait(sweeping, fcntl.LOCK_SH)
            fcntl.flock(sweeping, fcntl.LOCK_UN)
            try:
                fcntl.flock(writers, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                self._wait(writers, fcntl.LOCK_EX)
            self.local.holding = True
            self.local.owner = weakref.ref(session.get_transaction())
        except OSError as exc:
            self._failed(exc)
            yield
            return
        try:
            yield
        except BaseException:
            self.release()
            raise
        session.info[_WRITING] = self

    def _wait(self, f: IO[str], how: int) -> None:
        """Block on F's lock (HOW), saying so on FILE.waiting meanwhile (the sweep lets a
        waiting writer go first)."""
        assert fcntl is not None
        waiting = self._file("waiting")
        fcntl.flock(waiting, fcntl.LOCK_SH)
        try:
            fcntl.flock(f, how)  # woken at the holder's release
        finally:
            fcntl.flock(waiting, fcntl.LOCK_UN)

    def release(self) -> None:
        """This thread's writer is done: the next one may go."""
        if getattr(self.local, "holding", False):
            assert fcntl is not None
            self.local.holding = False
            with suppress(OSError, ValueError):  # ValueError: closed with its engine
                fcntl.flock(self._file("writers"), fcntl.LOCK_UN)

    def someone_waiting(self) -> bool:
        """Whether a writer waits for the lock."""
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
        """A sweep's batch: the lock around its write transaction (lock to commit); the sweep's
        own writes within it (a route's timeout) do not wait on it."""
        assert fcntl is not None
        if self.broken:
            yield
            return
        try:
            # First the sweep's turn (writers that come now wait for the batch), then the
            # lock (a writer's transaction in hand: woken at its end).
            sweeping = self._file("sweeping")
            fcntl.flock(sweeping, fcntl.LOCK_EX)
        except OSError as exc:
            self._failed(exc)
            yield
            return
        try:
            fcntl.flock(self._file("writers"), fcntl.LOCK_EX)
        except OSError as exc:
            fcntl.flock(sweeping, fcntl.LOCK_UN)
            self._failed(exc)
            yield
            return
        self.local.holding = True
        self.local.owner = None
        try:
            yield
        finally:
            self.release()
            fcntl.flock(sweeping, fcntl.LOCK_UN)


_WRITING = "streetflow.writer_lock"


@event.listens_for(Session, "after_transaction_end")
def _written(session: Session, transaction: Any) -> None:
    """A writer's transaction has ended (committed or rolled back): the next writer may go."""
    if transaction.parent is None and session.info:
        lock = session.info.pop(_WRITING, None)
        if lock is not None:
            lock.release()


# Each engine's (an engine's URL never changes): its threads' files closed when it is freed.
# Two engines on one file each open their own, which lock against each other as two processes'.
_BY_ENGINE: weakref.WeakKeyDictionary[Any, WriterLock | None] = weakref.WeakKeyDictionary()
_BY_ENGINE_LOCK = threading.Lock()
_ALL: weakref.WeakSet[WriterLock] = weakref.WeakSet()


def _after_fork() -> None:
    for lock in list(_ALL):
        lock._forked()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


def for_engine(engine: Any) -> WriterLock | None:
    """The writer lock of ENGINE's database file; None where it does not apply (not SQLite, a
    memory or URI database, no flock())."""
    try:
        return _BY_ENGINE[engine]
    except KeyError:
        pass
    lock = None
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
        lock = WriterLock(os.path.abspath(database))
    with _BY_ENGINE_LOCK:
        if engine in _BY_ENGINE:
            return _BY_ENGINE[engine]
        _BY_ENGINE[engine] = lock
    if lock is not None:
        weakref.finalize(engine, lock.close)
    return lock
