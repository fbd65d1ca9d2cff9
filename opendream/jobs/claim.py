"""The claim: one conditional UPDATE that picks the oldest queued row of the given models and
makes it this worker's, returning it.

PostgreSQL: the inner SELECT takes a row lock with SKIP LOCKED, so concurrent claimers each get a
different row without waiting on each other. SQLite: the statement runs inside a BEGIN IMMEDIATE
transaction (see database.py), so claimers are serialised and each sees the previous claim.
Either way the outer WHERE repeats `status = 'in_queue'`, so a row cancelled in between is never
claimed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from opendream.jobs.tables import requests as T


def claim_statement(
    model_ids: Sequence[str],
    *,
    worker_id: str,
    now: sa.BindParameter[datetime],
    lease_until: datetime,
    skip_locked: bool,
) -> sa.UpdateBase:
    oldest: sa.Select[Any] = (
        sa.select(T.c.seq)
        .where(T.c.status == "in_queue", T.c.model_id.in_(list(model_ids)))
        .order_by(T.c.created_at, T.c.seq)
        .limit(1)
    )
    if skip_locked:
        oldest = oldest.with_for_update(skip_locked=True)
    return (
        sa.update(T)
        .where(T.c.seq == oldest.scalar_subquery(), T.c.status == "in_queue")
        .values(
            status="in_progress",
            worker_id=worker_id,
            attempts=T.c.attempts + 1,
            started_at=sa.func.coalesce(T.c.started_at, now),
            lease_until=lease_until,
            progress=None,
        )
        .returning(*T.c)
    )
