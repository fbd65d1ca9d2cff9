"""The one exception the fetching code raises: a problem type and a sentence for the client."""

from __future__ import annotations


class FetchError(Exception):
    """A reference could not be fetched; `type` names the cause ("fetch_dns", "fetch_timeout",
    "fetch_refused_address", "fetch_http_status", ...), `msg` says it in words."""

    def __init__(self, type: str, msg: str) -> None:
        super().__init__(msg)
        self.type = type
        self.msg = msg
