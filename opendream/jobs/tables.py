"""The schema, as SQLAlchemy Core tables. The Alembic revisions under `migrations/` create exactly
this (a test compares them), so the store can use these objects for its statements."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect


class UtcDateTime(sa.TypeDecorator[datetime]):
    """Timezone-aware UTC in Python on both databases: TIMESTAMPTZ on PostgreSQL, an ISO text on
    SQLite (which has no time zones, so we store naive UTC and put the zone back on read)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the request table; use UTC-aware times")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def json_type() -> sa.types.TypeEngine[Any]:
    # JSONB on PostgreSQL: compact and indexable; SQLite stores JSON as text.
    return sa.JSON(none_as_null=True).with_variant(
        postgresql.JSONB(none_as_null=True), "postgresql"
    )


# SQLite only makes INTEGER PRIMARY KEY an alias of the (monotonic) rowid, not BIGINT.
SEQ_TYPE = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

metadata = sa.MetaData()

requests = sa.Table(
    "requests",
    metadata,
    # seq orders the queue: FIFO stays stable when two rows share a timestamp.
    sa.Column("seq", SEQ_TYPE, primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(64), nullable=False),
    sa.Column("owner", sa.String(64), nullable=False),
    sa.Column("model_id", sa.String(128), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("input", json_type(), nullable=False),
    sa.Column("input_blobs", json_type(), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("started_at", UtcDateTime(), nullable=True),
    sa.Column("finished_at", UtcDateTime(), nullable=True),
    sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("progress", json_type(), nullable=True),
    sa.Column("outputs", json_type(), nullable=True),
    sa.Column("error", sa.Text(), nullable=True),
    sa.Column("metadata", json_type(), nullable=False),
    sa.Column("worker_id", sa.String(128), nullable=True),
    sa.Column("lease_until", UtcDateTime(), nullable=True),
    sa.Column("expired", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("idempotency_key", sa.String(256), nullable=True),
    sa.Column("extra", json_type(), nullable=False),
    # Webhook delivery (revision 0002): when a delivery loop should next look at the row (NULL:
    # no webhook, or all its deliveries are over), and until when one loop holds it.
    sa.Column("webhook_due_at", UtcDateTime(), nullable=True),
    sa.Column("webhook_lease_until", UtcDateTime(), nullable=True),
    sa.UniqueConstraint("id", name="uq_requests_id"),
    sa.UniqueConstraint("owner", "idempotency_key", name="uq_requests_owner_idempotency_key"),
    sa.Index("ix_requests_queue", "status", "model_id", "created_at", "seq"),
    sa.Index("ix_requests_queue_order", "status", "created_at", "seq"),  # revision 0003
    sa.Index("ix_requests_lease", "status", "lease_until"),
    sa.Index("ix_requests_owner_created", "owner", "created_at"),
    sa.Index("ix_requests_finished", "status", "finished_at"),
    sa.Index("ix_requests_webhook_due", "webhook_due_at"),
    sqlite_autoincrement=True,
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(256), nullable=False),
    sa.Column("token_hash", sa.String(256), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("revoked_at", UtcDateTime(), nullable=True),
    sa.Column("webhook_secret", sa.String(256), nullable=True),
    sa.UniqueConstraint("token_hash", name="uq_api_keys_token_hash"),
    sa.Index("ix_api_keys_name", "name"),
)

files = sa.Table(
    "files",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("owner", sa.String(64), nullable=False),
    sa.Column("blob_key", sa.String(512), nullable=False),
    sa.Column("content_type", sa.String(128), nullable=False),
    sa.Column("size", sa.BigInteger(), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("expires_at", UtcDateTime(), nullable=False),
    sa.Index("ix_files_expires_at", "expires_at"),
)

workers = sa.Table(
    "workers",
    metadata,
    sa.Column("id", sa.String(128), primary_key=True),
    sa.Column("info", json_type(), nullable=False),
    sa.Column("first_seen", UtcDateTime(), nullable=False),
    sa.Column("last_seen", UtcDateTime(), nullable=False),
    sa.Index("ix_workers_last_seen", "last_seen"),
)
