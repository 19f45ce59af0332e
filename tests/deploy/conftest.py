"""An empty database of the kind under test (no schema), dropped after the test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import PG_ADMIN_URL, _pg_exec


@pytest.fixture
def new_database(db_kind: str, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """new_database() -> the URL of a new, empty database; PostgreSQL ones are dropped after."""
    made: list[str] = []

    def make() -> str:
        if db_kind == "sqlite":
            return f"sqlite:///{tmp_path / f'new-{uuid.uuid4().hex[:8]}.db'}"
        name = f"sf_new_{os.getpid()}_{uuid.uuid4().hex[:10]}"
        _pg_exec(f'CREATE DATABASE "{name}"')
        made.append(name)
        return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"

    yield make
    for name in made:
        _pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def libpq_url(url: str) -> str:
    """The SQLAlchemy URL as pg_dump, pg_restore and psql take it."""
    return url.replace("postgresql+psycopg://", "postgresql://")
