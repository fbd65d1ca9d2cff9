"""The webhook of a submit: `?webhook=<url>&webhook_events=started,progress,completed`.

The URL obeys the rules of image URLs (https, or http where the operator allows it; a public
address unless allow-listed), checked at submit so a bad target is a 422 naming `webhook`, and
again at every delivery (names can be re-pointed). `completed` is always delivered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.datastructures import QueryParams

from opendream.api.context import AppContext
from opendream.api.submit_inputs import fetch_policy
from opendream.inputs.errors import FetchError
from opendream.webhooks.send import checked_addresses
from opendream.webhooks.state import EVENTS, new_state

MAX_URL_CHARS = 2048


@dataclass(frozen=True)
class WebhookRequest:
    url: str
    events: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {"url": self.url, "events": self.events}


def _problem(field: str, msg: str, type: str, value: Any) -> dict[str, Any]:
    return {"loc": ["query", field], "msg": msg, "type": type, "input": value}


def parse_webhook(query: QueryParams) -> tuple[WebhookRequest | None, list[dict[str, Any]]]:
    """(the webhook asked for, or None; problems). Checks the form only; see `check_webhook`."""
    url = query.get("webhook")
    raw_events = [part for value in query.getlist("webhook_events") for part in value.split(",")]
    events = [e.strip() for e in raw_events if e.strip()]
    problems: list[dict[str, Any]] = []
    unknown = [e for e in events if e not in EVENTS]
    if unknown:
        problems.append(
            _problem(
                "webhook_events",
                f"Unknown webhook event(s) {', '.join(map(repr, unknown))}; choose from "
                f"{', '.join(EVENTS)}.",
                "webhook_events",
                ",".join(events),
            )
        )
    if url is None or not url.strip():
        if events:
            problems.append(
                _problem("webhook_events", "webhook_events needs a webhook URL.", "missing", None)
            )
        return None, problems
    url = url.strip()
    if len(url) > MAX_URL_CHARS:
        problems.append(
            _problem(
                "webhook",
                f"The webhook URL is longer than {MAX_URL_CHARS} characters.",
                "webhook_url",
                url[:100] + "…",
            )
        )
        return None, problems
    return WebhookRequest(url=url, events=list(dict.fromkeys(events))), problems


async def check_webhook(ctx: AppContext, webhook: WebhookRequest) -> list[dict[str, Any]]:
    """The SSRF rules at submit: the URL parses and every address it resolves to is allowed."""
    try:
        await checked_addresses(webhook.url, fetch_policy(ctx))
    except FetchError as exc:
        return [_problem("webhook", f"Webhook URL refused: {exc.msg}", exc.type, webhook.url)]
    return []


def webhook_extra(webhook: WebhookRequest) -> dict[str, Any]:
    """What the row keeps: the delivery state, armed at insert."""
    return {"webhook": new_state(webhook.url, webhook.events)}
