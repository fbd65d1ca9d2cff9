"""jobs layer (see DESIGN.md): the request table, which is also the queue.

Get a store with `open_store(url)`, then `await store.start()` (migrates the schema) and
`await store.close()` when done.
"""

from opendream.jobs.base import ApiKey, RequestRow, RequestStore, StoreUnavailable, UploadedFile
from opendream.jobs.store import SqlRequestStore, open_store

__all__ = [
    "ApiKey",
    "RequestRow",
    "RequestStore",
    "SqlRequestStore",
    "StoreUnavailable",
    "UploadedFile",
    "open_store",
]
