from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from .conftest import EDIT, EDIT_SEQUENTIAL, SEQUENTIAL
from .server import ApiServer

SCHEMAS = Path(__file__).resolve().parents[2] / "opendream" / "catalog" / "schemas"
FILES = {
    SEQUENTIAL: "sequential.input.json",
    EDIT: "edit.input.json",
    EDIT_SEQUENTIAL: "edit-sequential.input.json",
}


def test_list_models(server: ApiServer):
    with server.client() as c:
        r = c.get("/v1/models")
    assert r.status_code == 200
    models = {m["model_id"]: m for m in r.json()["models"]}
    assert set(models) == set(FILES)
    assert models[EDIT]["output_key"] == "image"
    assert models[SEQUENTIAL]["output_key"] == "images"
    assert models[EDIT]["schema_url"] == f"{server.base_url}/v1/models/{EDIT}/schema"


@pytest.mark.parametrize("model_id", sorted(FILES))
def test_schema_is_the_published_json(server: ApiServer, model_id: str):
    with server.client() as c:
        r = c.get(f"/v1/models/{model_id}/schema")
    assert r.status_code == 200
    body = r.json()
    assert body["model_id"] == model_id
    assert body["input"] == json.loads((SCHEMAS / FILES[model_id]).read_text())
    assert body["output"] == json.loads((SCHEMAS / "output.json").read_text())["output"]
    # key order as published too (clients render forms in this order)
    published = json.loads((SCHEMAS / FILES[model_id]).read_text())
    assert list(body["input"]["properties"]) == list(published["properties"])


def test_schema_of_unknown_model_is_400001(server: ApiServer):
    with server.client() as c:
        r = c.get("/v1/models/acme/nope/schema")
    assert r.status_code == 400
    assert r.json()["error_code"] == 400001


@pytest.mark.parametrize("path", ["/v1/models", f"/v1/models/{EDIT}/schema"])
def test_models_need_a_token(server: ApiServer, path: str):
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        r = httpx.get(server.base_url + path, headers=headers, trust_env=False)
        assert r.status_code == 401
        assert r.json()["error_code"] == 400004


def test_openapi_documents_the_protocol(server: ApiServer):
    r = httpx.get(f"{server.base_url}/openapi.json", trust_env=False)
    assert r.status_code == 200
    spec = r.json()
    paths = spec["paths"]
    for path in (
        "/v1/models/{model_id}",
        "/v1/requests/{request_id}/status",
        "/v1/requests/{request_id}/result",
        "/v1/requests/{request_id}/cancel",
        "/v1/models",
        "/v1/models/{model_id}/schema",
        "/v1/files",
        "/healthz",
        "/readyz",
    ):
        assert path in paths, path
    schemas = spec["components"]["schemas"]
    for name in (
        "SubmitResponse",
        "StatusResponse",
        "ResultResponse",
        "CancelResponse",
        "ErrorBody",
    ):
        assert name in schemas
    assert paths["/v1/requests/{request_id}/cancel"]["post"]["responses"].get("202")
    assert "multipart/form-data" in paths["/v1/files"]["post"]["requestBody"]["content"]
