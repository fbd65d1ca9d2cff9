"""Identifiers. Request ids are what a client holds and what URLs contain: random (uuid4, 122
bits from the OS generator), so knowing one reveals nothing about any other."""

from __future__ import annotations

import secrets
import uuid


def new_request_id() -> str:
    return str(uuid.uuid4())


def new_key_id() -> str:
    return "key_" + secrets.token_urlsafe(12)


def new_file_id() -> str:
    return "file_" + secrets.token_urlsafe(16)
