"""Trigram indexes for searching devices and codes by text (SPEC A16) on PostgreSQL.

A list's free-text filter matches substrings (ILIKE '%text%'), which a b-tree cannot serve;
pg_trgm's GIN indexes keep it fast at a million rows. pg_trgm is a trusted extension, so
the database owner may create it. SQLite, the embedded default, is left as it is.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEARCHED = [
    ("codes", "batch"),
    ("codes", "label"),
    ("devices", "location_text"),
    ("devices", "name"),
    ("devices", "serial"),
]


def upgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for table, column in SEARCHED:
        op.create_index(
            f"ix_{table}_{column}_trgm",
            table,
            [column],
            postgresql_using="gin",
            postgresql_ops={column: "gin_trgm_ops"},
        )


def downgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    for table, column in SEARCHED:
        op.drop_index(f"ix_{table}_{column}_trgm", table_name=table)
