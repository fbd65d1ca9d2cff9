import asyncio
import io
import json
import logging
from collections.abc import Iterator

import pytest

from opendream.observability.logging import (
    bind_request_id,
    configure_logging,
    request_id_var,
)


@pytest.fixture(autouse=True)
def restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def _lines(stream: io.StringIO) -> list[str]:
    return [line for line in stream.getvalue().splitlines() if line]


def test_json_lines_carry_request_id_and_extras() -> None:
    out = io.StringIO()
    configure_logging("INFO", "json", stream=out)
    log = logging.getLogger("opendream.test")
    with bind_request_id("req_123"):
        log.info("claimed %s", "it", extra={"model": "m/seq", "attempt": 2})
    log.info("idle")
    first, second = (json.loads(line) for line in _lines(out))
    assert first["msg"] == "claimed it"
    assert first["request_id"] == "req_123"
    assert first["model"] == "m/seq" and first["attempt"] == 2
    assert first["level"] == "INFO" and first["logger"] == "opendream.test"
    assert first["ts"].endswith("Z")
    assert second["request_id"] is None


def test_json_exceptions_and_odd_extras_still_serialise() -> None:
    out = io.StringIO()
    configure_logging("INFO", "json", stream=out)
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("x").exception("failed", extra={"path": object()})
    (entry,) = (json.loads(line) for line in _lines(out))
    assert "RuntimeError: boom" in entry["exc"]
    assert entry["path"].startswith("<object")


def test_env_selects_json_and_default_is_text(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENDREAM_LOG_FORMAT", "json")
    out = io.StringIO()
    configure_logging("INFO", stream=out)
    logging.getLogger("x").warning("hello")
    assert json.loads(_lines(out)[0])["msg"] == "hello"

    monkeypatch.delenv("OPENDREAM_LOG_FORMAT")
    out = io.StringIO()
    configure_logging("INFO", stream=out)
    with bind_request_id("req_9"):
        logging.getLogger("opendream.worker").warning("done", extra={"ms": 12, "note": "a b"})
    (line,) = _lines(out)
    assert ' WARNING opendream.worker [req=req_9] done ms=12 note="a b"' in line


def test_level_filters_and_reconfiguring_replaces_only_its_own_handler() -> None:
    other = logging.StreamHandler(io.StringIO())
    logging.getLogger().addHandler(other)
    first, second = io.StringIO(), io.StringIO()
    configure_logging("WARNING", "text", stream=first)
    configure_logging("INFO", "text", stream=second)
    log = logging.getLogger("x")
    log.debug("not shown")
    log.info("shown")
    assert first.getvalue() == ""
    (line,) = _lines(second)
    assert line.endswith(" INFO  x shown")
    assert other in logging.getLogger().handlers


def test_bad_format_or_level_is_refused() -> None:
    with pytest.raises(ValueError, match="log format"):
        configure_logging("INFO", "xml")
    with pytest.raises(ValueError, match="log level"):
        configure_logging("LOUD", "text")


def test_bind_nests_and_resets_even_on_error() -> None:
    assert request_id_var.get() is None
    with bind_request_id("outer"):
        with pytest.raises(KeyError), bind_request_id("inner"):
            assert request_id_var.get() == "inner"
            raise KeyError("x")
        assert request_id_var.get() == "outer"
    assert request_id_var.get() is None


async def test_concurrent_tasks_keep_their_own_request_ids() -> None:
    out = io.StringIO()
    configure_logging("INFO", "json", stream=out)
    log = logging.getLogger("opendream.worker")

    async def handle(request_id: str) -> None:
        with bind_request_id(request_id):
            for step in range(3):
                log.info("step", extra={"step": step, "expect": request_id})
                await asyncio.sleep(0)

    await asyncio.gather(handle("a"), handle("b"), handle("c"))
    entries = [json.loads(line) for line in _lines(out)]
    assert len(entries) == 9
    assert all(e["request_id"] == e["expect"] for e in entries)
    # they really interleaved, so the context, not ordering, kept them apart
    assert [e["request_id"] for e in entries[:3]] == ["a", "b", "c"]
