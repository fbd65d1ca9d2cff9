from __future__ import annotations

from datetime import UTC, datetime

import httpx

from .conftest import EDIT, png_bytes
from .server import ApiServer


def upload(c: httpx.Client, data: bytes, name: str = "a.png", ctype: str = "image/png"):
    return c.post("/v1/files", files={"file": (name, data, ctype)})


def test_upload_and_use_in_edit(server: ApiServer, client: httpx.Client):
    data = png_bytes(120, 90)
    r = upload(client, data)
    assert r.status_code == 200, r.text
    info = r.json()
    assert info["uri"] == "opendream://files/" + info["id"]
    assert info["size"] == len(data)
    assert info["content_type"] == "image/png"
    assert (info["width"], info["height"]) == (120, 90)
    expires = datetime.strptime(info["expires_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert expires > datetime.now(UTC)
    assert server.call(server.blobs.get(f"files/{info['id']}")) == data

    r = client.post(f"/v1/models/{EDIT}", json={"prompt": "p", "images": [info["uri"]]})
    assert r.status_code == 200, r.text
    row = server.call(server.store.get(r.json()["request_id"]))
    assert row.input["images"] == [info["uri"]]
    assert server.call(server.blobs.get(row.input_blobs[0])) == data
    client.post(f"/v1/requests/{row.id}/cancel")


def test_jpeg_upload(client: httpx.Client):
    r = upload(client, png_bytes(40, 40, fmt="JPEG"), "x.jpg", "image/jpeg")
    assert r.status_code == 200
    assert r.json()["content_type"] == "image/jpeg"


def test_uploads_are_owner_scoped(server: ApiServer, client: httpx.Client):
    uri = upload(client, png_bytes()).json()["uri"]
    other, _ = server.create_key("uploader-other")
    with server.client(other) as c:
        r = c.post(f"/v1/models/{EDIT}", json={"prompt": "p", "images": [uri]})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "images", 0]


def test_not_an_image_is_422(server: ApiServer, client: httpx.Client):
    r = upload(client, b"GIF89a" + b"\x00" * 100, "a.gif", "image/gif")
    assert r.status_code == 422
    body = r.json()
    assert body["error_code"] == 422001
    assert body["detail"][0]["loc"] == ["body", "file"]
    assert "jpeg or png" in body["detail"][0]["msg"]


def test_too_big_upload_is_422_with_the_published_message(client: httpx.Client):
    data = b"\x89PNG\r\n\x1a\n" + b"\x00" * (10 * 1024 * 1024)
    r = upload(client, data)
    assert r.status_code == 422
    assert r.json()["detail"][0]["msg"] == "File size must be less than 10 MB."


def test_missing_file_field_is_422(client: httpx.Client):
    r = client.post("/v1/files", files={"other": ("a.png", png_bytes(), "image/png")})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "file"]


def test_not_multipart_is_415(client: httpx.Client):
    r = client.post("/v1/files", json={"file": "x"})
    assert r.status_code == 415
    assert r.json()["error_code"] == 415001


def test_malformed_multipart_is_422(client: httpx.Client):
    r = client.post(
        "/v1/files",
        content=b'--zz\r\nContent-Disposition: form-data; name="file"\r\n\r\nabc',
        headers={"Content-Type": "multipart/form-data; boundary=zz"},
    )
    assert r.status_code in (400, 422)
    assert r.json()["error_code"] in (400002, 422001)
