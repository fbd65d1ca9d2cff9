"""The request table, API keys, uploaded files and worker heartbeats.

Revision ID: 0001_initial
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Types are spelled out here rather than imported from tables.py: a revision must keep
# meaning what it meant when it was written.
def _json() -> sa.types.TypeEngine:
    return sa.JSON(none_as_null=True).with_variant(
        postgresql.JSONB(none_as_null=True), "postgresql"
    )


def _ts() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "requests",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("model_id", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("input", _json(), nullable=False),
        sa.Column("input_blobs", _json(), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("started_at", _ts(), nullable=True),
        sa.Column("finished_at", _ts(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("progress", _json(), nullable=True),
        sa.Column("outputs", _json(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("metadata", _json(), nullable=False),
        sa.Column("worker_id", sa.String(128), nullable=True),
        sa.Column("lease_until", _ts(), nullable=True),
        sa.Column("expired", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("idempotency_key", sa.String(256), nullable=True),
        sa.Column("extra", _json(), nullable=False),
        sa.UniqueConstraint("id", name="uq_requests_id"),
        sa.UniqueConstraint("owner", "idempotency_key", name="uq_requests_owner_idempotency_key"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_requests_queue", "requests", ["status", "model_id", "created_at", "seq"])
    op.create_index("ix_requests_lease", "requests", ["status", "lease_until"])
    op.create_index("ix_requests_owner_created", "requests", ["owner", "created_at"])
    op.create_index("ix_requests_finished", "requests", ["status", "finished_at"])

    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("token_hash", sa.String(256), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("revoked_at", _ts(), nullable=True),
        sa.Column("webhook_secret", sa.String(256), nullable=True),
        sa.UniqueConstraint("token_hash", name="uq_api_keys_token_hash"),
    )
    op.create_index("ix_api_keys_name", "api_keys", ["name"])

    op.create_table(
        "files",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("blob_key", sa.String(512), nullable=False),
        sa.Column("content_type", sa.String(128), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("expires_at", _ts(), nullable=False),
    )
    op.create_index("ix_files_expires_at", "files", ["expires_at"])

    op.create_table(
        "workers",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("info", _json(), nullable=False),
        sa.Column("first_seen", _ts(), nullable=False),
        sa.Column("last_seen", _ts(), nullable=False),
    )
    op.create_index("ix_workers_last_seen", "workers", ["last_seen"])


def downgrade() -> None:
    op.drop_table("workers")
    op.drop_table("files")
    op.drop_table("api_keys")
    op.drop_table("requests")
