"""回访 and 好差评: feedback, rectifications, appeals; 不参评 records have no score or rank

Revision ID: 0010_voice_feedback
Revises: 0009_whistle_tasks
Create Date: 2026-11-29 07:00:00

Cases that ended before this revision get no feedback row: they were rated (if at all) the old
way, and their old ratings stay in the trail for the records already computed from them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from alembic.util import CommandError

# As revision 0002: SQLite's batch mode rebuilds the table and loses its triggers.
MESSAGE = "appraisal records are immutable once finalized"


def _sqlite_triggers() -> None:
    for what in ("UPDATE", "DELETE"):
        op.execute(f"DROP TRIGGER IF EXISTS appraisal_records_final_no_{what.lower()}")
        op.execute(
            f"CREATE TRIGGER appraisal_records_final_no_{what.lower()} "
            f"BEFORE {what} ON appraisal_records WHEN OLD.status = 'final' "
            f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
        )


revision: str = "0010_voice_feedback"
down_revision: str | None = "0009_whistle_tasks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("handler", sa.String(length=32), nullable=True),
        sa.Column("commander", sa.String(length=32), nullable=True),
        sa.Column("street", sa.String(length=32), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("level", sa.Integer(), nullable=True),
        sa.Column("resolved", sa.Boolean(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=True),
        sa.Column("given_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("given_by", sa.String(length=64), nullable=True),
        sa.Column("excluded", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_feedback_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback")),
        sa.UniqueConstraint("case_id", "round", name="uq_feedback_case_round"),
        sa.UniqueConstraint("code", name=op.f("uq_feedback_code")),
    )
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_feedback_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_feedback_handler"), ["handler"], unique=False)
        batch_op.create_index("ix_feedback_status_id", ["status", "id"], unique=False)

    op.create_table(
        "rectifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("feedback_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("unit", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("report", sa.Text(), nullable=True),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reported_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_rectifications_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["feedback_id"], ["feedback.id"], name=op.f("fk_rectifications_feedback_id_feedback")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rectifications")),
        sa.UniqueConstraint("feedback_id", name=op.f("uq_rectifications_feedback_id")),
    )
    with op.batch_alter_table("rectifications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rectifications_case_id"), ["case_id"], unique=False)
        batch_op.create_index("ix_rectifications_unit_status", ["unit", "status"], unique=False)

    op.create_table(
        "appeals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("feedback_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("unit", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("appealed_by", sa.String(length=64), nullable=False),
        sa.Column("appealed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_appeals_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["feedback_id"], ["feedback.id"], name=op.f("fk_appeals_feedback_id_feedback")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appeals")),
        sa.UniqueConstraint("feedback_id", name=op.f("uq_appeals_feedback_id")),
    )
    with op.batch_alter_table("appeals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_appeals_case_id"), ["case_id"], unique=False)
        batch_op.create_index("ix_appeals_status_id", ["status", "id"], unique=False)

    with op.batch_alter_table("appraisal_records", schema=None) as batch_op:
        batch_op.alter_column("score", existing_type=sa.Double(), nullable=True)
        batch_op.alter_column("rank", existing_type=sa.Integer(), nullable=True)
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_triggers()


def downgrade() -> None:
    unranked = (
        op.get_bind()
        .execute(
            sa.text("SELECT count(*) FROM appraisal_records WHERE score IS NULL OR rank IS NULL")
        )
        .scalar()
    )
    if unranked:
        # Finalized records are immutable: none is changed or dropped to fit the old schema.
        raise CommandError(
            f"{unranked} appraisal records are 不参评 (no score, no rank) and the older schema "
            "cannot hold them; nothing was changed"
        )
    with op.batch_alter_table("appraisal_records", schema=None) as batch_op:
        batch_op.alter_column("rank", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("score", existing_type=sa.Double(), nullable=False)
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_triggers()
    op.drop_table("appeals")
    op.drop_table("rectifications")
    op.drop_table("feedback")
