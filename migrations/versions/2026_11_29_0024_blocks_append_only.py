"""the trail's block digests are append-only, like the trail and its checkpoints

Revision ID: 0024_blocks_append_only
Revises: 0023_lists2
Create Date: 2026-11-29 17:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0024_blocks_append_only"
down_revision: str | None = "0023_lists2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MESSAGE = "trail blocks are append-only"


def upgrade() -> None:
    # A block's digest is what names a row changed after it was digested (block_changed): the
    # database refuses to change or remove one, as it does for the trail's events and checkpoints.
    # Verification still recomputes every stored block, so dropping these triggers first is caught.
    if op.get_bind().dialect.name == "sqlite":
        for what in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER trail_blocks_no_{what.lower()} BEFORE {what} ON trail_blocks "
                f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
            )
        return
    op.execute(
        "CREATE FUNCTION trail_blocks_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN RAISE EXCEPTION '{MESSAGE}'; END $$"
    )
    op.execute(
        "CREATE TRIGGER trail_blocks_no_change BEFORE UPDATE OR DELETE ON trail_blocks "
        "FOR EACH ROW EXECUTE FUNCTION trail_blocks_refuse()"
    )
    op.execute(
        "CREATE TRIGGER trail_blocks_no_truncate BEFORE TRUNCATE ON trail_blocks "
        "FOR EACH STATEMENT EXECUTE FUNCTION trail_blocks_refuse()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS trail_blocks_no_update")
        op.execute("DROP TRIGGER IF EXISTS trail_blocks_no_delete")
        return
    op.execute("DROP TRIGGER IF EXISTS trail_blocks_no_change ON trail_blocks")
    op.execute("DROP TRIGGER IF EXISTS trail_blocks_no_truncate ON trail_blocks")
    op.execute("DROP FUNCTION IF EXISTS trail_blocks_refuse()")
