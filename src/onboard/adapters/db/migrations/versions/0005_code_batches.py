"""Code batches (issue 5): numbered runs of codes with a name and a PIN policy, and the time
each code's label was first printed. Batches that existing codes already name get a record,
so every batch number in use has its page.

So that a batch of a million codes is written in under a minute: the codes' payload, device
and label indexes leave out the rows without one (every new code), and the derived table of
effective departments loses its foreign keys (their per-row checks cost a third of the
time); the repositories keep it consistent and delete its rows with their code.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

import os
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from onboard.domain.values import ENTROPY_BYTES, new_id

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    batches = op.create_table(
        "code_batches",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("organization_id", sa.String(length=26), nullable=False),
        sa.Column("number", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("pin_hash", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_code_batches_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_code_batches")),
        sa.UniqueConstraint(
            "organization_id", "number", name=op.f("uq_code_batches_organization_id_number")
        ),
    )
    op.create_index(
        op.f("ix_code_batches_organization_id_id"),
        "code_batches",
        ["organization_id", "id"],
        unique=False,
    )
    with op.batch_alter_table("codes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("printed_at", sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table("code_effective_departments", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_code_effective_departments_code_id_codes"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_code_effective_departments_department_id_departments"),
            type_="foreignkey",
        )
    _partial_code_indexes(present_only=True)

    codes = sa.table(
        "codes",
        sa.column("organization_id", sa.String),
        sa.column("batch", sa.String),
        sa.column("pin_hash", sa.String),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    found = op.get_bind().execute(
        sa.select(
            codes.c.organization_id,
            codes.c.batch,
            sa.func.min(codes.c.created_at),
            sa.func.min(codes.c.pin_hash),
            sa.func.max(codes.c.pin_hash),
            sa.func.count(codes.c.pin_hash),
            sa.func.count(),
        )
        .where(codes.c.batch.is_not(None))
        .group_by(codes.c.organization_id, codes.c.batch)
    )
    rows = [
        {
            "id": new_id(datetime.now(UTC), os.urandom(ENTROPY_BYTES)),
            "organization_id": organization_id,
            "number": number,
            "name": None,
            # A batch whose codes all open with one PIN keeps it as its policy.
            "pin_hash": lowest if lowest == highest and with_pin == total else None,
            "created_at": created_at,
        }
        for organization_id, number, created_at, lowest, highest, with_pin, total in found
    ]
    if rows:
        op.bulk_insert(batches, rows)


def _partial_code_indexes(*, present_only: bool) -> None:
    """The payload, device and label indexes of codes, with or without the rows that have
    no value in them."""
    postgresql = op.get_context().dialect.name == "postgresql"

    def where(column: str) -> dict[str, sa.TextClause]:
        condition = sa.text(f"{column} IS NOT NULL")
        return {"postgresql_where": condition, "sqlite_where": condition} if present_only else {}

    with op.batch_alter_table("codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_codes_organization_id_payload"))
        batch_op.drop_index(batch_op.f("ix_codes_device_id"))
        batch_op.create_index(
            batch_op.f("ix_codes_organization_id_payload"),
            ["organization_id", "payload"],
            unique=True,
            **where("payload"),
        )
        batch_op.create_index(batch_op.f("ix_codes_device_id"), ["device_id"], **where("device_id"))
    if postgresql:
        op.drop_index("ix_codes_label_trgm", table_name="codes")
        op.create_index(
            "ix_codes_label_trgm",
            "codes",
            ["label"],
            postgresql_using="gin",
            postgresql_ops={"label": "gin_trgm_ops"},
            postgresql_where=sa.text("label IS NOT NULL") if present_only else None,
        )


def downgrade() -> None:
    _partial_code_indexes(present_only=False)
    with op.batch_alter_table("code_effective_departments", schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f("fk_code_effective_departments_code_id_codes"),
            "codes",
            ["code_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_code_effective_departments_department_id_departments"),
            "departments",
            ["department_id"],
            ["id"],
            ondelete="CASCADE",
        )
    with op.batch_alter_table("codes", schema=None) as batch_op:
        batch_op.drop_column("printed_at")
    op.drop_index(op.f("ix_code_batches_organization_id_id"), table_name="code_batches")
    op.drop_table("code_batches")
