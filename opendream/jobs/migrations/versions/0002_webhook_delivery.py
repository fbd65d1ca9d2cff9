"""Webhook delivery: when a delivery loop should next look at a row, and its lease on it.

Revision ID: 0002_webhook_delivery
Revises: 0001_initial
Create Date: 2025-01-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_webhook_delivery"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # batch mode: SQLite alters tables by copying them; PostgreSQL alters in place.
    with op.batch_alter_table("requests") as batch:
        batch.add_column(sa.Column("webhook_due_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("webhook_lease_until", sa.DateTime(timezone=True), nullable=True)
        )
    op.create_index("ix_requests_webhook_due", "requests", ["webhook_due_at"])


def downgrade() -> None:
    op.drop_index("ix_requests_webhook_due", table_name="requests")
    with op.batch_alter_table("requests") as batch:
        batch.drop_column("webhook_lease_until")
        batch.drop_column("webhook_due_at")
