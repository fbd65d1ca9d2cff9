"""API keys and uploaded files in the store. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from opendream.jobs.base import UploadedFile
from opendream.jobs.ids import new_file_id
from opendream.jobs.store import SqlRequestStore


async def test_keys_create_find_list_revoke(store: SqlRequestStore) -> None:
    a = await store.create_key("ci", "hash-a")
    b = await store.create_key("laptop", "hash-b")
    assert a.id != b.id and a.id.startswith("key_")
    assert a.created_at.tzinfo is not None and a.revoked_at is None

    found = await store.key_by_hash("hash-a")
    assert found is not None and (found.id, found.name) == (a.id, "ci")
    assert await store.key_by_hash("hash-zzz") is None
    assert [k.id for k in await store.list_keys()] == [a.id, b.id]

    assert await store.revoke_key(a.id)
    assert await store.key_by_hash("hash-a") is None
    assert not await store.revoke_key(a.id)  # already revoked
    assert await store.revoke_key("laptop")  # by name
    assert await store.key_by_hash("hash-b") is None
    assert not await store.revoke_key("nobody")
    listed = {k.id: k for k in await store.list_keys()}
    assert all(k.revoked_at is not None for k in listed.values())


async def test_token_hashes_are_unique(store: SqlRequestStore) -> None:
    await store.create_key("one", "same-hash")
    with pytest.raises(sa.exc.IntegrityError):
        await store.create_key("two", "same-hash")


async def test_webhook_secret(store: SqlRequestStore) -> None:
    k = await store.create_key("hooks", "h")
    await store.set_webhook_secret(k.id, "whsec_123")
    found = await store.key_by_hash("h")
    assert found is not None and found.webhook_secret == "whsec_123"


def _file(owner: str, expires_in: timedelta) -> UploadedFile:
    now = datetime.now(UTC)
    return UploadedFile(
        id=new_file_id(),
        owner=owner,
        blob_key=f"uploads/{owner}/x.png",
        content_type="image/png",
        size=12345,
        created_at=now,
        expires_at=now + expires_in,
    )


async def test_files_owner_isolation_expiry_and_delete(store: SqlRequestStore) -> None:
    live = _file("key_a", timedelta(hours=1))
    old = _file("key_a", timedelta(hours=-1))
    await store.add_file(live)
    await store.add_file(old)

    assert await store.get_file(live.id, "key_a") == live
    assert await store.get_file(live.id, "key_b") is None
    assert await store.get_file("file_missing", "key_a") is None

    now = datetime.now(UTC)
    assert [f.id for f in await store.expired_files(now)] == [old.id]
    assert len(await store.expired_files(now + timedelta(hours=2))) == 2
    assert len(await store.expired_files(now + timedelta(hours=2), limit=1)) == 1

    await store.delete_file(old.id)
    assert await store.get_file(old.id, "key_a") is None
    assert await store.expired_files(now) == []


async def test_found_keys_are_remembered_for_a_while(
    open_store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another replica's revocation is seen once the remembered key is KEY_CACHE_S old; this
    store's own revocation at once."""
    import opendream.jobs.store as store_module

    api, admin = await open_store(), await open_store()
    key = await admin.create_key("ci", "hash-c")
    monkeypatch.setattr(store_module, "KEY_CACHE_S", 3600.0)
    assert (await api.key_by_hash("hash-c")).id == key.id
    assert await admin.revoke_key(key.id)
    assert (await api.key_by_hash("hash-c")).id == key.id  # still remembered by `api`
    assert await admin.key_by_hash("hash-c") is None  # never remembered a revoked key

    other = await admin.create_key("laptop", "hash-d")
    assert (await api.key_by_hash("hash-d")).id == other.id
    assert await api.revoke_key("laptop")
    assert await api.key_by_hash("hash-d") is None  # forgotten by the store that revoked it

    monkeypatch.setattr(store_module, "KEY_CACHE_S", 0.0)
    fresh = await admin.create_key("fresh", "hash-e")
    assert (await api.key_by_hash("hash-e")).id == fresh.id
    assert await admin.revoke_key(fresh.id)
    assert await api.key_by_hash("hash-e") is None  # expired at once: asks the database
