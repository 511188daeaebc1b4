"""whatsapp_conversation: conversations opened by a template, for the daily cap

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "whatsapp_conversation",
        sa.Column("phone_number_id", sa.String(length=32), nullable=False),
        sa.Column("recipient_hash", sa.String(length=64), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "phone_number_id", "recipient_hash", name=op.f("pk_whatsapp_conversation")
        ),
    )
    op.create_index(
        "ix_whatsapp_conversation_open",
        "whatsapp_conversation",
        ["phone_number_id", "opened_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_whatsapp_conversation_open", table_name="whatsapp_conversation")
    op.drop_table("whatsapp_conversation")
