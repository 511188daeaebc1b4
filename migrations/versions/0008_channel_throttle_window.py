"""channel_throttle.recent: the send moments of the last second (honest one-second window)

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("channel_throttle") as batch:
        batch.add_column(sa.Column("recent", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("channel_throttle") as batch:
        batch.drop_column("recent")
