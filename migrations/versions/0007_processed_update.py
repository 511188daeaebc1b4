"""processed_update: channel updates already taken in (a redelivered update is dropped)

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "processed_update",
        sa.Column(
            "channel",
            sa.Enum(
                "telegram",
                "whatsapp",
                "console",
                "web",
                name="channel",
                native_enum=False,
                create_constraint=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel", "update_id", name=op.f("pk_processed_update")),
    )
    op.create_index(
        "ix_processed_update_received_at", "processed_update", ["received_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_processed_update_received_at", table_name="processed_update")
    op.drop_table("processed_update")
