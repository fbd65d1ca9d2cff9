"""Small helpers shared by the jobs tests."""

from __future__ import annotations

from typing import Any

from opendream.jobs.base import RequestRow, RequestStore

SEQ = "bytedance/seedream-4-0/sequential"
EDIT = "bytedance/seedream-4-0/edit"


async def put(store: RequestStore, model: str = SEQ, owner: str = "key_a", **kw: Any) -> RequestRow:
    return await store.insert(
        owner=owner,
        model_id=model,
        input=kw.pop("input", {"prompt": "a lighthouse"}),
        input_blobs=kw.pop("input_blobs", []),
        **kw,
    )
