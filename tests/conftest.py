"""Fixtures: a fresh database per test (SQLite file, or PostgreSQL with --db=postgresql), with the
schema migrated and the shipped definitions published; actors; the Flask app and clients.

The database of each test is a copy of a template made once per run: a file copy on SQLite,
CREATE DATABASE ... TEMPLATE on PostgreSQL (each run creates and drops its own databases)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from workflow.catalog import registry
from workflow.config import DEFAULT_DEFINITIONS
from workflow.runtime.machines import Actor
from workflow.spec.loader import load_definitions
from workflow.store.db import make_engine, make_sessionmaker
from workflow.store.migrate import upgrade

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


@pytest.fixture(scope="session")
def db_kind(pytestconfig: pytest.Config) -> str:
    return str(pytestconfig.getoption("--db"))


@pytest.fixture(scope="session")
def template_db(db_kind: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database with the shipped definitions published, copied for each test."""
    defs = load_definitions(DEFAULT_DEFINITIONS)
    if db_kind == "sqlite":
        path = tmp_path_factory.mktemp("template") / "template.db"
        url = f"sqlite:///{path}"
    else:
        name = f"sf_tmpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        _pg_exec(f'CREATE DATABASE "{name}"')
        url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    engine = make_engine(url)
    upgrade(engine)
    with make_sessionmaker(engine).begin() as s:
        registry.publish(s, defs, actor="test", now=T0 - dt.timedelta(days=60))
    engine.dispose()
    yield url if db_kind == "sqlite" else name
    if db_kind == "postgresql":
        _pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def db_url(db_kind: str, template_db: str, tmp_path: Path) -> Iterator[str]:
    """The URL of this test's own database."""
    if db_kind == "sqlite":
        path = tmp_path / "streetflow.db"
        shutil.copyfile(template_db.removeprefix("sqlite:///"), path)
        yield f"sqlite:///{path}"
        return
    name = f"sf_{os.getpid()}_{uuid.uuid4().hex[:10]}"
    _pg_exec(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"')
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    _pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


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
