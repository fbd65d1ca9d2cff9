import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from opendream.storage.base import BlobNotFound, BlobStore
from opendream.storage.factory import open_blob_store
from opendream.storage.signing import verify_blob_signature

SECRET = b"local-secret"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "blobs"


@pytest.fixture
def store(root: Path) -> BlobStore:
    return open_blob_store(f"file://{root}", public_base_url="http://127.0.0.1:9/", secret=SECRET)


async def test_roundtrip_writes_a_real_file(store: BlobStore, root: Path) -> None:
    await store.put("requests/r1/outputs/0.png", b"\x89PNG data", "image/png")
    assert await store.get("requests/r1/outputs/0.png") == b"\x89PNG data"
    assert (root / "requests/r1/outputs/0.png").read_bytes() == b"\x89PNG data"


async def test_put_overwrites(store: BlobStore) -> None:
    await store.put("requests/r1/outputs/0.png", b"first attempt", "image/png")
    await store.put("requests/r1/outputs/0.png", b"retry", "image/png")
    assert await store.get("requests/r1/outputs/0.png") == b"retry"


async def test_missing_blob_raises_blob_not_found(store: BlobStore) -> None:
    with pytest.raises(BlobNotFound):
        await store.get("requests/nope/outputs/0.png")
    with pytest.raises(KeyError):  # BlobNotFound is a KeyError, as the contract says
        await store.get("nope")


async def test_exists(store: BlobStore) -> None:
    assert not await store.exists("uploads/u1")
    await store.put("uploads/u1", b"x", "image/jpeg")
    assert await store.exists("uploads/u1")
    assert not await store.exists("uploads")  # a directory is not a blob


async def test_delete_prefix_counts_and_respects_segment_boundaries(
    store: BlobStore, root: Path
) -> None:
    for i in range(3):
        await store.put(f"requests/ab/outputs/{i}.png", b"o", "image/png")
    await store.put("requests/ab/inputs/0.jpeg", b"i", "image/jpeg")
    await store.put("requests/abc/outputs/0.png", b"keep", "image/png")
    assert await store.delete_prefix("requests/ab") == 4
    assert not await store.exists("requests/ab/outputs/0.png")
    assert await store.get("requests/abc/outputs/0.png") == b"keep"
    assert not (root / "requests/ab").exists()  # empty directories are cleaned up
    assert await store.delete_prefix("requests/ab/") == 0


async def test_delete_prefix_also_frees_what_a_killed_writer_left(
    store: BlobStore, root: Path
) -> None:
    # obstore writes `<name>#<n>` and renames it; a worker killed in between leaves it behind
    await store.put("requests/r1/outputs/0.png", b"done", "image/png")
    (root / "requests/r1/outputs/1.png#3").write_bytes(b"half written")
    (root / "requests/r1/inputs").mkdir()
    (root / "requests/r1/inputs/0.png#12").write_bytes(b"half written")
    await store.put("requests/r2/outputs/0.png", b"a blob", "image/png")
    (root / "requests/r2/outputs/1.png#4").write_bytes(b"another request's")
    assert await store.delete_prefix("requests/r1") == 1  # staging files never were blobs
    assert not (root / "requests/r1").exists()
    assert (root / "requests/r2/outputs/1.png#4").exists()
    assert await store.get("requests/r2/outputs/0.png") == b"a blob"


async def test_delete_prefix_refuses_empty_or_escaping_prefix(store: BlobStore) -> None:
    for prefix in ("", "/", "../", "/etc"):
        with pytest.raises(ValueError):
            await store.delete_prefix(prefix)


@pytest.mark.parametrize("key", ["../escape.png", "/abs.png", "a/../../b", "a\\b", "a\x00b"])
async def test_escaping_keys_never_touch_the_disk(store: BlobStore, root: Path, key: str) -> None:
    before = set(root.parent.rglob("*"))
    with pytest.raises(ValueError):
        await store.put(key, b"evil", "image/png")
    with pytest.raises(ValueError):
        await store.get(key)
    with pytest.raises(ValueError):
        await store.exists(key)
    with pytest.raises(ValueError):
        store.url_for(key, 60)
    assert set(root.parent.rglob("*")) == before


def test_url_for_is_a_verifiable_api_url(store: BlobStore) -> None:
    key = "requests/r1/outputs/0.png"
    url = store.url_for(key, 3600)
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc) == ("http", "127.0.0.1:9")
    assert parts.path == "/v1/blobs/" + key
    q = parse_qs(parts.query)
    expires = int(q["expires"][0])
    now = time.time()
    assert now + 3000 < expires <= now + 3601
    assert verify_blob_signature(SECRET, key, q["expires"][0], q["sig"][0], now=now)
    assert not verify_blob_signature(SECRET, key, q["expires"][0], q["sig"][0], now=expires)
    with pytest.raises(ValueError):
        store.url_for(key, 0)


def test_factory_accepts_bare_paths_and_refuses_others(tmp_path: Path) -> None:
    kw = {"public_base_url": "http://h", "secret": SECRET}
    open_blob_store(str(tmp_path / "a"), **kw)
    assert (tmp_path / "a").is_dir()
    for bad in ("file://host/dir", "file:relative", "ftp://x/y", "relative/dir", "s3://"):
        with pytest.raises(ValueError):
            open_blob_store(bad, **kw)


async def test_memory_store_for_tests() -> None:
    store = open_blob_store("memory://", public_base_url="http://h", secret=SECRET)
    await store.put("a/b.png", b"m", "image/png")
    assert await store.get("a/b.png") == b"m"
    assert await store.delete_prefix("a") == 1
    assert not await store.exists("a/b.png")
