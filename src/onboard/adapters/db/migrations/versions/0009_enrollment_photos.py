"""The installation photo taken while enrolling (SPEC C9) is kept with its enrollment until
the twin appears: an index lets a stored file's release see that it is still in use
without reading every enrollment.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PRESENT = sa.text("photo_key IS NOT NULL")


def upgrade() -> None:
    op.create_index(
        op.f("ix_enrollments_photo_key"),
        "enrollments",
        ["photo_key"],
        postgresql_where=_PRESENT,
        sqlite_where=_PRESENT,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_enrollments_photo_key"), table_name="enrollments")
