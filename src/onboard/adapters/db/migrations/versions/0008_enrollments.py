"""Enrollment of connected devices (SPEC Part C): enrollment records with their sealed
access keys, departments and history, and the serials gateways see nearby.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(length=26)
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "enrollments",
        sa.Column("id", ID, nullable=False),
        sa.Column("organization_id", ID, nullable=False),
        sa.Column("serial", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("gateway_id", ID, nullable=True),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("location", sa.String(length=500), nullable=True),
        sa.Column("photo_key", sa.String(length=300), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("device_id", ID, nullable=True),
        sa.Column("access_key", sa.Text(), nullable=False),
        sa.Column("credential_digest", sa.String(length=64), nullable=True),
        sa.Column("capabilities", sa.JSON(), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_enrollments_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["gateway_id"],
            ["enrollments.id"],
            name=op.f("fk_enrollments_gateway_id_enrollments"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["devices.id"],
            name=op.f("fk_enrollments_device_id_devices"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrollments")),
        sa.UniqueConstraint("credential_digest", name=op.f("uq_enrollments_credential_digest")),
    )
    enrolled = sa.text("state <> 'unenrolled'")
    present = sa.text("gateway_id IS NOT NULL")
    op.create_index(
        op.f("ix_enrollments_organization_id_serial"),
        "enrollments",
        ["organization_id", "serial"],
        unique=True,
        postgresql_where=enrolled,
        sqlite_where=enrolled,
    )
    op.create_index(
        op.f("ix_enrollments_organization_id_state_id"),
        "enrollments",
        ["organization_id", "state", "id"],
    )
    op.create_index(
        op.f("ix_enrollments_gateway_id_state"),
        "enrollments",
        ["gateway_id", "state"],
        postgresql_where=present,
        sqlite_where=present,
    )

    op.create_table(
        "enrollment_departments",
        sa.Column("enrollment_id", ID, nullable=False),
        sa.Column("department_id", ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollments.id"],
            name=op.f("fk_enrollment_departments_enrollment_id_enrollments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_enrollment_departments_department_id_departments"),
        ),
        sa.PrimaryKeyConstraint(
            "enrollment_id", "department_id", name=op.f("pk_enrollment_departments")
        ),
    )
    op.create_index(
        op.f("ix_enrollment_departments_department_id"),
        "enrollment_departments",
        ["department_id"],
    )

    op.create_table(
        "enrollment_history",
        sa.Column("id", ID, nullable=False),
        sa.Column("enrollment_id", ID, nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollments.id"],
            name=op.f("fk_enrollment_history_enrollment_id_enrollments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrollment_history")),
    )
    op.create_index(
        op.f("ix_enrollment_history_enrollment_id_id"),
        "enrollment_history",
        ["enrollment_id", "id"],
    )

    op.create_table(
        "gateway_nearby",
        sa.Column("gateway_id", ID, nullable=False),
        sa.Column("serial", sa.String(length=100), nullable=False),
        sa.Column("rssi", sa.Integer(), nullable=True),
        sa.Column("seen_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["gateway_id"],
            ["enrollments.id"],
            name=op.f("fk_gateway_nearby_gateway_id_enrollments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("gateway_id", "serial", name=op.f("pk_gateway_nearby")),
    )


def downgrade() -> None:
    op.drop_table("gateway_nearby")
    op.drop_table("enrollment_history")
    op.drop_table("enrollment_departments")
    op.drop_table("enrollments")
