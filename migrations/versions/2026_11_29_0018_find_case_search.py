"""case search: FTS5 trigram (SQLite) or pg_trgm (PostgreSQL) on the applicant and the place

Revision ID: 0018_find
Revises: 0017_notify
Create Date: 2026-11-29 09:30:00
"""

from collections.abc import Sequence

from alembic import op

from workflow.store import search_index

revision: str = "0018_find"
down_revision: str | None = "0017_notify"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _run(statements: Sequence[str]) -> None:
    for sql in statements:
        op.execute(sql)


def upgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    _run(search_index.PG_UP if pg else search_index.SQLITE_UP)


def downgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    _run(search_index.PG_DOWN if pg else search_index.SQLITE_DOWN)
