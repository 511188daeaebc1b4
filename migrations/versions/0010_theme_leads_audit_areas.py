"""theme leads, the area and street of audit entries, sign-in failures per client address

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A theme lead's grant names the street theme; every existing grant has none.
    with op.batch_alter_table("role_grant", schema=None) as batch_op:
        batch_op.add_column(sa.Column("theme", sa.String(length=24), nullable=True))

    # Entries written before this revision keep no area (they stay visible to admins and to
    # the person who acted).
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("area_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("street_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_audit_log_area_id"), ["area_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_street_id"), ["street_id"], unique=False)

    op.create_table(
        "web_login_failure",
        sa.Column("client_ip", sa.String(length=45), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_login_failure")),
    )
    with op.batch_alter_table("web_login_failure", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_web_login_failure_at"), ["at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_web_login_failure_client_ip"), ["client_ip"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("web_login_failure", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_web_login_failure_client_ip"))
        batch_op.drop_index(batch_op.f("ix_web_login_failure_at"))
    op.drop_table("web_login_failure")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_street_id"))
        batch_op.drop_index(batch_op.f("ix_audit_log_area_id"))
        batch_op.drop_column("street_id")
        batch_op.drop_column("area_id")
    with op.batch_alter_table("role_grant", schema=None) as batch_op:
        batch_op.drop_column("theme")
