from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.dialects import postgresql, sqlite

from opendream.jobs.tables import UtcDateTime


def test_times_are_stored_as_utc_and_read_back_aware() -> None:
    t = UtcDateTime()
    paris = datetime(2025, 6, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    on_sqlite = t.process_bind_param(paris, sqlite.dialect())
    assert on_sqlite == datetime(2025, 6, 1, 12, 0)  # naive UTC text on SQLite
    assert t.process_result_value(on_sqlite, sqlite.dialect()) == paris
    on_pg = t.process_bind_param(paris, postgresql.dialect())
    assert on_pg is not None and on_pg.tzinfo == UTC
    read = t.process_result_value(paris, postgresql.dialect())
    assert read is not None and read.tzinfo == UTC and read == paris


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        UtcDateTime().process_bind_param(datetime(2025, 1, 1), sqlite.dialect())
