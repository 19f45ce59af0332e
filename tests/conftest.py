"""Fixtures: a fresh database per test (SQLite file, or PostgreSQL with --db=postgresql), with the
schema migrated and the shipped definitions published; actors; the Flask app and clients.

The database of each test is a copy of a template made once per run: a file copy on SQLite,
CREATE DATABASE ... TEMPLATE on PostgreSQL (each run creates and drops its own databases; the
copies are made ahead and dropped behind in background threads, see _PgCopies)."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import queue
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from workflow.actors import Actor
from workflow.audit.chain import GENESIS, chain_hash, event_body
from workflow.catalog import registry
from workflow.config import DEFAULT_DEFINITIONS
from workflow.runtime import engine as wf
from workflow.spec.loader import load_definitions
from workflow.store.db import make_engine, make_sessionmaker
from workflow.store.migrate import upgrade
from workflow.store.models import Case, TrailEvent
from workflow.users import CHEAP_HASHES

# Argon2's cheapest parameters for every password the suite hashes, in process and in the
# commands and benches it starts (workflow/users.py; tests/test_password_hashing.py checks both).
os.environ[CHEAP_HASHES] = "1"

PG_ADMIN_URL = os.environ.get(
    "STREETFLOW_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
# A fixed instant on a working day (Thursday 2026-11-26 10:00 in Shanghai).
T0 = dt.datetime(2026, 11, 26, 2, 0, tzinfo=dt.UTC)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        default=os.environ.get("STREETFLOW_TEST_DB", "sqlite"),
        choices=("sqlite", "postgresql"),
        help="database the suite runs against",
    )


def pytest_report_header(config: pytest.Config) -> str:
    return f"streetflow database: {config.getoption('--db')}"


def _pg_exec(sql: str) -> None:
    import psycopg

    url = PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


class _PgCopies:
    """Fresh copies of the PostgreSQL template for the tests, made and dropped off the tests'
    path: a copy is made while the test before runs, and dropped while the tests after run, by
    several threads because each DROP DATABASE waits for a checkpoint and drops requested
    together share one. Each copy still serves exactly one test and is never reused."""

    SPARE = 2  # copies made ahead
    DROPPERS = 8  # drops at once share a checkpoint
    of: ClassVar[dict[str, _PgCopies]] = {}  # by template: the suite's, and each seeded one's

    def __init__(self, template: str):
        self.template = template
        self.ready: queue.Queue[str | BaseException] = queue.Queue(maxsize=self.SPARE)
        self.doomed: queue.Queue[str | None] = queue.Queue()
        self.closing = threading.Event()
        self.maker = threading.Thread(target=self._make, name="pg-copies-make", daemon=True)
        self.droppers = [
            threading.Thread(target=self._drop, name="pg-copies-drop", daemon=True)
            for _ in range(self.DROPPERS)
        ]
        self.maker.start()
        for t in self.droppers:
            t.start()

    def _make(self) -> None:
        while not self.closing.is_set():
            name = f"sf_{os.getpid()}_{uuid.uuid4().hex[:10]}"
            try:
                _pg_exec(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
                item: str | BaseException = name
            except Exception as exc:  # handed to the test that takes it
                item = exc
            while True:
                try:
                    self.ready.put(item, timeout=0.2)
                    break
                except queue.Full:
                    if self.closing.is_set():
                        if isinstance(item, str):
                            self.doomed.put(item)
                        return

    def _drop(self) -> None:
        while (name := self.doomed.get()) is not None:
            with contextlib.suppress(Exception):  # close() reports what is left
                _pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def take(self) -> str:
        item = self.ready.get(timeout=120)
        if isinstance(item, BaseException):
            raise item
        return item

    def discard(self, name: str) -> None:
        self.doomed.put(name)

    def close(self) -> None:
        """Stop making copies; drop the spare ones and wait for every drop."""
        self.closing.set()
        self.maker.join(120)
        while not self.ready.empty():
            item = self.ready.get()
            if isinstance(item, str):
                self.doomed.put(item)
        for _ in self.droppers:
            self.doomed.put(None)
        for t in self.droppers:
            t.join(600)
        _PgCopies.of.pop(self.template, None)


@pytest.fixture(scope="session")
def db_kind(pytestconfig: pytest.Config) -> str:
    return str(pytestconfig.getoption("--db"))


@contextlib.contextmanager
def _template(
    db_kind: str,
    tmp_path_factory: pytest.TempPathFactory,
    fill: Callable[[Engine], None],
    *,
    copy_of: str | None = None,
) -> Iterator[str]:
    """A database that FILL fills (empty at first, or a copy of the template COPY_OF), made a
    template: the tests' copies of it are made as db_url makes them (on PostgreSQL, ahead)."""
    if db_kind == "sqlite":
        path = tmp_path_factory.mktemp("template") / "template.db"
        if copy_of is not None:
            shutil.copyfile(copy_of.removeprefix("sqlite:///"), path)
        url = f"sqlite:///{path}"
    else:
        name = f"sf_tmpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        _pg_exec(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{copy_of}"' if copy_of else ""))
        url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    engine = make_engine(url)
    try:
        fill(engine)
    finally:
        engine.dispose()  # a template has no connection, or PostgreSQL copies it not
    if db_kind == "sqlite":
        yield url
        return
    copies = _PgCopies.of[name] = _PgCopies(name)
    try:
        yield name
    finally:
        copies.close()
        _pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _migrated_and_published(engine: Engine) -> None:
    upgrade(engine)
    with make_sessionmaker(engine).begin() as s:
        registry.publish(
            s, load_definitions(DEFAULT_DEFINITIONS), actor="test", now=T0 - dt.timedelta(days=60)
        )


