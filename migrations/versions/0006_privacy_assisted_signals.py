"""assisted sessions, signals, welfare contacts, helped-by links

Revision ID: 0006
Revises: 0005

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "assisted_session",
        sa.Column("identity_id", sa.Integer(), nullable=False),
        sa.Column("helper_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_active_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["identity_id"],
            ["channel_identity.id"],
            name=op.f("fk_assisted_session_identity_id_channel_identity"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["helper_id"],
            ["person.id"],
            name=op.f("fk_assisted_session_helper_id_person"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name=op.f("fk_assisted_session_person_id_person"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assisted_session")),
        sa.UniqueConstraint("identity_id", name=op.f("uq_assisted_session_identity_id")),
    )
    with op.batch_alter_table("assisted_session", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_assisted_session_helper_id"), ["helper_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_assisted_session_person_id"), ["person_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_assisted_session_last_active_at"), ["last_active_at"], unique=False
        )

    op.create_table(
        "signal",
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("street_id", sa.Integer(), nullable=True),
        sa.Column("reported_by_id", sa.Integer(), nullable=True),
        sa.Column("sent_to_id", sa.Integer(), nullable=True),
        sa.Column("concern", sa.String(length=16), nullable=False),
        sa.Column("house_number", sa.String(length=10), nullable=True),
        sa.Column("note", sa.String(length=140), nullable=True),
        sa.Column("neighbour_agreed", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_signal_organisation_id_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["area_id"], ["area.id"], name=op.f("fk_signal_area_id_area"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["street_id"],
            ["street.id"],
            name=op.f("fk_signal_street_id_street"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["reported_by_id"],
            ["person.id"],
            name=op.f("fk_signal_reported_by_id_person"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["sent_to_id"],
            ["person.id"],
            name=op.f("fk_signal_sent_to_id_person"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signal")),
    )
    with op.batch_alter_table("signal", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_signal_area_id"), ["area_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_signal_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_signal_reported_by_id"), ["reported_by_id"], unique=False
        )

    with op.batch_alter_table("area", schema=None) as batch_op:
        batch_op.add_column(sa.Column("welfare_contact_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_area_welfare_contact_id_person"),
            "person",
            ["welfare_contact_id"],
            ["id"],
            ondelete="SET NULL",
        )
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.add_column(sa.Column("house_number", sa.String(length=10), nullable=True))
    with op.batch_alter_table("street", schema=None) as batch_op:
        batch_op.add_column(sa.Column("helped_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_street_helped_by_id_person"),
            "person",
            ["helped_by_id"],
            ["id"],
            ondelete="SET NULL",
        )
    with op.batch_alter_table("budget_request", schema=None) as batch_op:
        batch_op.add_column(sa.Column("helped_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_budget_request_helped_by_id_person"),
            "person",
            ["helped_by_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("budget_request", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_budget_request_helped_by_id_person"), type_="foreignkey"
        )
        batch_op.drop_column("helped_by_id")
    with op.batch_alter_table("street", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_street_helped_by_id_person"), type_="foreignkey")
        batch_op.drop_column("helped_by_id")
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_column("house_number")
    with op.batch_alter_table("area", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_area_welfare_contact_id_person"), type_="foreignkey")
        batch_op.drop_column("welfare_contact_id")
    op.drop_table("signal")
    op.drop_table("assisted_session")
