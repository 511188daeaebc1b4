"""whatsapp: message ids already handled; delivered and read times of deliveries; link codes

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "whatsapp_inbound",
        sa.Column("message_id", sa.String(length=128), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_whatsapp_inbound")),
        sa.UniqueConstraint("message_id", name=op.f("uq_whatsapp_inbound_message_id")),
    )
    op.create_index(
        op.f("ix_whatsapp_inbound_received_at"), "whatsapp_inbound", ["received_at"], unique=False
    )


    op.create_table(
        "link_code",
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_link_code_person_id_person"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_code")),
        sa.UniqueConstraint("code", name=op.f("uq_link_code_code")),
    )
    op.create_index(op.f("ix_link_code_person_id"), "link_code", ["person_id"], unique=False)
    with op.batch_alter_table("delivery") as batch:
        batch.add_column(sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("read_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_index(op.f("ix_link_code_person_id"), table_name="link_code")
    op.drop_table("link_code")
    with op.batch_alter_table("delivery") as batch:
        batch.drop_column("read_at")
        batch.drop_column("delivered_at")
    op.drop_index(op.f("ix_whatsapp_inbound_received_at"), table_name="whatsapp_inbound")
    op.drop_table("whatsapp_inbound")
