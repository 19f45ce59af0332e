"""users: a case-insensitive unique name (name_key); console sessions held on the server

Revision ID: 0007_users_sessions
Revises: 0006_street_variants
Create Date: 2026-11-29 06:00:00

Existing users get name_key = their name stripped and case-folded. When two existing names fold
to the same key ('Wang' and 'wang'), the upgrade stops, names them and changes nothing: which of
the two is the real person is for an administrator to decide (rename or remove the other in the
database, then run `streetflow init` again). Nobody is renamed or locked out behind their back.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from alembic.util import CommandError

revision: str = "0007_users_sessions"
down_revision: str | None = "0006_street_variants"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _key(name: str) -> str:
    # workflow.users.normalise_name, copied: a migration must not change when the code does.
    return name.strip().casefold()


def upgrade() -> None:
    bind = op.get_bind()
    users = bind.execute(sa.text("SELECT id, name FROM users ORDER BY id")).all()
    by_key: dict[str, list[str]] = {}
    for _id, name in users:
        by_key.setdefault(_key(name), []).append(name)
    clashes = [names for names in by_key.values() if len(names) > 1]
    if clashes:
        listed = "; ".join(" / ".join(repr(n) for n in names) for names in clashes)
        raise CommandError(
            "user names must be unique regardless of case and surrounding spaces, and these "
            f"clash: {listed}. Rename or remove all but one of each (e.g. UPDATE users SET "
            "name = 'wang2' WHERE name = 'Wang'), then upgrade again; nothing was changed."
        )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_key", sa.String(length=64), nullable=True))
    for user_id, name in users:
        bind.execute(
            sa.text("UPDATE users SET name_key = :key WHERE id = :id"),
            {"key": _key(name), "id": user_id},
        )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("name_key", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_users_name_key"), ["name_key"])

    op.create_table(
        "console_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("sid_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_console_sessions_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_sessions")),
        sa.UniqueConstraint("sid_hash", name=op.f("uq_console_sessions_sid_hash")),
    )
    with op.batch_alter_table("console_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_console_sessions_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("console_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_console_sessions_user_id"))
    op.drop_table("console_sessions")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_users_name_key"), type_="unique")
        batch_op.drop_column("name_key")
