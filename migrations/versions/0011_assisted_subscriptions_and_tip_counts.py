"""assisted street-news subscriptions (helped_by_id) and tip counts without the sender in keys

Revision ID: 0011
Revises: 0010

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("street_subscription", schema=None) as batch_op:
        batch_op.add_column(sa.Column("helped_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_street_subscription_helped_by_id_person"),
            "person",
            ["helped_by_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_index(
            batch_op.f("ix_street_subscription_helped_by_id"), ["helped_by_id"], unique=False
        )
    op.create_table(
        "neighbour_tip",
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name=op.f("fk_neighbour_tip_person_id_person"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_neighbour_tip")),
    )
    with op.batch_alter_table("neighbour_tip", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_neighbour_tip_person_id"), ["person_id"], unique=False)
    # Tip deliveries used to be keyed "tip:<sender>:<token>:<gangmaker>"; drop the sender.
    bind = op.get_bind()
    delivery = sa.table("delivery", sa.column("id", sa.Integer), sa.column("key", sa.String))
    rows = bind.execute(
        sa.select(delivery.c.id, delivery.c.key).where(delivery.c.key.like("tip:%"))
    ).all()
    for row_id, key in rows:
        parts = key.split(":")
        if len(parts) == 4:
            bind.execute(
                delivery.update()
                .where(delivery.c.id == row_id)
                .values(key=f"tip:{parts[2]}:{parts[3]}")
            )


def downgrade() -> None:
    with op.batch_alter_table("neighbour_tip", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_neighbour_tip_person_id"))
    op.drop_table("neighbour_tip")
    with op.batch_alter_table("street_subscription", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_street_subscription_helped_by_id"))
        batch_op.drop_constraint(
            batch_op.f("fk_street_subscription_helped_by_id_person"), type_="foreignkey"
        )
        batch_op.drop_column("helped_by_id")
