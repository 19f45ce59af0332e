"""checkpoints are append-only, like the trail

Revision ID: 0005_audit
Revises: 0004_time
Create Date: 2026-11-28 01:05:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005_audit"
down_revision: str | None = "0004_time"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A signed checkpoint is only worth something while it stays: the database refuses to change
    # or remove one (an intruder can drop these triggers; anchors kept outside cover that).
    if op.get_bind().dialect.name == "sqlite":
        for what in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER checkpoints_no_{what.lower()} BEFORE {what} ON checkpoints "
                "BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END"
            )
        return
    op.execute(
        "CREATE FUNCTION checkpoints_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION 'checkpoints are append-only'; END $$"
    )
    op.execute(
        "CREATE TRIGGER checkpoints_no_change BEFORE UPDATE OR DELETE ON checkpoints "
        "FOR EACH ROW EXECUTE FUNCTION checkpoints_refuse()"
    )
    op.execute(
        "CREATE TRIGGER checkpoints_no_truncate BEFORE TRUNCATE ON checkpoints "
        "FOR EACH STATEMENT EXECUTE FUNCTION checkpoints_refuse()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS checkpoints_no_update")
        op.execute("DROP TRIGGER IF EXISTS checkpoints_no_delete")
        return
    op.execute("DROP TRIGGER IF EXISTS checkpoints_no_change ON checkpoints")
    op.execute("DROP TRIGGER IF EXISTS checkpoints_no_truncate ON checkpoints")
    op.execute("DROP FUNCTION IF EXISTS checkpoints_refuse()")
