"""The API capacity baseline: a bare ASGI endpoint served by uvicorn exactly the way
`opendream serve` serves its app (same uvicorn config, same event loop).

`python -m bench.bare_app --port N`. GET answers a status-sized JSON body; POST reads and parses
the JSON body, then answers a submit-sized one. No framework, no auth, no database: the least an
HTTP endpoint in this process model costs."""

from __future__ import annotations

import argparse
import json
import uuid
from typing import Any

STATUS_BODY = json.dumps(
    {
        "request_id": "00000000-0000-0000-0000-000000000000",
        "status": "in_queue",
        "queue_position": 3,
        "status_url": "http://127.0.0.1:8000/v1/requests/00000000-0000-0000-0000-000000000000/status",
        "result_url": "http://127.0.0.1:8000/v1/requests/00000000-0000-0000-0000-000000000000/result",
    }
).encode()


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    if scope["method"] == "POST":
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        json.loads(body or b"{}")
        rid = str(uuid.uuid4())
        base = f"http://127.0.0.1:8000/v1/requests/{rid}"
        payload = json.dumps(
            {
                "request_id": rid,
                "status_url": f"{base}/status",
                "result_url": f"{base}/result",
                "cancel_url": f"{base}/cancel",
            }
        ).encode()
    else:
        payload = STATUS_BODY
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


def main() -> None:
    import uvicorn

    from opendream.cli import run_on_fastest_loop

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=args.port, log_config=None, access_log=False, lifespan="off"
    )
    run_on_fastest_loop(uvicorn.Server(config).serve())


if __name__ == "__main__":
    main()
