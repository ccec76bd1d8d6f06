"""The rest of SPEC Part A: documents and installation photos (A3), default documents of
templates (A4), the device timeline (A3) as audit entries that name their device, dynamic
codes (A14: GTINs, payload-bound codes, organization rules) and codes' effective
departments kept as rows (A8, so that department-scoped lists stay fast, A16), with an index
for finding codes by the start of their token on PostgreSQL (A16).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dynamic_code_rules",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("organization_id", sa.String(length=26), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("pattern", sa.String(length=500), nullable=True),
        sa.Column("template_id", sa.String(length=26), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_dynamic_code_rules_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["templates.id"],
            name=op.f("fk_dynamic_code_rules_template_id_templates"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dynamic_code_rules")),
        sa.UniqueConstraint(
            "organization_id", "name", name=op.f("uq_dynamic_code_rules_organization_id_name")
        ),
    )
    op.create_table(
        "documents",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("organization_id", sa.String(length=26), nullable=False),
        sa.Column("device_id", sa.String(length=26), nullable=True),
        sa.Column("template_id", sa.String(length=26), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=True),
        sa.Column("storage_key", sa.String(length=200), nullable=True),
        sa.Column("content_type", sa.String(length=100), nullable=True),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("author", sa.String(length=400), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["devices.id"],
            name=op.f("fk_documents_device_id_devices"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_documents_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["templates.id"],
            name=op.f("fk_documents_template_id_templates"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
    )
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_documents_device_id_id"), ["device_id", "id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_documents_template_id_id"), ["template_id", "id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_documents_storage_key"), ["storage_key"], unique=False)

    op.create_table(
        "code_effective_departments",
        sa.Column("code_id", sa.String(length=26), nullable=False),
        sa.Column("department_id", sa.String(length=26), nullable=False),
        sa.ForeignKeyConstraint(
            ["code_id"],
            ["codes.id"],
            name=op.f("fk_code_effective_departments_code_id_codes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_code_effective_departments_department_id_departments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "code_id", "department_id", name=op.f("pk_code_effective_departments")
        ),
    )
    with op.batch_alter_table("code_effective_departments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_code_effective_departments_department_id_code_id"),
            ["department_id", "code_id"],
            unique=False,
        )
    # A8 for the codes that exist: a paired code's departments are its device's, an
    # unpaired code's its own.
    op.execute(
        "INSERT INTO code_effective_departments (code_id, department_id) "
        "SELECT codes.id, device_departments.department_id FROM codes "
        "JOIN device_departments ON device_departments.device_id = codes.device_id"
    )
    op.execute(
        "INSERT INTO code_effective_departments (code_id, department_id) "
        "SELECT codes.id, code_departments.department_id FROM codes "
        "JOIN code_departments ON code_departments.code_id = codes.id "
        "WHERE codes.device_id IS NULL"
    )

    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("device_id", sa.String(length=26), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_audit_entries_device_id_id"), ["device_id", "id"], unique=False
        )

    with op.batch_alter_table("codes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payload", sa.String(length=500), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_codes_organization_id_payload"),
            ["organization_id", "payload"],
            unique=True,
        )
    if op.get_context().dialect.name == "postgresql":
        # A token's start typed from a sticker (LIKE 'ABCD%', A16), whatever the collation.
        op.create_index(
            "ix_codes_token_pattern",
            "codes",
            ["token"],
            postgresql_ops={"token": "varchar_pattern_ops"},
        )

    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("gtin", sa.String(length=14), nullable=True))
        batch_op.add_column(sa.Column("photo_key", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("photo_content_type", sa.String(length=100), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_devices_gtin_serial"), ["gtin", "serial"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_devices_organization_id_gtin_serial"),
            ["organization_id", "gtin", "serial"],
            unique=True,
        )
        batch_op.create_index(batch_op.f("ix_devices_photo_key"), ["photo_key"], unique=False)

    with op.batch_alter_table("templates", schema=None) as batch_op:
        batch_op.add_column(sa.Column("gtin", sa.String(length=14), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_templates_organization_id_gtin"),
            ["organization_id", "gtin"],
            unique=True,
        )


def downgrade() -> None:
    with op.batch_alter_table("templates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_templates_organization_id_gtin"))
        batch_op.drop_column("gtin")

    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_devices_photo_key"))
        batch_op.drop_index(batch_op.f("ix_devices_organization_id_gtin_serial"))
        batch_op.drop_index(batch_op.f("ix_devices_gtin_serial"))
        batch_op.drop_column("photo_content_type")
        batch_op.drop_column("photo_key")
        batch_op.drop_column("gtin")

    if op.get_context().dialect.name == "postgresql":
        op.drop_index("ix_codes_token_pattern", table_name="codes")
    with op.batch_alter_table("codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_codes_organization_id_payload"))
        batch_op.drop_column("payload")

    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_entries_device_id_id"))
        batch_op.drop_column("device_id")

    with op.batch_alter_table("code_effective_departments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_code_effective_departments_department_id_code_id"))

    op.drop_table("code_effective_departments")
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_documents_storage_key"))
        batch_op.drop_index(batch_op.f("ix_documents_template_id_id"))
        batch_op.drop_index(batch_op.f("ix_documents_device_id_id"))

    op.drop_table("documents")
    op.drop_table("dynamic_code_rules")
