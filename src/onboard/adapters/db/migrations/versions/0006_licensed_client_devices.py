"""Licensed client devices (SPEC Part B): products, licenses, pairing codes (stored as
digests), configurations and the client devices that pair with them.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(length=26)


def _tenant(table: str) -> list[Any]:
    return [
        sa.Column("id", ID, nullable=False),
        sa.Column("organization_id", ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=f"fk_{table}_organization_id_organizations",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
    ]


def _of_product(table: str) -> list[Any]:
    return [
        sa.Column("product_id", ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=f"fk_{table}_product_id_products",
            ondelete="CASCADE",
        ),
    ]


def _where(column: str, *, present: bool) -> sa.TextClause:
    return sa.text(f"{column} IS {'NOT ' if present else ''}NULL")


def upgrade() -> None:
    op.create_table(
        "products",
        *_tenant("products"),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("organization_id", "name", name="uq_products_organization_id_name"),
    )
    op.create_index("ix_products_organization_id_id", "products", ["organization_id", "id"])

    op.create_table(
        "licenses",
        *_tenant("licenses"),
        *_of_product("licenses"),
        sa.Column("device_id", ID, nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reserved_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name="fk_licenses_device_id_devices", ondelete="SET NULL"
        ),
    )
    op.create_index(
        "ix_licenses_organization_id_product_id_id",
        "licenses",
        ["organization_id", "product_id", "id"],
    )
    op.create_index(
        "ix_licenses_free",
        "licenses",
        ["product_id", "id"],
        postgresql_where=_where("device_id", present=False),
        sqlite_where=_where("device_id", present=False),
    )
    op.create_index(
        "ix_licenses_device_id",
        "licenses",
        ["device_id"],
        unique=True,
        postgresql_where=_where("device_id", present=True),
        sqlite_where=_where("device_id", present=True),
    )

    op.create_table(
        "pairing_codes",
        *_tenant("pairing_codes"),
        *_of_product("pairing_codes"),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("max_uses", sa.Integer(), nullable=True),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("license_id", ID, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["license_id"],
            ["licenses.id"],
            name="fk_pairing_codes_license_id_licenses",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("digest", name="uq_pairing_codes_digest"),
    )
    op.create_index(
        "ix_pairing_codes_organization_id_product_id_id",
        "pairing_codes",
        ["organization_id", "product_id", "id"],
    )

    op.create_table(
        "configurations",
        *_tenant("configurations"),
        *_of_product("configurations"),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("etag", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_configurations_organization_id_product_id_id",
        "configurations",
        ["organization_id", "product_id", "id"],
    )

    op.create_table(
        "client_devices",
        *_tenant("client_devices"),
        *_of_product("client_devices"),
        sa.Column("device_id", ID, nullable=True),
        sa.Column("hardware_id", sa.String(length=200), nullable=False),
        sa.Column("configuration_id", ID, nullable=True),
        sa.Column("credential_digest", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(length=100), nullable=True),
        sa.Column("os", sa.String(length=100), nullable=True),
        sa.Column("app_version", sa.String(length=100), nullable=True),
        sa.Column("paired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_checkin_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["devices.id"],
            name="fk_client_devices_device_id_devices",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["configuration_id"],
            ["configurations.id"],
            name="fk_client_devices_configuration_id_configurations",
            ondelete="SET NULL",
        ),
        sa.UniqueConstraint("credential_digest", name="uq_client_devices_credential_digest"),
        sa.UniqueConstraint(
            "organization_id",
            "product_id",
            "hardware_id",
            name="uq_client_devices_organization_id_product_id_hardware_id",
        ),
    )
    op.create_index(
        "ix_client_devices_device_id",
        "client_devices",
        ["device_id"],
        postgresql_where=_where("device_id", present=True),
        sqlite_where=_where("device_id", present=True),
    )


def downgrade() -> None:
    for table in ("client_devices", "configurations", "pairing_codes", "licenses", "products"):
        op.drop_table(table)
