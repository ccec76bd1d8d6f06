"""Pairing codes carry departments (SPEC P5, B5): the devices that pair with a code get its
departments, so a member restricted to departments sees the devices paired with their
codes. Codes made before have none, as their devices had.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pairing_code_departments",
        sa.Column("pairing_code_id", sa.String(length=26), nullable=False),
        sa.Column("department_id", sa.String(length=26), nullable=False),
        sa.ForeignKeyConstraint(
            ["pairing_code_id"],
            ["pairing_codes.id"],
            name=op.f("fk_pairing_code_departments_pairing_code_id_pairing_codes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_pairing_code_departments_department_id_departments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "pairing_code_id", "department_id", name=op.f("pk_pairing_code_departments")
        ),
    )
    with op.batch_alter_table("pairing_code_departments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pairing_code_departments_department_id"),
            ["department_id"],
            unique=False,
        )


def downgrade() -> None:
    op.drop_table("pairing_code_departments")
