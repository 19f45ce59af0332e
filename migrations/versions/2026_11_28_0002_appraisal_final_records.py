"""appraisal: finalized records are immutable in the database too

Revision ID: 0002_appraisal
Revises: 0001
Create Date: 2026-11-28 01:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002_appraisal"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MESSAGE = "a finalized appraisal record is immutable"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for what in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER appraisal_records_final_no_{what.lower()} "
                f"BEFORE {what} ON appraisal_records WHEN OLD.status = 'final' "
                f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
            )
        return
    op.execute(
        "CREATE FUNCTION appraisal_records_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN RAISE EXCEPTION '{MESSAGE}'; END $$"
    )
    op.execute(
        "CREATE TRIGGER appraisal_records_final_frozen BEFORE UPDATE OR DELETE "
        "ON appraisal_records FOR EACH ROW WHEN (OLD.status = 'final') "
        "EXECUTE FUNCTION appraisal_records_refuse()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS appraisal_records_final_no_update")
        op.execute("DROP TRIGGER IF EXISTS appraisal_records_final_no_delete")
        return
    op.execute("DROP TRIGGER IF EXISTS appraisal_records_final_frozen ON appraisal_records")
    op.execute("DROP FUNCTION IF EXISTS appraisal_records_refuse()")
