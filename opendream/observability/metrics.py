"""Prometheus text exposition (format 0.0.4) for /metrics, without a client library.

What comes from where:
- Request counts and queue depth come from a database snapshot (`RequestStore.counts_by_status`)
  the API takes when scraped, so every API replica reports the same fleet-wide numbers.
- Worker heartbeats come from the workers table (`RequestStore.live_workers`), also fleet-wide.
- Latency histograms are per process: each process exposes what *it* observed. In the embedded
  default the worker runs inside the API process, so /metrics shows everything; in a fleet the
  API replicas observe nothing and each worker's observations stay in that worker process (sum
  them across instances in Prometheus if they are exported, or read queue/inference times from
  each result's metadata). That is a deliberate trade: no shared metrics store to run.

Histogram observation is thread-safe; the worker may call `observe_*` from any thread.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

STATUSES: tuple[str, ...] = ("in_queue", "in_progress", "succeeded", "failed", "cancelled")

# seconds; spans a fast tiny-model run on CPU up to an hour-long queue on a busy fleet
DEFAULT_BUCKETS: tuple[float, ...] = (
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0,
    3600.0,
)  # fmt: skip


@dataclass(frozen=True)
class HistogramSeries:
    bucket_counts: tuple[int, ...]  # per bucket, not cumulative; len == len(buckets)
    overflow: int  # observations above the last bucket
    total: float
    count: int


@dataclass(frozen=True)
class HistogramSnapshot:
    name: str
    help: str
    buckets: tuple[float, ...]
    series: dict[str, HistogramSeries]  # by model id


class Histogram:
    """A histogram with one label, `model`."""

    def __init__(self, name: str, help: str, buckets: Sequence[float] = DEFAULT_BUCKETS) -> None:
        if list(buckets) != sorted(set(buckets)) or not buckets:
            raise ValueError("histogram buckets must be strictly increasing and non-empty")
        self.name = name
        self.help = help
        self.buckets = tuple(float(b) for b in buckets)
        self._lock = threading.Lock()
        self._counts: dict[str, list[int]] = {}
        self._sums: dict[str, float] = {}

    def observe(self, model: str, seconds: float) -> None:
        if math.isnan(seconds) or math.isinf(seconds):
            return
        # clocks of different hosts can disagree by a little; a negative wait means "none"
        seconds = max(0.0, float(seconds))
        index = _bucket_index(self.buckets, seconds)
        with self._lock:
            counts = self._counts.setdefault(model, [0] * (len(self.buckets) + 1))
            counts[index] += 1
            self._sums[model] = self._sums.get(model, 0.0) + seconds

    def snapshot(self) -> HistogramSnapshot:
        with self._lock:
            series = {
                model: HistogramSeries(
                    bucket_counts=tuple(counts[:-1]),
                    overflow=counts[-1],
                    total=self._sums[model],
                    count=sum(counts),
                )
                for model, counts in self._counts.items()
            }
        return HistogramSnapshot(self.name, self.help, self.buckets, series)

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()
            self._sums.clear()


def _bucket_index(buckets: tuple[float, ...], value: float) -> int:
    for i, bound in enumerate(buckets):
        if value <= bound:
            return i
    return len(buckets)


QUEUE_WAIT = Histogram(
    "opendream_queue_wait_seconds", "Time from submit to the worker starting it (this process)."
)
INFERENCE = Histogram(
    "opendream_inference_seconds", "Time the engine spent generating a request (this process)."
)
END_TO_END = Histogram(
    "opendream_end_to_end_seconds", "Time from submit to the request finishing (this process)."
)
HISTOGRAMS: tuple[Histogram, ...] = (QUEUE_WAIT, INFERENCE, END_TO_END)


def observe_queue_wait(model: str, seconds: float) -> None:
    QUEUE_WAIT.observe(model, seconds)


def observe_inference(model: str, seconds: float) -> None:
    INFERENCE.observe(model, seconds)


def observe_end_to_end(model: str, seconds: float) -> None:
    END_TO_END.observe(model, seconds)


def histogram_snapshots() -> list[HistogramSnapshot]:
    """What this process has observed so far."""
    return [h.snapshot() for h in HISTOGRAMS]


def render_metrics(
    counts_by_status: Mapping[tuple[str, str], int],
    workers: Iterable[Mapping[str, Any]],
    histograms: Iterable[HistogramSnapshot] | None = None,
    *,
    models: Iterable[str] = (),
    now: float | None = None,
) -> str:
    """The /metrics body.

    counts_by_status: {(model_id, status): n} from the database.
    workers: rows from `live_workers`: `id` (or `worker_id`), `last_seen` (datetime or unix
      seconds) and optionally `info` (a dict) whose `busy` (a request id or None) and `models`
      are reported; those keys are also read from the top level of the row.
    histograms: snapshots to render; None means this process's own (`histogram_snapshots()`).
    models: model ids that always get a queue depth and status series, 0 when absent, so a
      dashboard sees a flat line instead of a gap.
    now: unix time for heartbeat ages; default the current time.
    """
    now = time.time() if now is None else now
    out: list[str] = []
    known_models = sorted({*models, *(model for model, _ in counts_by_status)})

    _header(out, "opendream_queue_depth", "gauge", "Requests waiting in the queue, per model.")
    for model in known_models:
        depth = counts_by_status.get((model, "in_queue"), 0)
        out.append(_sample("opendream_queue_depth", {"model": model}, depth))

    _header(
        out,
        "opendream_requests",
        "gauge",
        "Requests in the request table by model and status (database snapshot).",
    )
    statuses = sorted({*STATUSES, *(status for _, status in counts_by_status)})
    for model in known_models:
        for status in statuses:
            n = counts_by_status.get((model, status), 0)
            out.append(_sample("opendream_requests", {"model": model, "status": status}, n))

    _render_workers(out, list(workers), now)

    for snap in histogram_snapshots() if histograms is None else histograms:
        _render_histogram(out, snap)
    return "\n".join(out) + "\n"


def _render_workers(out: list[str], workers: list[Mapping[str, Any]], now: float) -> None:
    rows: list[tuple[str, float, Mapping[str, Any]]] = []
    for row in workers:
        worker_id = row.get("id", row.get("worker_id"))
        last_seen = _unix(row.get("last_seen"))
        if worker_id is None or last_seen is None:
            continue
        info = row.get("info") if isinstance(row.get("info"), Mapping) else {}
        rows.append((str(worker_id), last_seen, {**info, **row}))
    rows.sort()

    _header(out, "opendream_workers", "gauge", "Workers with a recent heartbeat.")
    out.append(_sample("opendream_workers", {}, len(rows)))
    _header(
        out,
        "opendream_worker_last_seen_timestamp_seconds",
        "gauge",
        "Unix time of each worker's last heartbeat.",
    )
    for worker_id, last_seen, _ in rows:
        out.append(
            _sample(
                "opendream_worker_last_seen_timestamp_seconds", {"worker": worker_id}, last_seen
            )
        )
    _header(
        out,
        "opendream_worker_heartbeat_age_seconds",
        "gauge",
        "Seconds since each worker's last heartbeat, as seen by this process.",
    )
    for worker_id, last_seen, _ in rows:
        age = max(0.0, now - last_seen)
        out.append(_sample("opendream_worker_heartbeat_age_seconds", {"worker": worker_id}, age))
    _header(out, "opendream_worker_busy", "gauge", "1 while the worker is running a request.")
    for worker_id, _, merged in rows:
        busy = 1 if merged.get("busy") else 0
        out.append(_sample("opendream_worker_busy", {"worker": worker_id}, busy))


def _render_histogram(out: list[str], snap: HistogramSnapshot) -> None:
    _header(out, snap.name, "histogram", snap.help)
    for model in sorted(snap.series):
        series = snap.series[model]
        cumulative = 0
        for bound, n in zip(snap.buckets, series.bucket_counts, strict=True):
            cumulative += n
            labels = {"model": model, "le": _format_value(bound)}
            out.append(_sample(f"{snap.name}_bucket", labels, cumulative))
        labels = {"model": model, "le": "+Inf"}
        out.append(_sample(f"{snap.name}_bucket", labels, series.count))
        out.append(_sample(f"{snap.name}_sum", {"model": model}, series.total))
        out.append(_sample(f"{snap.name}_count", {"model": model}, series.count))


def _header(out: list[str], name: str, kind: str, help: str) -> None:
    out.append(f"# HELP {name} {_escape_help(help)}")
    out.append(f"# TYPE {name} {kind}")


def _sample(name: str, labels: Mapping[str, str], value: float) -> str:
    if labels:
        body = ",".join(f'{k}="{_escape_label(v)}"' for k, v in labels.items())
        return f"{name}{{{body}}} {_format_value(value)}"
    return f"{name} {_format_value(value)}"


def _format_value(value: float) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


def _escape_label(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _unix(value: Any) -> float | None:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            # the request table stores UTC; a naive value from a driver means UTC too
            value = value.replace(tzinfo=UTC)
        return value.timestamp()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None
