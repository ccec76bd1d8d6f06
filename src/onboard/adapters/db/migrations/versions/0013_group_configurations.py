"""A provisioning group may take its configuration from a named one (SPEC §5.1 Part D,
`configuration_id`; B8): the group keeps which, beside the body its devices get.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("provisioning_groups") as batch_op:
        batch_op.add_column(sa.Column("configuration_id", sa.String(26), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_provisioning_groups_configuration_id_configurations"),
            "configurations",
            ["configuration_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("provisioning_groups") as batch_op:
        batch_op.drop_constraint(
            op.f("fk_provisioning_groups_configuration_id_configurations"), type_="foreignkey"
        )
        batch_op.drop_column("configuration_id")