@pytest.fixture(scope="session")
def template_db(db_kind: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database with the shipped definitions published, copied for each test."""
    with _template(db_kind, tmp_path_factory, _migrated_and_published) as made:
        yield made


@contextlib.contextmanager
def _copy_of(db_kind: str, template: str, tmp_path: Path) -> Iterator[str]:
    """The URL of a fresh copy of TEMPLATE (the suite's or a seeded one), never shared: a file
    copy on SQLite, one of the copies made ahead on PostgreSQL (dropped after)."""
    if db_kind == "sqlite":
        path = tmp_path / "streetflow.db"
        shutil.copyfile(template.removeprefix("sqlite:///"), path)
        yield f"sqlite:///{path}"
        return
    copies = _PgCopies.of[template]
    name = copies.take()
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        copies.discard(name)


@pytest.fixture
def db_url(db_kind: str, template_db: str, tmp_path: Path) -> Iterator[str]:
    """The URL of this test's own database."""
    with _copy_of(db_kind, template_db, tmp_path) as url:
        yield url


def seeded(name: str, seed: Callable[[Engine, sessionmaker[Session]], None]) -> tuple[Any, Any]:
    """Two fixtures for a test module, to be bound to NAME_db and NAME: NAME gives the sessions
    of this test's own copy of a database that SEED fills once a module (NAME_db).

        city_db, city = seeded("city", fill_the_city)"""

    @pytest.fixture(scope="module", name=f"{name}_db")
    def template(
        db_kind: str, template_db: str, tmp_path_factory: pytest.TempPathFactory
    ) -> Iterator[str]:
        # SEED fills a copy of the suite's template once a module.
        with _template(
            db_kind, tmp_path_factory, lambda e: seed(e, make_sessionmaker(e)), copy_of=template_db
        ) as made:
            yield made

    @pytest.fixture(name=name)
    def each(
        request: pytest.FixtureRequest, db_kind: str, tmp_path: Path
    ) -> Iterator[sessionmaker[Session]]:
        with _copy_of(db_kind, request.getfixturevalue(f"{name}_db"), tmp_path) as url:
            engine = make_engine(url)
            yield make_sessionmaker(engine)
            engine.dispose()

    return template, each


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    e = make_engine(db_url)
    yield e
    e.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(engine)


@pytest.fixture
def env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The environment of a streetflow instance on this test's database (for CLI and app)."""
    monkeypatch.setenv("STREETFLOW_DATABASE_URL", db_url)
    monkeypatch.setenv("STREETFLOW_INSTANCE", str(tmp_path / "instance"))
    monkeypatch.setenv("STREETFLOW_SECRET_KEY", "test-secret-" + uuid.uuid4().hex)
    return tmp_path / "instance"


# ---------------------------------------------------------------- actors of Zhuhai Road


@pytest.fixture
def clerk() -> Actor:
    return Actor("clerk", "W-ZHL-01", "clerk")


@pytest.fixture
def street_staff() -> Actor:
    return Actor("street", "S-ZHL", "staff")


def staff_of(unit: str) -> Actor:
    return Actor(f"staff@{unit}", unit, "staff")


# ---------------------------------------------------------------- cases opened and walked
# One way to open a case and walk it through its states, for every test folder; the helpers of
# the folders (tests/*/helpers.py, tests/*/conftest.py) are these with their own defaults.

# Who fires each trigger when a test walks a case forward by trigger names (Zhuhai Road units).
FIRED_BY = {
    "accept": ("W-ZHL-01", "clerk"),
    "forward": ("W-ZHL-01", "clerk"),
    "complete": ("W-ZHL-01", "clerk"),
    "dispatch": ("S-ZHL", "staff"),
}
# Triggers that ask for a reason: a walk gives one.
REASON_OF = {"reject": "理由", "refuse": "理由", "send_back": "理由"}


def open_case_as(
    s: Session,
    item: str = "UD-01",
    *,
    workstation: str = "W-ZHL-01",
    actor: Actor | None = None,
    at: dt.datetime | None = None,
    applicant_name: str = "王芳",
    applicant_phone: str = "13800000000",
    description: str = "",
) -> Case:
    """A case of ITEM opened at WORKSTATION by ACTOR (its clerk when not given) in S."""
    return wf.open_case(
        s,
        item=item,
        workstation=workstation,
        actor=actor or Actor("clerk", workstation, "clerk"),
        applicant_name=applicant_name,
        applicant_phone=applicant_phone,
        description=description,
        now=at,
    )


Step = str | tuple[str, Actor] | tuple[str, Actor, str]


def walk(s: Session, case_id: int, *steps: Step, at: dt.datetime | None = None) -> Case:
    """Fire each step on the case: (trigger, actor[, reason]), or a trigger fired as FIRED_BY
    says; a trigger that needs a reason and is given none gets one."""
    for step in steps:
        if isinstance(step, str):
            unit, role = FIRED_BY[step]
            step = (step, Actor(f"{role}@{unit}", unit, role))
        trigger, actor = step[0], step[1]
        reason = step[2] if len(step) == 3 else REASON_OF.get(trigger)
        wf.fire(s, case_id, trigger, actor, reason=reason, now=at)
    return wf.get_case(s, case_id)


def trail_intact(s: Session) -> bool:
    """Every event links to the one before and hashes to its stored hash."""
    prev = GENESIS
    for ev in s.execute(select(TrailEvent).order_by(TrailEvent.seq)).scalars():
        if ev.prev_hash != prev or ev.hash != chain_hash(prev, event_body(ev)):
            return False
        prev = ev.hash
    return True


@pytest.fixture
def make_case(sessions: sessionmaker[Session]) -> Callable[..., int]:
    """make_case(item, *triggers, phone=..., workstation=..., name=...) -> the id of a case
    opened (at W-ZHL-01 by default) and walked along, in its own transaction."""

    def make(
        item: str = "UD-01",
        *triggers: Step,
        phone: str = "13800001234",
        workstation: str = "W-ZHL-01",
        name: str = "王芳",
        description: str = "路灯不亮",
    ) -> int:
        with sessions.begin() as s:
            case = open_case_as(
                s,
                item,
                workstation=workstation,
                applicant_name=name,
                applicant_phone=phone,
                description=description,
            )
            walk(s, case.id, *triggers)
            return case.id

    return make


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On PostgreSQL, the tests that reach none of the suite's databases (no db_kind among their
    fixtures: the documentation, the benches' --help, the CLI on its own SQLite files, the
    wording checks) are left to the SQLite half, which runs them: they would run the same
    twice, and scripts/test always runs both halves. So are the console's tests in a real
    browser: what they check is the page in the browser (its scripts, forms, words and layout);
    the same pages' queries are checked on PostgreSQL through Flask's test client. (On this
    project's slower machines the PostgreSQL half, the longer, passed the 30 minutes CI allows.)"""
    if config.getoption("--db") != "postgresql":
        return
    keep = [
        i
        for i in items
        if "db_kind" in getattr(i, "fixturenames", ()) and i.get_closest_marker("browser") is None
    ]
    if len(keep) < len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in keep])
        items[:] = keep
