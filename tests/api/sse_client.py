"""Reading server-sent events in tests, one event at a time as they arrive."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass
class Event:
    name: str | None
    id: str | None
    data: str

    @property
    def json(self) -> Any:
        return json.loads(self.data)


def events(response: httpx.Response) -> Iterator[Event]:
    name: str | None = None
    event_id: str | None = None
    data: list[str] = []
    for line in response.iter_lines():
        if line == "":
            if data:
                yield Event(name, event_id, "\n".join(data))
            name, event_id, data = None, None, []
        elif line.startswith(":"):
            continue  # keep-alive comment
        else:
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                name = value
            elif field == "id":
                event_id = value
            elif field == "data":
                data.append(value)
    if data:
        yield Event(name, event_id, "\n".join(data))


def key(event_id: str | None) -> tuple[int, ...]:
    assert event_id is not None
    return tuple(int(p) for p in event_id.split("."))
