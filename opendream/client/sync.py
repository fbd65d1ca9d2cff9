"""The blocking client."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx

from opendream.client import protocol
from opendream.client.errors import (
    OpendreamError,
    RequestTimeout,
    TransportError,
)
from opendream.client.retry import RetryPolicy, may_retry_status, parse_retry_after
from opendream.client.types import (
    CancelResponse,
    ModelSchema,
    RequestResult,
    RequestStatus,
    SubmitResponse,
    UploadedFile,
)

OnUpdate = Callable[[RequestStatus], None]


class Client:
    """`Client(base_url, token)`; both default to `OPENDREAM_URL` / `OPENDREAM_TOKEN`, and the
    URL to RunComfy's endpoint, which speaks the same protocol.

    `timeout` bounds each HTTP call; `run(timeout=…)` bounds the whole wait for a result."""

    def __init__(
        self,
        base_url: str | None = None,
        token: str | None = None,
        *,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        poll_interval: float = 0.25,
        max_poll_interval: float = 3.0,
        headers: Mapping[str, str] | None = None,
        http_client: httpx.Client | None = None,
    ) -> None:
        self.base_url = protocol.resolve_base_url(base_url)
        self.token = protocol.resolve_token(token)
        self.retry = retry or RetryPolicy()
        self.poll_interval = poll_interval
        self.max_poll_interval = max_poll_interval
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(timeout=timeout, trust_env=True)
        self._headers = {"User-Agent": protocol.USER_AGENT, **(headers or {})}
        # The pause between retries; tests record it instead of waiting.
        self._retry_sleep: Callable[[float], None] = time.sleep

    # lifecycle -------------------------------------------------------------------------------
    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # transport -------------------------------------------------------------------------------
    def _send(
        self,
        method: str,
        url: str,
        *,
        replay_safe: bool,
        auth: bool = True,
        stream: bool = False,
        **kwargs: Any,
    ) -> httpx.Response:
        """One call with retries. `replay_safe` says whether a 5xx or a broken connection may be
        retried (the server may already have acted on the first attempt)."""
        headers = {**self._headers, **kwargs.pop("headers", {})}
        if auth:
            headers.update(protocol.auth_headers(self.token))
        attempt = 0
        while True:
            attempt += 1
            last = attempt >= self.retry.max_attempts
            try:
                request = self._http.build_request(method, url, headers=headers, **kwargs)
                response = self._http.send(request, stream=stream)
            except httpx.TransportError as exc:
                # A failed connect never reached the server, so it is safe to retry any call.
                never_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
                if last or not (replay_safe or never_sent):
                    raise TransportError(f"{method} {url}: {type(exc).__name__}: {exc}") from exc
                self._retry_sleep(self.retry.delay(attempt - 1))
                continue
            if (
                response.status_code < 400
                or last
                or not may_retry_status(response.status_code, replay_safe=replay_safe)
            ):
                return response
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            response.close()
            self._retry_sleep(self.retry.delay(attempt - 1, retry_after))

    def _json(self, method: str, path: str, *, replay_safe: bool, **kwargs: Any) -> dict[str, Any]:
        response = self._send(method, self.base_url + path, replay_safe=replay_safe, **kwargs)
        return protocol.parse_response(response)

    # the protocol ----------------------------------------------------------------------------
    def submit(
        self, model: str, input: Mapping[str, Any], *, idempotency_key: str | None = None
    ) -> SubmitResponse:
        """Queues a request and returns its id and URLs at once. Retried after a server error
        or broken connection only when `idempotency_key` is given (the server then answers the
        same request id instead of running the work twice)."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        data = self._json(
            "POST",
            protocol.model_path(model),
            replay_safe=idempotency_key is not None,
            json=dict(input),
            headers=headers,
        )
        return SubmitResponse.from_json(data)

    def status(self, request_id: str) -> RequestStatus:
        data = self._json("GET", protocol.request_path(request_id, "status"), replay_safe=True)
        return RequestStatus.from_json(data, request_id)

    def result(self, request_id: str) -> RequestResult:
        data = self._json("GET", protocol.request_path(request_id, "result"), replay_safe=True)
        return RequestResult.from_json(data, request_id)

    def cancel(self, request_id: str) -> CancelResponse:
        """Cancelling twice is harmless, so a cancel is retried like a read."""
        data = self._json("POST", protocol.request_path(request_id, "cancel"), replay_safe=True)
        return CancelResponse.from_json(data, request_id)

    def models(self) -> list[dict[str, Any]]:
        data = self._json("GET", "/v1/models", replay_safe=True)
        models = data.get("models", data.get("data", []))
        return [m if isinstance(m, dict) else {"model_id": str(m)} for m in models]

    def schema(self, model: str) -> ModelSchema:
        data = self._json("GET", protocol.model_path(model) + "/schema", replay_safe=True)
        return ModelSchema.from_json(data, model)

    def history(self, limit: int = 20) -> list[dict[str, Any]]:
        """The token's recent requests, newest first (opendream only)."""
        data = self._json("GET", "/v1/requests", replay_safe=True, params={"limit": limit})
        return list(data.get("requests", []))

    # conveniences ----------------------------------------------------------------------------
    def wait(
        self,
        request_id: str,
        *,
        timeout: float | None = None,
        on_update: OnUpdate | None = None,
        cancel_on_timeout: bool = False,
    ) -> RequestResult:
        """Polls until the request is finished and returns its result; raises `RequestFailed`,
        `RequestCancelled`, or `RequestTimeout` (which carries the request id)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        intervals = protocol.poll_intervals(self.poll_interval, self.max_poll_interval)
        while True:
            status = self.status(request_id)
            if on_update is not None:
                on_update(status)
            if status.done:
                result = self.result(request_id)
                if result.done:
                    return protocol.finished_or_raise(result)
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                assert timeout is not None
                raise self._timed_out(request_id, timeout, cancel_on_timeout)
            pause = next(intervals)
            time.sleep(pause if remaining is None else min(pause, remaining))

    def _timed_out(self, request_id: str, timeout: float, cancel: bool) -> RequestTimeout:
        cancelled = False
        if cancel:
            try:
                cancelled = self.cancel(request_id).cancelled
            except OpendreamError:
                cancelled = False
        return RequestTimeout(
            protocol.timeout_message(request_id, timeout, cancelled),
            request_id=request_id,
            cancelled=cancelled,
        )

    def run(
        self,
        model: str,
        input: Mapping[str, Any],
        *,
        timeout: float | None = 600.0,
        on_update: OnUpdate | None = None,
        cancel_on_timeout: bool = False,
        idempotency_key: str | None = None,
    ) -> RequestResult:
        """Submits and waits. `timeout` (seconds, None for no limit) covers the wait; when it
        passes, `RequestTimeout` carries the request id and, with `cancel_on_timeout`, the
        request is cancelled first (effective only while it is still queued)."""
        submitted = self.submit(model, input, idempotency_key=idempotency_key)
        return self.wait(
            submitted.request_id,
            timeout=timeout,
            on_update=on_update,
            cancel_on_timeout=cancel_on_timeout,
        )

    def upload(self, path: str | Path) -> str:
        """Uploads a local image and returns a URI usable as an `images` item."""
        return self.upload_file(path).uri

    def upload_file(self, path: str | Path) -> UploadedFile:
        # Retrying an upload at worst leaves an unused copy behind, which expires on its own.
        file_path = Path(path)
        content = file_path.read_bytes()
        files = {"file": (file_path.name, content, protocol.upload_content_type(file_path))}
        return UploadedFile.from_json(
            self._json("POST", "/v1/files", replay_safe=True, files=files)
        )

    def download(self, result: RequestResult | str, dir: str | Path = ".") -> list[Path]:
        """Saves every output file of a finished request into `dir` as `<request_id>_<n>.<ext>`
        and returns the paths in output order."""
        if isinstance(result, str):
            result = self.result(result)
        urls = protocol.output_urls_or_raise(result)
        target = Path(dir)
        target.mkdir(parents=True, exist_ok=True)
        paths: list[Path] = []
        for index, url in enumerate(urls):
            auth = protocol.same_origin(url, self.base_url)
            response = self._send("GET", url, replay_safe=True, auth=auth, stream=True)
            try:
                if response.status_code >= 400:
                    response.read()
                    protocol.parse_response(response)
                name = protocol.output_filename(
                    result.request_id, index, url, response.headers.get("content-type")
                )
                path = target / name
                partial = path.with_name(path.name + ".part")
                with partial.open("wb") as fh:
                    for chunk in response.iter_bytes():
                        fh.write(chunk)
                partial.replace(path)
            except httpx.TransportError as exc:
                raise TransportError(f"downloading {url}: {exc}") from exc
            finally:
                response.close()
            paths.append(path)
        return paths
