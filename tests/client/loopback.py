"""A tiny scripted HTTP server on loopback: each route answers from a list of canned responses in
order (the last one repeats), and every hit is recorded. Used where the real service cannot be
made to misbehave on cue (a 503 then a 200, a dropped connection)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DROP = "drop"  # close the connection without answering


@dataclass
class Canned:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None


@dataclass
class Hit:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class Script:
    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], list[Canned | str]] = {}
        self.hits: list[Hit] = []
        self.lock = threading.Lock()

    def on(self, method: str, path: str, *responses: Canned | str) -> None:
        self.routes[(method, path)] = list(responses)

    def next(self, method: str, path: str) -> Canned | str:
        with self.lock:
            answers = self.routes.get((method, path))
            if not answers:
                return Canned(
                    404, {"error_code": 404001, "error_message": "no such route", "detail": None}
                )
            return answers.pop(0) if len(answers) > 1 else answers[0]

    def count(self, method: str, path: str) -> int:
        return sum(1 for h in self.hits if (h.method, h.path) == (method, path))


def _handler(script: Script) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            path = self.path.split("?", 1)[0]
            with script.lock:
                script.hits.append(Hit(self.command, path, dict(self.headers.items()), body))
            answer = script.next(self.command, path)
            if answer == DROP:
                self.close_connection = True
                return
            assert isinstance(answer, Canned)
            payload = answer.raw if answer.raw is not None else json.dumps(answer.body).encode()
            self.send_response(answer.status)
            content_type = (
                "application/octet-stream" if answer.raw is not None else "application/json"
            )
            headers = {"Content-Type": content_type, **answer.headers}
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = _serve
        do_POST = _serve

    return Handler


@contextmanager
def loopback_server() -> Iterator[tuple[str, Script]]:
    script = Script()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(script))
    server.daemon_threads = True
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", script
    finally:
        server.shutdown()
        server.server_close()
