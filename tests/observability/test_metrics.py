import math
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from opendream.observability import metrics
from opendream.observability.metrics import (
    Histogram,
    histogram_snapshots,
    observe_end_to_end,
    observe_inference,
    observe_queue_wait,
    render_metrics,
)

_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
_SAMPLE = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)")

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse_exposition(text: str) -> Samples:
    """A strict reader of the text format: every sample belongs to a family declared by # TYPE
    before it, label values unescape correctly, values are floats."""
    assert text.endswith("\n")
    types: dict[str, str] = {}
    samples: Samples = {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert kind in ("gauge", "counter", "histogram")
            assert name not in types, f"family {name} declared twice"
            types[name] = kind
            continue
        match = _SAMPLE.fullmatch(line)
        assert match, f"bad sample line {line!r}"
        name, label_text, value = match.groups()
        family = re.sub(r"_(bucket|sum|count)$", "", name) if name not in types else name
        assert family in types, f"{name} has no # TYPE"
        labels: list[tuple[str, str]] = []
        if label_text:
            consumed = ",".join(m.group(0) for m in _LABEL.finditer(label_text))
            assert consumed == label_text, f"bad labels {label_text!r}"
            for m in _LABEL.finditer(label_text):
                raw = m.group(2)
                unescaped = re.sub(r"\\(.)", lambda e: {"n": "\n"}.get(e[1], e[1]), raw)
                labels.append((m.group(1), unescaped))
        key = (name, frozenset(labels))
        assert key not in samples, f"duplicate sample {line!r}"
        samples[key] = float(value)
    return samples


def get(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


@pytest.fixture(autouse=True)
def fresh_histograms() -> Iterator[None]:
    for h in metrics.HISTOGRAMS:
        h.clear()
    yield
    for h in metrics.HISTOGRAMS:
        h.clear()


def test_queue_depth_and_status_counts_come_from_the_snapshot() -> None:
    counts = {("m/seq", "in_queue"): 4, ("m/seq", "succeeded"): 9, ("m/edit", "failed"): 1}
    s = parse_exposition(render_metrics(counts, [], [], models=["m/idle"]))
    assert get(s, "opendream_queue_depth", model="m/seq") == 4
    assert get(s, "opendream_queue_depth", model="m/edit") == 0
    assert get(s, "opendream_queue_depth", model="m/idle") == 0
    assert get(s, "opendream_requests", model="m/seq", status="succeeded") == 9
    assert get(s, "opendream_requests", model="m/edit", status="failed") == 1
    assert get(s, "opendream_requests", model="m/idle", status="in_progress") == 0


def test_label_values_are_escaped() -> None:
    model = 'we"ird\\mod\nel'
    s = parse_exposition(render_metrics({(model, "in_queue"): 2}, [], []))
    assert get(s, "opendream_queue_depth", model=model) == 2


def test_worker_heartbeats_age_and_busy() -> None:
    now = 1_700_000_100.0
    workers = [
        {"id": "gpu-0", "last_seen": datetime.fromtimestamp(now - 4, UTC), "info": {"busy": "r1"}},
        {"worker_id": "gpu-1", "last_seen": now - 30.5, "busy": None},
        # naive datetimes from a driver are UTC
        {"id": "gpu-2", "last_seen": datetime.fromtimestamp(now - 1, UTC).replace(tzinfo=None)},
        {"last_seen": now},  # no id: skipped, not a crash
    ]
    s = parse_exposition(render_metrics({}, workers, [], now=now))
    assert get(s, "opendream_workers") == 3
    assert get(s, "opendream_worker_heartbeat_age_seconds", worker="gpu-0") == pytest.approx(4)
    assert get(s, "opendream_worker_heartbeat_age_seconds", worker="gpu-1") == pytest.approx(30.5)
    assert get(s, "opendream_worker_heartbeat_age_seconds", worker="gpu-2") == pytest.approx(1)
    assert get(s, "opendream_worker_last_seen_timestamp_seconds", worker="gpu-1") == now - 30.5
    assert get(s, "opendream_worker_busy", worker="gpu-0") == 1
    assert get(s, "opendream_worker_busy", worker="gpu-1") == 0


def test_histogram_buckets_are_cumulative_with_inclusive_bounds() -> None:
    h = Histogram("t_seconds", "test", buckets=(1.0, 5.0))
    for value in (0.5, 1.0, 3.0, 5.0, 9.0, -2.0, math.nan, math.inf):
        h.observe("m", value)
    s = parse_exposition(render_metrics({}, [], [h.snapshot()]))
    assert get(s, "t_seconds_bucket", model="m", le="1.0") == 3  # 0.5, 1.0, and -2 as 0
    assert get(s, "t_seconds_bucket", model="m", le="5.0") == 5
    assert get(s, "t_seconds_bucket", model="m", le="+Inf") == 6  # nan and inf are dropped
    assert get(s, "t_seconds_count", model="m") == 6
    assert get(s, "t_seconds_sum", model="m") == pytest.approx(18.5)


def test_histograms_need_increasing_buckets() -> None:
    for bad in ((), (1.0, 1.0), (5.0, 1.0)):
        with pytest.raises(ValueError):
            Histogram("x", "x", buckets=bad)


def test_worker_observations_show_up_in_this_process_render() -> None:
    observe_queue_wait("m/seq", 0.2)
    observe_queue_wait("m/seq", 12)
    observe_inference("m/seq", 3)
    observe_end_to_end("m/edit", 40)
    s = parse_exposition(render_metrics({}, []))  # histograms=None: this process's own
    assert get(s, "opendream_queue_wait_seconds_count", model="m/seq") == 2
    assert get(s, "opendream_queue_wait_seconds_bucket", model="m/seq", le="0.25") == 1
    assert get(s, "opendream_queue_wait_seconds_sum", model="m/seq") == pytest.approx(12.2)
    assert get(s, "opendream_inference_seconds_bucket", model="m/seq", le="2.5") == 0
    assert get(s, "opendream_inference_seconds_bucket", model="m/seq", le="5.0") == 1
    assert get(s, "opendream_end_to_end_seconds_count", model="m/edit") == 1
    assert ("opendream_end_to_end_seconds_count", frozenset({("model", "m/seq")})) not in s


def test_observing_from_many_threads_loses_nothing() -> None:
    def work() -> None:
        for i in range(2000):
            observe_inference("m", i % 7)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    (snap,) = [x for x in histogram_snapshots() if x.name == "opendream_inference_seconds"]
    assert snap.series["m"].count == 8000
    assert snap.series["m"].total == pytest.approx(4 * sum(i % 7 for i in range(2000)))


def test_empty_render_is_still_valid() -> None:
    s = parse_exposition(render_metrics({}, [], []))
    assert get(s, "opendream_workers") == 0
