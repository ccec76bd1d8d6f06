"""Provisioning (SPEC Part D, P2): environments, provisioning groups with their sealed
secrets, environments and default departments, onboarding batches, and the registrations
of serials with the twin, environment and credential each activated into.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(length=26)
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "environments",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("region", sa.String(length=100), nullable=True),
        sa.Column("api_url", sa.String(length=500), nullable=False),
        sa.Column("mqtt_url", sa.String(length=500), nullable=False),
        sa.Column("up", sa.Boolean(), nullable=False),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_environments")),
        sa.UniqueConstraint("name", name=op.f("uq_environments_name")),
    )
    op.create_table(
        "provisioning_groups",
        sa.Column("id", ID, nullable=False),
        sa.Column("organization_id", ID, nullable=False),
        sa.Column("group_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("secondary_secret", sa.Text(), nullable=True),
        sa.Column("registration_mode", sa.String(length=20), nullable=False),
        sa.Column("allocation_policy", sa.String(length=20), nullable=False),
        sa.Column("reprovision_policy", sa.String(length=20), nullable=False),
        sa.Column("template_id", ID, nullable=True),
        sa.Column("configuration", sa.JSON(), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("open_claims", sa.Boolean(), nullable=False),
        sa.Column("claimants", sa.JSON(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_provisioning_groups_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["templates.id"],
            name=op.f("fk_provisioning_groups_template_id_templates"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provisioning_groups")),
        sa.UniqueConstraint("group_id", name=op.f("uq_provisioning_groups_group_id")),
    )
    with op.batch_alter_table("provisioning_groups", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_provisioning_groups_organization_id_id"),
            ["organization_id", "id"],
            unique=False,
        )

    op.create_table(
        "onboarding_batches",
        sa.Column("id", ID, nullable=False),
        sa.Column("organization_id", ID, nullable=False),
        sa.Column("group_ref", ID, nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["group_ref"],
            ["provisioning_groups.id"],
            name=op.f("fk_onboarding_batches_group_ref_provisioning_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_onboarding_batches_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_onboarding_batches")),
        sa.UniqueConstraint(
            "group_ref", "number", name=op.f("uq_onboarding_batches_group_ref_number")
        ),
    )
    op.create_table(
        "provisioning_group_departments",
        sa.Column("group_ref", ID, nullable=False),
        sa.Column("department_id", ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_provisioning_group_departments_department_id_departments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["group_ref"],
            ["provisioning_groups.id"],
            name=op.f("fk_provisioning_group_departments_group_ref_provisioning_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "group_ref", "department_id", name=op.f("pk_provisioning_group_departments")
        ),
    )
    with op.batch_alter_table("provisioning_group_departments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_provisioning_group_departments_department_id"),
            ["department_id"],
            unique=False,
        )

    op.create_table(
        "provisioning_group_environments",
        sa.Column("group_ref", ID, nullable=False),
        sa.Column("environment_id", ID, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["environment_id"],
            ["environments.id"],
            name=op.f("fk_provisioning_group_environments_environment_id_environments"),
        ),
        sa.ForeignKeyConstraint(
            ["group_ref"],
            ["provisioning_groups.id"],
            name=op.f("fk_provisioning_group_environments_group_ref_provisioning_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "group_ref", "environment_id", name=op.f("pk_provisioning_group_environments")
        ),
    )
    with op.batch_alter_table("provisioning_group_environments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_provisioning_group_environments_environment_id"),
            ["environment_id"],
            unique=False,
        )

    op.create_table(
        "registrations",
        sa.Column("id", ID, nullable=False),
        sa.Column("organization_id", ID, nullable=False),
        sa.Column("group_ref", ID, nullable=False),
        sa.Column("serial", sa.String(length=100), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("batch_id", ID, nullable=True),
        sa.Column("device_id", ID, nullable=True),
        sa.Column("environment_id", ID, nullable=True),
        sa.Column("credential_digest", sa.String(length=64), nullable=True),
        sa.Column("activated_at", WHEN, nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["onboarding_batches.id"],
            name=op.f("fk_registrations_batch_id_onboarding_batches"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["devices.id"],
            name=op.f("fk_registrations_device_id_devices"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["environment_id"],
            ["environments.id"],
            name=op.f("fk_registrations_environment_id_environments"),
        ),
        sa.ForeignKeyConstraint(
            ["group_ref"],
            ["provisioning_groups.id"],
            name=op.f("fk_registrations_group_ref_provisioning_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_registrations_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registrations")),
        sa.UniqueConstraint("group_ref", "serial", name=op.f("uq_registrations_group_ref_serial")),
    )
    with op.batch_alter_table("registrations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_registrations_batch_id"),
            ["batch_id"],
            unique=False,
            postgresql_where=sa.text("batch_id IS NOT NULL"),
            sqlite_where=sa.text("batch_id IS NOT NULL"),
        )
        batch_op.create_index(
            batch_op.f("ix_registrations_credential_digest"),
            ["credential_digest"],
            unique=True,
            postgresql_where=sa.text("credential_digest IS NOT NULL"),
            sqlite_where=sa.text("credential_digest IS NOT NULL"),
        )
        batch_op.create_index(
            batch_op.f("ix_registrations_device_id"),
            ["device_id"],
            unique=False,
            postgresql_where=sa.text("device_id IS NOT NULL"),
            sqlite_where=sa.text("device_id IS NOT NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("registrations", schema=None) as batch_op:
        batch_op.drop_index(
            batch_op.f("ix_registrations_device_id"),
            postgresql_where=sa.text("device_id IS NOT NULL"),
            sqlite_where=sa.text("device_id IS NOT NULL"),
        )
        batch_op.drop_index(
            batch_op.f("ix_registrations_credential_digest"),
            postgresql_where=sa.text("credential_digest IS NOT NULL"),
            sqlite_where=sa.text("credential_digest IS NOT NULL"),
        )
        batch_op.drop_index(
            batch_op.f("ix_registrations_batch_id"),
            postgresql_where=sa.text("batch_id IS NOT NULL"),
            sqlite_where=sa.text("batch_id IS NOT NULL"),
        )

    op.drop_table("registrations")
    with op.batch_alter_table("provisioning_group_environments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_provisioning_group_environments_environment_id"))

    op.drop_table("provisioning_group_environments")
    with op.batch_alter_table("provisioning_group_departments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_provisioning_group_departments_department_id"))

    op.drop_table("provisioning_group_departments")
    op.drop_table("onboarding_batches")
    with op.batch_alter_table("provisioning_groups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_provisioning_groups_organization_id_id"))

    op.drop_table("provisioning_groups")
    op.drop_table("environments")
