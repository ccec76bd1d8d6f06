"""So that a list of a million enrollments is imported in under a minute (SPEC C7, §7),
an enrollment costs fewer writes:

- Its first step of history (pending, when the record was made) is implied by the
  record's created_at instead of stored as a row: every enrollment starts so, and an
  import writes a million fewer rows. A data migration: the rows that step used to be are
  deleted (one an enrollment, the pending step at its created_at) and written back on the
  way down.
- Its department links lose their foreign key on the enrollment, whose per-row check
  locks each record just written (a write of its own; 13 s of the million). The links are
  written only by the enrollments' repository with their record, and a record is deleted
  only with its organization: the department's foreign key now cascades, so the
  organization's departments take the links along (a link names a department of its
  enrollment's organization).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ON_ENROLLMENT = "fk_enrollment_departments_enrollment_id_enrollments"
_ON_DEPARTMENT = "fk_enrollment_departments_department_id_departments"


def upgrade() -> None:
    op.execute(
        """
        DELETE FROM enrollment_history WHERE id IN (
            SELECT min(h.id) FROM enrollment_history h
            JOIN enrollments e ON e.id = h.enrollment_id
            WHERE h.state = 'pending' AND h.reason IS NULL AND h.at = e.created_at
            GROUP BY h.enrollment_id
        )
        """
    )
    with op.batch_alter_table("enrollment_departments", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f(_ON_ENROLLMENT), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f(_ON_DEPARTMENT), type_="foreignkey")
        batch_op.create_foreign_key(
            batch_op.f(_ON_DEPARTMENT), "departments", ["department_id"], ["id"], ondelete="CASCADE"
        )


def downgrade() -> None:
    with op.batch_alter_table("enrollment_departments", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f(_ON_DEPARTMENT), type_="foreignkey")
        batch_op.create_foreign_key(
            batch_op.f(_ON_DEPARTMENT), "departments", ["department_id"], ["id"]
        )
        batch_op.create_foreign_key(
            batch_op.f(_ON_ENROLLMENT), "enrollments", ["enrollment_id"], ["id"], ondelete="CASCADE"
        )
    # The record's own id orders the step before its later ones (ids are time-ordered)
    # and is taken by no step.
    op.execute(
        """
        INSERT INTO enrollment_history (id, enrollment_id, state, reason, at)
        SELECT e.id, e.id, 'pending', NULL, e.created_at FROM enrollments e
        """
    )
