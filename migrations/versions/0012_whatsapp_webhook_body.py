"""whatsapp_webhook_body: signed webhook bodies taken in and not yet handled (durable inbox)

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "whatsapp_webhook_body",
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("chat", sa.String(length=128), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_whatsapp_webhook_body")),
    )
    op.create_index(
        op.f("ix_whatsapp_webhook_body_received_at"),
        "whatsapp_webhook_body",
        ["received_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_whatsapp_webhook_body_received_at"), table_name="whatsapp_webhook_body")
    op.drop_table("whatsapp_webhook_body")
