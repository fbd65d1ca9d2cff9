from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from opendream.inputs import FetchPolicy, ImageRule, rules_from_schema
from tests.inputs.servers import LOOPBACK, ImageServer, TLSFiles, make_tls

SCHEMAS = Path(__file__).resolve().parents[2] / "opendream" / "catalog" / "schemas"


def schema_rules(name: str) -> tuple[ImageRule, ...]:
    schema = json.loads((SCHEMAS / f"{name}.input.json").read_text())
    return rules_from_schema(schema["properties"]["images"]["validations"])


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TLSFiles:
    return make_tls(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def http_server() -> Iterator[ImageServer]:
    with ImageServer() as server:
        yield server


@pytest.fixture
def https_server(tls: TLSFiles) -> Iterator[ImageServer]:
    with ImageServer(tls=tls) as server:
        yield server


@pytest.fixture
def policy(tls: TLSFiles) -> FetchPolicy:
    """Loopback allowed, plain HTTP allowed, short timeouts: what a test server needs."""
    return FetchPolicy(
        allow_http=True,
        allow_list=LOOPBACK,
        ca_file=tls.ca_file,
        connect_timeout_s=2.0,
        read_timeout_s=2.0,
        deadline_s=5.0,
    )


@pytest.fixture
def edit_rules() -> tuple[ImageRule, ...]:
    return schema_rules("edit")


@pytest.fixture
def edit_sequential_rules() -> tuple[ImageRule, ...]:
    return schema_rules("edit-sequential")
