"""SQLite: the trail's seq is the table's rowid

On SQLite the trail's key was declared BIGINT, which is not SQLite's rowid: each event was
written to the table (by a hidden rowid) and again to the key's own index, one b-tree more
than needed, on the busiest table, for every firing and every stage a sweep marks. A column
declared exactly INTEGER and made the key is the rowid itself: the table is kept in seq order
and a look-up by seq reads the table directly. PostgreSQL keeps BIGINT (the models say
`BigInteger().with_variant(Integer, "sqlite")`; SQLite's INTEGER holds 64 bits).

SQLite cannot change a column's type in place, so the table is rebuilt by the procedure its
manual gives (CREATE the new table, copy, DROP, RENAME, then the indexes and triggers again,
read from sqlite_master before the DROP, which takes them with it). The copy keeps every
column, so hashes, chains and checkpoints are untouched. At a million cases (4.7 million
events) the upgrade takes a few minutes; back up first, as for every upgrade
(docs/deployment.md). PostgreSQL: nothing to do.

Revision ID: 0041_trail_rowid
Revises: 0040_trail_actions
Create Date: 2026-12-02 03:00:00
"""

import re
from collections.abc import Sequence

from alembic import op

revision: str = "0041_trail_rowid"
down_revision: str | None = "0040_trail_actions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG = "seq BIGINT NOT NULL"
ROWID = "seq INTEGER NOT NULL"


def _rebuild(old: str, new: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    table = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'trail_events'"
    ).scalar_one()
    if old not in table:
        raise RuntimeError(f"trail_events: expected {old!r} in {table!r}")
    rest = [
        sql
        for (sql,) in bind.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE tbl_name = 'trail_events'"
            " AND type IN ('index', 'trigger') AND sql IS NOT NULL ORDER BY type, name"
        )
    ]
    # The name is quoted or not, as the statement that last made the table wrote it.
    bind.exec_driver_sql(
        re.sub(
            r'^CREATE TABLE\s+"?trail_events"?', "CREATE TABLE _trail_new", table.replace(old, new)
        )
    )
    # In seq order: the new table's b-tree is filled left to right.
    bind.exec_driver_sql("INSERT INTO _trail_new SELECT * FROM trail_events ORDER BY seq")
    bind.exec_driver_sql("DROP TABLE trail_events")
    bind.exec_driver_sql("ALTER TABLE _trail_new RENAME TO trail_events")
    for sql in rest:
        bind.exec_driver_sql(sql)


def upgrade() -> None:
    _rebuild(BIG, ROWID)


def downgrade() -> None:
    _rebuild(ROWID, BIG)
