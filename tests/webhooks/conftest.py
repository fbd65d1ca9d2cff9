"""The request-table fixtures of the jobs tests (`store`, `open_store`; SQLite and PostgreSQL)."""

from tests.jobs.conftest import db_url, open_store, postgres_url, store  # noqa: F401
