"""The API over a real PostgreSQL request table (the fleet's database): the protocol's main paths.
The rest of the suite runs on SQLite; the store's own conformance suite covers both in depth."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator

import httpx
import pytest

from opendream.jobs.testing import drop_database, fresh_postgres_url, postgres_problem

from .conftest import EDIT, SEQUENTIAL, data_uri, png_bytes
from .server import ApiServer

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    problem = asyncio.run(postgres_problem())
    if problem is not None:
        if os.environ.get("CI") or os.environ.get("OPENDREAM_REQUIRE_POSTGRES") == "1":
            pytest.fail(problem)
        pytest.skip(problem)
    url = asyncio.run(fresh_postgres_url())
    s = ApiServer(tmp_path_factory.mktemp("pg"), database_url=url).start()
    try:
        yield s
    finally:
        s.stop()
        asyncio.run(drop_database(url))


def test_lifecycle_on_postgres(pg_server: ApiServer):
    s = pg_server
    with s.client() as c:
        ids = [
            c.post(f"/v1/models/{SEQUENTIAL}", json={"text": f"n{i}"}).json()["request_id"]
            for i in range(3)
        ]
        positions = [c.get(f"/v1/requests/{i}/status").json()["queue_position"] for i in ids]
        assert positions == [0, 1, 2]

        row = s.call(s.store.claim("w", [SEQUENTIAL], 60))
        assert row is not None and row.id == ids[0]
        key = f"requests/{row.id}/outputs/0.png"
        data = png_bytes()
        s.call(s.blobs.put(key, data, "image/png"))
        assert s.call(s.store.complete(row.id, "w", [key], {"seed": 1}))
        result = c.get(f"/v1/requests/{ids[0]}/result").json()
        assert result["status"] == "succeeded"
        assert httpx.get(result["output"]["images"][0], trust_env=False).content == data

        assert c.post(f"/v1/requests/{ids[1]}/cancel").json()["outcome"] == "cancelled"
        assert c.get(f"/v1/requests/{ids[2]}/status").json()["queue_position"] == 0

        other, _ = s.create_key("other")
        with s.client(other) as o:
            assert o.get(f"/v1/requests/{ids[2]}/status").json()["error_code"] == 404001


def test_upload_and_edit_on_postgres(pg_server: ApiServer):
    s = pg_server
    with s.client() as c:
        uri = c.post("/v1/files", files={"file": ("a.png", png_bytes(), "image/png")}).json()["uri"]
        body = {"prompt": "p", "images": [uri, data_uri(png_bytes(30, 30))]}
        r = c.post(f"/v1/models/{EDIT}", json=body)
        assert r.status_code == 200, r.text
        row = s.call(s.store.get(r.json()["request_id"]))
        assert len(row.input_blobs) == 2
