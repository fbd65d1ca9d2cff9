"""The queue in the order workers take it, across models: queue positions count a range of this
index (the rows ahead) instead of every queued row.

Revision ID: 0003_queue_order_index
Revises: 0002_webhook_delivery
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003_queue_order_index"
down_revision: str | None = "0002_webhook_delivery"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_requests_queue_order", "requests", ["status", "created_at", "seq"])


def downgrade() -> None:
    op.drop_index("ix_requests_queue_order", table_name="requests")
