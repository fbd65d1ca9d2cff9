import json
import math
import re
import threading
from datetime import UTC, datetime
from typing import Any

import pytest

from opendream.observability.metrics import (
    Histogram,
    LatencyHistograms,
    render_metrics,
    snapshots_from_info,
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


def _beating(worker_id: str, latency: LatencyHistograms, last_seen: float) -> dict[str, Any]:
    """A `live_workers` row as the database hands it back: the info went through JSON."""
    info = json.loads(json.dumps({"busy": None, "latency": latency.to_info()}))
    return {"worker_id": worker_id, "last_seen": last_seen, "info": info}


def test_histograms_render_per_worker_from_heartbeat_info() -> None:
    a, b = LatencyHistograms(), LatencyHistograms()
    a.queue_wait.observe("m/seq", 0.2)
    a.queue_wait.observe("m/seq", 12)
    a.inference.observe("m/seq", 3)
    a.end_to_end.observe("m/edit", 4000)  # above the last bucket
    b.inference.observe("m/seq", 0.01)
    now = 1_700_000_000.0
    rows = [_beating("gpu-b", b, now - 1), _beating("gpu-a", a, now - 2)]
    s = parse_exposition(render_metrics({}, rows, now=now))

    qw = "opendream_queue_wait_seconds"
    assert get(s, f"{qw}_count", model="m/seq", worker="gpu-a") == 2
    assert get(s, f"{qw}_bucket", model="m/seq", worker="gpu-a", le="0.25") == 1
    assert get(s, f"{qw}_bucket", model="m/seq", worker="gpu-a", le="20.0") == 2
    assert get(s, f"{qw}_sum", model="m/seq", worker="gpu-a") == pytest.approx(12.2)
    inf = "opendream_inference_seconds"
    assert get(s, f"{inf}_bucket", model="m/seq", worker="gpu-a", le="2.5") == 0
    assert get(s, f"{inf}_bucket", model="m/seq", worker="gpu-a", le="5.0") == 1
    assert get(s, f"{inf}_bucket", model="m/seq", worker="gpu-b", le="0.05") == 1
    assert get(s, f"{inf}_count", model="m/seq", worker="gpu-b") == 1
    e2e = "opendream_end_to_end_seconds"
    assert get(s, f"{e2e}_bucket", model="m/edit", worker="gpu-a", le="3600.0") == 0
    assert get(s, f"{e2e}_bucket", model="m/edit", worker="gpu-a", le="+Inf") == 1
    assert get(s, f"{e2e}_sum", model="m/edit", worker="gpu-a") == 4000
    # nothing a worker did not observe, and no series without a worker label
    assert (f"{qw}_count", frozenset({("model", "m/seq"), ("worker", "gpu-b")})) not in s
    assert not [k for k in s if k[0].startswith("opendream_") and k[0].endswith("_count")
                and "worker" not in dict(k[1])]  # fmt: skip


def test_the_render_has_no_process_state_of_its_own() -> None:
    """The embedded worker shares the API's process; its histograms reach /metrics only through
    its heartbeat row, so they are counted once."""
    embedded = LatencyHistograms()
    embedded.inference.observe("m/seq", 1.5)
    text = render_metrics({}, [])
    assert "opendream_inference_seconds_count" not in text
    assert "# TYPE opendream_inference_seconds histogram" in text  # declared even when empty
    s = parse_exposition(render_metrics({}, [_beating("host:cpu:embedded", embedded, 1.0)], now=2))
    assert (
        get(s, "opendream_inference_seconds_count", model="m/seq", worker="host:cpu:embedded") == 1
    )


def test_extra_snapshots_render_beside_the_workers_without_a_worker_label() -> None:
    local, remote = LatencyHistograms(), LatencyHistograms()
    local.inference.observe("m/seq", 1)
    remote.inference.observe("m/seq", 2)
    rows = [_beating("gpu-a", remote, 1.0)]
    s = parse_exposition(render_metrics({}, rows, local.snapshots(), now=2))  # one TYPE each
    assert get(s, "opendream_inference_seconds_sum", model="m/seq") == 1
    assert get(s, "opendream_inference_seconds_sum", model="m/seq", worker="gpu-a") == 2


def test_the_heartbeat_form_is_compact_and_round_trips() -> None:
    h = LatencyHistograms()
    assert h.to_info() == {}  # an idle worker's beat carries no histogram at all
    h.inference.observe("m/seq", 0.07)
    h.inference.observe("m/seq", 0.3)
    info = h.to_info()
    assert list(info) == ["opendream_inference_seconds"]
    assert info["opendream_inference_seconds"]["by_model"] == {
        "m/seq": {"n": [0, 1, 0, 1], "sum": pytest.approx(0.37)}  # trailing zeros dropped
    }
    (back,) = snapshots_from_info(json.loads(json.dumps(info)))
    (original,) = [x for x in h.snapshots() if x.name == "opendream_inference_seconds"]
    assert back == original
    for _ in range(1000):
        for model in ("a/1", "b/2", "c/3"):
            h.queue_wait.observe(model, 7)
            h.inference.observe(model, 3600 * 2)
            h.end_to_end.observe(model, 7)
    assert len(json.dumps(h.to_info())) < 1500  # size grows with models, not observations


@pytest.mark.parametrize(
    "latency",
    [
        None,
        "text",
        [1, 2],
        {"opendream_inference_seconds": "x"},
        {"opendream_inference_seconds": {"le": [], "by_model": {"m": {"n": [1], "sum": 1}}}},
        {"opendream_inference_seconds": {"le": [2, 1], "by_model": {"m": {"n": [1], "sum": 1}}}},
        {"opendream_inference_seconds": {"le": [1, "x"], "by_model": {"m": {"n": [1], "sum": 1}}}},
        {"opendream_inference_seconds": {"le": [1], "by_model": {"m": {"n": [1, 2, 3], "sum": 1}}}},
        {"opendream_inference_seconds": {"le": [1], "by_model": {"m": {"n": [-1], "sum": 1}}}},
        {"opendream_inference_seconds": {"le": [1], "by_model": {"m": {"n": [1.5], "sum": 1}}}},
        {"opendream_inference_seconds": {"le": [1], "by_model": {"m": {"n": [1], "sum": "1"}}}},
        {"opendream_inference_seconds": {"le": [1], "by_model": {"m": [1]}}},
        {"opendream_inference_seconds": {"le": [1], "by_model": []}},
        {'bad name{x="y"}': {"le": [1], "by_model": {"m": {"n": [1], "sum": 1}}}},
    ],
)
def test_a_malformed_beat_is_skipped_not_an_error(latency: Any) -> None:
    good = LatencyHistograms()
    good.inference.observe("m", 1)
    rows = [
        {"worker_id": "odd", "last_seen": 1.0, "info": {"latency": latency}},
        _beating("good", good, 1.0),
    ]
    s = parse_exposition(render_metrics({}, rows, now=2))
    assert get(s, "opendream_workers") == 2
    assert get(s, "opendream_inference_seconds_count", model="m", worker="good") == 1
    assert not [k for k in s if dict(k[1]).get("worker") == "odd" and k[0].endswith("_count")]


def test_observing_from_many_threads_loses_nothing() -> None:
    h = LatencyHistograms()

    def work() -> None:
        for i in range(2000):
            h.inference.observe("m", i % 7)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    (snap,) = [x for x in h.snapshots() if x.name == "opendream_inference_seconds"]
    assert snap.series["m"].count == 8000
    assert snap.series["m"].total == pytest.approx(4 * sum(i % 7 for i in range(2000)))


def test_empty_render_is_still_valid() -> None:
    s = parse_exposition(render_metrics({}, [], []))
    assert get(s, "opendream_workers") == 0
